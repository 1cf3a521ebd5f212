package io.loadlevel.consumer.listener;

import io.loadlevel.common.RequestType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import org.springframework.stereotype.Component;

/** Processing meters, tagged by request type and outcome; each one is registered once and kept for the hot path. */
@Component
class ProcessingMetrics {

    /** Outcome of one delivery. */
    enum Outcome {
        /** Work done, COMPLETED recorded and the message acked. */
        COMPLETED,
        /** The attempt failed and the message went to a delay queue for another one. */
        RETRIED,
        /** The last attempt failed, or the failure was permanent, and the message went to the dead-letter queue. */
        DEAD_LETTERED,
        /** The message broke the message contract and went to the dead-letter queue unprocessed. */
        INVALID,
        /** The request was processed or dead-lettered before, so the redelivered copy was acked unprocessed. */
        DUPLICATE,
        /** The message went back to the work queue unacked: a simulated crash or a failed retry publish. */
        REQUEUED;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Type tag of messages whose type could not be read. */
    private static final String UNKNOWN_TYPE = "unknown";

    private final MeterRegistry registry;
    private final Map<RequestType, Map<Outcome, Counter>> processed = new EnumMap<>(RequestType.class);
    private final Map<RequestType, Timer> durations = new EnumMap<>(RequestType.class);
    private final Map<RequestType, Timer> queueWaits = new EnumMap<>(RequestType.class);
    private final Counter invalid;
    private final Counter statusStoreFailures;

    ProcessingMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (RequestType type : RequestType.values()) {
            Map<Outcome, Counter> byOutcome = new EnumMap<>(Outcome.class);
            for (Outcome outcome : Outcome.values()) {
                byOutcome.put(outcome, counter(type.wireName(), outcome));
            }
            processed.put(type, byOutcome);
            durations.put(type, duration(type));
            queueWaits.put(type, queueWait(type));
        }
        invalid = counter(UNKNOWN_TYPE, Outcome.INVALID);
        statusStoreFailures = Counter.builder("loadlevel.processing.status.failures")
                .description("Status store calls that failed and were retried while the listener held its message")
                .register(registry);
    }

    void statusStoreFailure() {
        statusStoreFailures.increment();
    }

    /** Counts one delivery; {@code type} is null for a message whose type could not be read, which is INVALID. */
    void processed(RequestType type, Outcome outcome) {
        if (type == null) {
            invalid.increment();
        } else {
            processed.get(type).get(outcome).increment();
        }
    }

    void duration(RequestType type, Duration duration) {
        durations.get(type).record(duration);
    }

    void queueWait(RequestType type, Duration wait) {
        queueWaits.get(type).record(wait.isNegative() ? Duration.ZERO : wait);
    }

    private Counter counter(String type, Outcome outcome) {
        return Counter.builder("loadlevel.processing.processed")
                .description("Deliveries handled, by request type and outcome")
                .tag("type", type)
                .tag("outcome", outcome.tag())
                .register(registry);
    }

    private Timer duration(RequestType type) {
        return Timer.builder("loadlevel.processing.duration")
                .description("Time the handler spent on one request")
                .tag("type", type.wireName())
                .register(registry);
    }

    private Timer queueWait(RequestType type) {
        return Timer.builder("loadlevel.processing.queue.wait")
                .description("Time from acceptance by the producer to the start of processing")
                .tag("type", type.wireName())
                .register(registry);
    }
}
