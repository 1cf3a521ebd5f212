package io.loadlevel.consumer.listener;

import io.loadlevel.common.status.RequestStatusStore;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.stereotype.Component;

/**
 * Runs a status store call on a listener thread and, while Redis fails, retries it with backoff instead of giving up.
 *
 * <p>Meanwhile the listener keeps its current message unacked, so a Redis outage stops processing without requeueing
 * or dead-lettering anything and without counting deliveries against the queue's delivery limit. The queue grows and
 * drains once Redis is back. On shutdown the retries stop and the message is left unacked, so the broker requeues it.
 */
@Component
class StatusRecorder implements ApplicationListener<ContextClosedEvent> {

    private static final Logger log = LoggerFactory.getLogger(StatusRecorder.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    private final RequestStatusStore store;
    private final ProcessingMetrics metrics;
    private volatile boolean closing;

    StatusRecorder(RequestStatusStore store, ProcessingMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        closing = true;
    }

    /**
     * Returns the call's result once Redis responds.
     *
     * @throws StatusUnavailableException when the service shuts down while Redis still fails
     */
    <T> T untilRecorded(String step, UUID requestId, Supplier<CompletableFuture<T>> call)
            throws InterruptedException, StatusUnavailableException {
        Duration backoff = FIRST_BACKOFF;
        int failures = 0;
        while (true) {
            try {
                T result = store.await(call.get());
                if (failures > 0) {
                    log.info(
                            "Redis responds again: {} for request {} recorded after {} failures",
                            step,
                            requestId,
                            failures);
                }
                return result;
            } catch (RuntimeException ex) {
                failures++;
                metrics.statusStoreFailure();
                if (closing) {
                    throw new StatusUnavailableException(
                            step + " for request " + requestId + " not recorded before shutdown: " + ex.getMessage());
                }
                if (failures == 1 || backoff.equals(MAX_BACKOFF) && failures % 12 == 0) {
                    log.warn(
                            "Recording {} for request {} failed ({} times so far); holding the message and retrying: {}",
                            step,
                            requestId,
                            failures,
                            ex.getMessage());
                }
                Thread.sleep(backoff.toMillis());
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }

    /** Redis still failed when the service began to shut down; the message stays unacked for redelivery. */
    static class StatusUnavailableException extends Exception {

        StatusUnavailableException(String message) {
            super(message);
        }
    }
}
