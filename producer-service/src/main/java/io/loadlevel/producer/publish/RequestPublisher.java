package io.loadlevel.producer.publish;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.topology.TopologyProperties;
import io.loadlevel.producer.ProducerProperties;
import io.loadlevel.producer.publish.PublishResult.Confirmed;
import io.loadlevel.producer.publish.PublishResult.Rejected;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.AmqpException;
import org.springframework.amqp.core.ReturnedMessage;
import org.springframework.amqp.rabbit.connection.ConnectionBlockedEvent;
import org.springframework.amqp.rabbit.connection.ConnectionUnblockedEvent;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.connection.CorrelationData.Confirm;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Publishes envelopes as persistent, mandatory messages and completes when the broker has confirmed them.
 *
 * <p>Messages go out on the few long-lived channels of {@link PublishLanes}. No request thread waits for the confirm,
 * because the returned future completes on the AMQP connection's thread when the confirm arrives, or on the timeout
 * scheduler. Spring AMQP delivers a return before the confirm of the same message, so an
 * unroutable message is known as returned by the time its ack arrives.
 */
@Component
public class RequestPublisher implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(RequestPublisher.class);
    private static final Duration WARNING_INTERVAL = Duration.ofSeconds(10);

    /** Messages that may wait for a publishing channel: about two seconds at the benchmark's maximum rate. */
    private static final int LANE_CAPACITY = 10_000;

    private final PublishLanes lanes;
    private final RequestMessageCodec codec;
    private final TopologyProperties topology;
    private final ProducerProperties properties;
    private final IngressMetrics metrics;
    private final QueueDepthMonitor depthMonitor;
    private final WarningThrottle warnings = new WarningThrottle();
    private volatile String blockedReason;

    public RequestPublisher(
            RabbitTemplate rabbitTemplate,
            RequestMessageCodec codec,
            TopologyProperties topology,
            ProducerProperties properties,
            IngressMetrics metrics,
            QueueDepthMonitor depthMonitor) {
        this.lanes = new PublishLanes(rabbitTemplate, properties.publishChannels(), LANE_CAPACITY);
        this.codec = codec;
        this.topology = topology;
        this.properties = properties;
        this.metrics = metrics;
        this.depthMonitor = depthMonitor;
    }

    @EventListener
    void onBlocked(ConnectionBlockedEvent event) {
        blockedReason = event.getReason();
        log.warn("The broker blocked the publishing connection ({}); answering 503 until it unblocks", blockedReason);
    }

    @EventListener
    void onUnblocked(ConnectionUnblockedEvent event) {
        blockedReason = null;
        log.info("The broker unblocked the publishing connection");
    }

    /**
     * Publishes the envelope and completes with the outcome. While the broker blocks publishing, it completes at once
     * with BLOCKED instead of sending, so no request thread waits on a blocked socket.
     */
    public CompletableFuture<PublishResult> publish(RequestEnvelope envelope) {
        String blocked = blockedReason;
        if (blocked != null) {
            return CompletableFuture.completedFuture(
                    rejected(envelope, RejectionReason.BLOCKED, "the broker blocks publishing: " + blocked));
        }
        CorrelationData correlation = new CorrelationData(envelope.id().toString());
        long startNanos = System.nanoTime();
        return lanes.send(topology.exchange(), topology.routingKey(), codec.toMessage(envelope), correlation)
                .thenCompose(sent -> correlation.getFuture())
                .orTimeout(properties.confirmTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .handle((confirm, error) -> {
                    Throwable cause = error instanceof CompletionException ? error.getCause() : error;
                    if (cause instanceof AmqpException sendFailure) {
                        return rejected(
                                envelope, RejectionReason.BROKER_UNAVAILABLE, String.valueOf(sendFailure.getMessage()));
                    }
                    metrics.confirmLatency(Duration.ofNanos(System.nanoTime() - startNanos));
                    return classify(envelope, correlation, confirm, cause);
                });
    }

    @Override
    public void destroy() throws InterruptedException {
        lanes.close();
    }

    private PublishResult classify(
            RequestEnvelope envelope, CorrelationData correlation, Confirm confirm, Throwable error) {
        if (error instanceof TimeoutException) {
            return rejected(
                    envelope, RejectionReason.TIMEOUT, "no publisher confirm within " + properties.confirmTimeout());
        }
        if (error != null) {
            return rejected(envelope, RejectionReason.BROKER_UNAVAILABLE, String.valueOf(error.getMessage()));
        }
        ReturnedMessage returned = correlation.getReturned();
        if (returned != null) {
            return rejected(
                    envelope,
                    RejectionReason.RETURNED,
                    "unroutable: " + returned.getReplyCode() + " " + returned.getReplyText());
        }
        if (!confirm.ack()) {
            return rejected(
                    envelope,
                    nackReason(confirm),
                    confirm.reason() == null ? "nacked by the broker" : confirm.reason());
        }
        metrics.accepted(envelope.type());
        depthMonitor.published();
        return new Confirmed();
    }

    /**
     * Tells a broker's nack from a channel that closed before the confirm: Spring AMQP completes the pending confirms
     * of a closed channel as nacks with the closing reason, while the broker's own basic.nack carries none.
     */
    private RejectionReason nackReason(Confirm confirm) {
        if (confirm.reason() != null) {
            return RejectionReason.CONNECTION_LOST;
        }
        return depthMonitor.isFull() ? RejectionReason.QUEUE_FULL : RejectionReason.NACK;
    }

    private Rejected rejected(RequestEnvelope envelope, RejectionReason reason, String detail) {
        metrics.rejected(reason);
        if (warnings.tryAcquire(reason)) {
            log.warn(
                    "Publish of request {} rejected ({}): {}; further rejections for this reason are logged at DEBUG"
                            + " for {}",
                    envelope.id(),
                    reason.tag(),
                    detail,
                    WARNING_INTERVAL);
        } else {
            log.debug("Publish of request {} rejected ({}): {}", envelope.id(), reason.tag(), detail);
        }
        return new Rejected(reason, detail);
    }

    /** Allows one WARN per reason and interval, so a full queue under a spike does not flood the log. */
    private static final class WarningThrottle {

        private final Map<RejectionReason, AtomicLong> lastWarnNanos = new EnumMap<>(RejectionReason.class);

        WarningThrottle() {
            for (RejectionReason reason : RejectionReason.values()) {
                lastWarnNanos.put(reason, new AtomicLong(System.nanoTime() - WARNING_INTERVAL.toNanos()));
            }
        }

        boolean tryAcquire(RejectionReason reason) {
            AtomicLong last = lastWarnNanos.get(reason);
            long previous = last.get();
            long now = System.nanoTime();
            return now - previous >= WARNING_INTERVAL.toNanos() && last.compareAndSet(previous, now);
        }
    }
}
