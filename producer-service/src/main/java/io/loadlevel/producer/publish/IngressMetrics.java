package io.loadlevel.producer.publish;

import io.loadlevel.common.RequestType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.springframework.stereotype.Component;

/**
 * Ingress meters. Every type and reason is registered up front, so a rate over a counter that never moved is 0 rather
 * than absent.
 */
@Component
public class IngressMetrics {

    /** Reason tag of requests rejected for bad input; the others come from {@link RejectionReason}. */
    public static final String INVALID = "invalid";

    public static final String TOO_LARGE = "too_large";
    public static final String UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";

    private final MeterRegistry registry;
    private final Map<RequestType, Counter> accepted = new EnumMap<>(RequestType.class);
    private final Map<RejectionReason, Counter> rejected = new EnumMap<>(RejectionReason.class);
    private final Timer confirmLatency;

    public IngressMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (RequestType type : RequestType.values()) {
            accepted.put(type, acceptedCounter(type));
        }
        for (RejectionReason reason : RejectionReason.values()) {
            rejected.put(reason, rejectedCounter(reason.tag()));
        }
        rejectedCounter(INVALID);
        rejectedCounter(TOO_LARGE);
        rejectedCounter(UNSUPPORTED_MEDIA_TYPE);
        this.confirmLatency = Timer.builder("loadlevel.ingress.confirm.latency")
                .description("Time from publish to the broker's confirm, nack or the confirm timeout")
                .register(registry);
    }

    public void accepted(RequestType type) {
        accepted.get(type).increment();
    }

    public void rejected(RejectionReason reason) {
        rejected.get(reason).increment();
    }

    /** Counts a request rejected before publishing, by one of the reason constants of this class. */
    public void rejectedInput(String reason) {
        rejectedCounter(reason).increment();
    }

    void confirmLatency(Duration latency) {
        confirmLatency.record(latency);
    }

    private Counter acceptedCounter(RequestType type) {
        return Counter.builder("loadlevel.ingress.accepted")
                .description("Requests confirmed by the broker and answered 202")
                .tag("type", type.wireName())
                .register(registry);
    }

    private Counter rejectedCounter(String reason) {
        return Counter.builder("loadlevel.ingress.rejected")
                .description("Requests not accepted, by reason")
                .tag("reason", reason)
                .register(registry);
    }
}
