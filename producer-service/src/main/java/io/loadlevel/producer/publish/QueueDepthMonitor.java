package io.loadlevel.producer.publish;

import io.loadlevel.common.topology.TopologyProperties;
import io.loadlevel.producer.ProducerProperties;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.AmqpException;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.amqp.core.QueueInformation;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Samples the work queue's depth once a second with a passive declare and estimates the rate at which consumers drain
 * it, so that a 503 for a full queue can carry a Retry-After that matches how fast room appears.
 *
 * <p>The drain rate is this instance's confirmed publishes minus the growth of the queue, smoothed over a few samples.
 * NOTE: with several producer instances the other instances' publishes look like growth, so the estimate is low and
 * the Retry-After errs on the long side.
 */
@Component
public class QueueDepthMonitor {

    private static final Logger log = LoggerFactory.getLogger(QueueDepthMonitor.class);
    private static final double SMOOTHING = 0.3;
    private static final double FULL_FRACTION = 0.95;
    private static final double ROOM_FRACTION = 0.10;

    private final AmqpAdmin amqpAdmin;
    private final TopologyProperties topology;
    private final ProducerProperties properties;
    private final LongAdder published = new LongAdder();
    private volatile long depth = -1;
    private volatile double drainRate;
    private long lastDepth = -1;
    private long lastPublished;
    private long lastSampleNanos;
    private boolean sampleFailing;

    public QueueDepthMonitor(
            AmqpAdmin amqpAdmin, TopologyProperties topology, ProducerProperties properties, MeterRegistry registry) {
        this.amqpAdmin = amqpAdmin;
        this.topology = topology;
        this.properties = properties;
        Gauge.builder("loadlevel.ingress.queue.depth", this, monitor -> monitor.depth)
                .description("Messages in the work queue at the last sample, -1 when unknown")
                .register(registry);
        Gauge.builder("loadlevel.ingress.drain.rate", this, monitor -> monitor.drainRate)
                .description("Estimated messages per second the consumers take from the work queue")
                .register(registry);
    }

    void published() {
        published.increment();
    }

    /** Returns whether the last sample found the queue at, or close to, its maximum length. */
    boolean isFull() {
        return depth >= topology.maxLength() * FULL_FRACTION;
    }

    /**
     * Returns how long a client should wait before retrying against a full queue: the time the consumers need at the
     * estimated drain rate to free a tenth of the queue, between one second and the configured maximum.
     */
    public Duration retryAfterWhenFull() {
        double rate = drainRate;
        if (rate <= 0) {
            return properties.maxRetryAfter();
        }
        long seconds = (long) Math.ceil(topology.maxLength() * ROOM_FRACTION / rate);
        return Duration.ofSeconds(
                Math.max(1, Math.min(seconds, properties.maxRetryAfter().toSeconds())));
    }

    @Scheduled(fixedDelay = 1000)
    synchronized void sample() {
        QueueInformation info;
        try {
            info = amqpAdmin.getQueueInfo(topology.workQueue());
        } catch (AmqpException ex) {
            if (!sampleFailing) {
                log.warn("Sampling the depth of queue '{}' failed: {}", topology.workQueue(), ex.getMessage());
                sampleFailing = true;
            }
            depth = -1;
            return;
        }
        sampleFailing = false;
        record(info == null ? -1 : info.getMessageCount(), System.nanoTime());
    }

    private void record(long newDepth, long nowNanos) {
        long newPublished = published.sum();
        if (lastDepth >= 0 && newDepth >= 0) {
            double seconds = (nowNanos - lastSampleNanos) / 1e9;
            double drained = (newPublished - lastPublished) - (newDepth - lastDepth);
            double rate = Math.max(0, drained / seconds);
            drainRate = drainRate == 0 ? rate : SMOOTHING * rate + (1 - SMOOTHING) * drainRate;
        }
        depth = newDepth;
        lastDepth = newDepth;
        lastPublished = newPublished;
        lastSampleNanos = nowNanos;
    }
}
