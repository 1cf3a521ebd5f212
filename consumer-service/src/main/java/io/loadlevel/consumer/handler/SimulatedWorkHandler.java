package io.loadlevel.consumer.handler;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.consumer.ConsumerProperties;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Stands in for the real work of every request type by holding the thread for the type's configured duration, like a
 * blocking call to a downstream service would.
 */
@Component
public class SimulatedWorkHandler implements RequestHandler {

    private static final Logger log = LoggerFactory.getLogger(SimulatedWorkHandler.class);

    private final ConsumerProperties.Work work;

    public SimulatedWorkHandler(ConsumerProperties properties) {
        this.work = properties.work();
    }

    @Override
    public void handle(RequestEnvelope envelope) throws InterruptedException {
        Duration duration = work.durationOf(envelope.type());
        log.debug("Working on {} request {} for {}", envelope.type().wireName(), envelope.id(), duration);
        if (!duration.isZero()) {
            Thread.sleep(duration.toMillis(), duration.toNanosPart() % 1_000_000);
        }
    }
}
