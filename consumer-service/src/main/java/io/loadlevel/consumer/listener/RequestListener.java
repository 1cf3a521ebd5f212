package io.loadlevel.consumer.listener;

import com.rabbitmq.client.Channel;
import io.loadlevel.common.InvalidMessageException;
import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.consumer.handler.RequestHandler;
import io.loadlevel.consumer.listener.ProcessingMetrics.Outcome;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.listener.api.ChannelAwareMessageListener;
import org.springframework.stereotype.Component;

/**
 * Processes one delivery: records PROCESSING, runs the handler, records COMPLETED, and only then acks. A message is
 * never acked before its outcome is in Redis, so a crash at any point leaves it unacked and the broker redelivers it.
 */
@Component
class RequestListener implements ChannelAwareMessageListener {

    private static final Logger log = LoggerFactory.getLogger(RequestListener.class);
    private static final Duration REQUEUE_BACKOFF = Duration.ofSeconds(1);

    private final RequestMessageCodec codec;
    private final RequestStatusStore statusStore;
    private final RequestHandler handler;
    private final ProcessingMetrics metrics;
    private final Pacer pacer;

    RequestListener(
            RequestMessageCodec codec,
            RequestStatusStore statusStore,
            RequestHandler handler,
            ProcessingMetrics metrics,
            Pacer pacer) {
        this.codec = codec;
        this.statusStore = statusStore;
        this.handler = handler;
        this.metrics = metrics;
        this.pacer = pacer;
    }

    @Override
    public void onMessage(Message message, Channel channel) throws Exception {
        long deliveryTag = message.getMessageProperties().getDeliveryTag();
        RequestEnvelope envelope;
        try {
            envelope = codec.fromMessage(message);
        } catch (InvalidMessageException ex) {
            log.warn(
                    "Dead-lettering message {} without processing: {}",
                    message.getMessageProperties().getMessageId(),
                    ex.getMessage());
            metrics.processed(null, Outcome.INVALID);
            channel.basicReject(deliveryTag, false);
            return;
        }
        MDC.put("requestId", envelope.id().toString());
        try {
            process(envelope, message, channel, deliveryTag);
        } finally {
            MDC.remove("requestId");
        }
    }

    private void process(RequestEnvelope envelope, Message message, Channel channel, long deliveryTag)
            throws Exception {
        pacer.acquire();
        metrics.queueWait(envelope.type(), Duration.between(envelope.acceptedAt(), Instant.now()));
        if (!record(envelope, RequestStatus.PROCESSING, channel, deliveryTag)) {
            return;
        }
        long startNanos = System.nanoTime();
        try {
            handler.handle(envelope);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw ex;
        } catch (Exception ex) {
            log.warn(
                    "Handler failed for {} request {}; dead-lettering it",
                    envelope.type().wireName(),
                    envelope.id(),
                    ex);
            metrics.processed(envelope.type(), Outcome.FAILED);
            recordQuietly(envelope, RequestStatus.DEAD_LETTERED);
            channel.basicReject(deliveryTag, false);
            return;
        } finally {
            metrics.duration(envelope.type(), Duration.ofNanos(System.nanoTime() - startNanos));
        }
        if (!record(envelope, RequestStatus.COMPLETED, channel, deliveryTag)) {
            return;
        }
        channel.basicAck(deliveryTag, false);
        metrics.processed(envelope.type(), Outcome.COMPLETED);
        log.debug("Completed {} request {}", envelope.type().wireName(), envelope.id());
    }

    /**
     * Records the status, or requeues the message when Redis fails, so that no outcome is acked unrecorded.
     *
     * <p>TODO: a Redis outage makes every delivery wait one backoff and return to the queue, and a quorum queue counts
     * each return against the delivery limit; pause the listener while Redis is down instead.
     */
    private boolean record(RequestEnvelope envelope, RequestStatus status, Channel channel, long deliveryTag)
            throws IOException, InterruptedException {
        try {
            statusStore.advanceAndWait(envelope, status);
            return true;
        } catch (RuntimeException ex) {
            log.warn(
                    "Recording {} for request {} failed; requeueing it after {}: {}",
                    status,
                    envelope.id(),
                    REQUEUE_BACKOFF,
                    ex.getMessage());
            metrics.processed(envelope.type(), Outcome.REQUEUED);
            Thread.sleep(REQUEUE_BACKOFF.toMillis());
            channel.basicNack(deliveryTag, false, true);
            return false;
        }
    }

    private void recordQuietly(RequestEnvelope envelope, RequestStatus status) {
        try {
            statusStore.advanceAndWait(envelope, status);
        } catch (RuntimeException ex) {
            log.warn("Recording {} for request {} failed: {}", status, envelope.id(), ex.getMessage());
        }
    }
}
