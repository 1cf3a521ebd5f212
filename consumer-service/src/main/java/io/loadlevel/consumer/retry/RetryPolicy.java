package io.loadlevel.consumer.retry;

import io.loadlevel.common.topology.TopologyProperties;
import io.loadlevel.consumer.ConsumerProperties;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Decides whether a failed attempt is retried, after how long, and through which delay queue.
 *
 * <p>Retry n (the wait before attempt n + 1) goes through its own delay queue, {@code <work-queue>.retry.<n>}. Every
 * message in one delay queue waits about as long, so a message with a short expiration rarely sits behind one with a
 * long expiration, which RabbitMQ only expires at the head of the queue. The jitter can still hold a message up by at
 * most the jitter range of its level.
 */
@Component
public class RetryPolicy {

    private final ConsumerProperties.Retry retry;
    private final TopologyProperties topology;
    private final DoubleSupplier random;

    @Autowired
    RetryPolicy(ConsumerProperties properties, TopologyProperties topology) {
        this(properties.retry(), topology, () -> ThreadLocalRandom.current().nextDouble());
    }

    RetryPolicy(ConsumerProperties.Retry retry, TopologyProperties topology, DoubleSupplier random) {
        this.retry = retry;
        this.topology = topology;
        this.random = random;
    }

    /** Returns whether another attempt follows after {@code attemptsMade} failed ones. */
    public boolean hasAttemptLeft(int attemptsMade) {
        return attemptsMade < retry.maxAttempts();
    }

    public int maxAttempts() {
        return retry.maxAttempts();
    }

    /** Returns the wait before the attempt that follows {@code attemptsMade} failed ones, with jitter. */
    public Duration delayAfter(int attemptsMade) {
        double base = retry.initialDelay().toMillis() * Math.pow(retry.multiplier(), attemptsMade - 1);
        double capped = Math.min(base, retry.maxDelay().toMillis());
        double factor = 1 + retry.jitter() * (2 * random.getAsDouble() - 1);
        return Duration.ofMillis(Math.max(1, Math.round(capped * factor)));
    }

    /** Returns the delay queue that keeps a message before the attempt that follows {@code attemptsMade} ones. */
    public String delayQueueAfter(int attemptsMade) {
        return delayQueueName(topology.workQueue(), attemptsMade);
    }

    static String delayQueueName(String workQueue, int level) {
        return workQueue + ".retry." + level;
    }
}
