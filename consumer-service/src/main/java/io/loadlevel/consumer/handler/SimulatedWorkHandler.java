package io.loadlevel.consumer.handler;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.consumer.ConsumerProperties;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Stands in for the real work of every request type by holding the thread for the type's configured duration, like a
 * blocking call to a downstream service would.
 *
 * <p>With {@code loadlevel.consumer.fault-injection} on, a payload field {@code _fault} steers failures for tests and
 * fault runs: {@code {"failAttempts": n}} fails the first n attempts transiently, {@code {"permanent": true}} fails
 * permanently, {@code {"crash": true}} simulates a consumer crash on every attempt. With it off, {@code _fault} is
 * ignored.
 */
@Component
public class SimulatedWorkHandler implements RequestHandler {

    static final String FAULT_FIELD = "_fault";
    private static final Logger log = LoggerFactory.getLogger(SimulatedWorkHandler.class);

    private final ConsumerProperties.Work work;
    private final boolean faultInjection;

    public SimulatedWorkHandler(ConsumerProperties properties) {
        this.work = properties.work();
        this.faultInjection = properties.faultInjection();
    }

    @Override
    public void handle(RequestEnvelope envelope, int attempt) throws InterruptedException {
        Duration duration = work.durationOf(envelope.type());
        log.debug("Working on {} request {} for {}", envelope.type().wireName(), envelope.id(), duration);
        if (!duration.isZero()) {
            Thread.sleep(duration.toMillis(), duration.toNanosPart() % 1_000_000);
        }
        if (faultInjection) {
            injectFault(envelope.payload().get(FAULT_FIELD), attempt);
        }
    }

    private static void injectFault(JsonNode fault, int attempt) {
        if (fault == null || !fault.isObject()) {
            return;
        }
        if (fault.path("crash").asBoolean(false)) {
            throw new SimulatedCrashException("simulated crash on attempt " + attempt);
        }
        if (fault.path("permanent").asBoolean(false)) {
            throw new PermanentFailureException("simulated permanent failure");
        }
        int failAttempts = fault.path("failAttempts").asInt(0);
        if (attempt <= failAttempts) {
            throw new TransientFailureException(
                    "simulated transient failure on attempt " + attempt + " of the first " + failAttempts);
        }
    }
}
