package io.loadlevel.consumer.listener;

import com.rabbitmq.client.Channel;
import io.loadlevel.common.InvalidMessageException;
import io.loadlevel.common.LoadlevelHeaders;
import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.common.status.RequestStatusStore.Start;
import io.loadlevel.consumer.ConsumerProperties;
import io.loadlevel.consumer.handler.PermanentFailureException;
import io.loadlevel.consumer.handler.RequestHandler;
import io.loadlevel.consumer.handler.SimulatedCrashException;
import io.loadlevel.consumer.listener.ProcessingMetrics.Outcome;
import io.loadlevel.consumer.listener.StatusRecorder.StatusUnavailableException;
import io.loadlevel.consumer.retry.FailureRouter;
import io.loadlevel.consumer.retry.FailureRouter.RoutingFailedException;
import io.loadlevel.consumer.retry.RetryPolicy;
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
 * Processes one delivery and decides its fate; nothing is acked before its outcome is recorded in Redis.
 *
 * <ul>
 *   <li>A message that breaks the message contract goes to the dead-letter queue on its first delivery.
 *   <li>A request whose effect was applied before, or that is already dead-lettered, is acked without running again.
 *   <li>Otherwise PROCESSING is recorded and the handler runs. Success records the effect and COMPLETED in one step,
 *       then acks. A transient failure goes to a delay queue for the next attempt, a permanent failure or the last
 *       attempt's failure to the dead-letter queue, each with the reason, and the original is acked after the copy is
 *       confirmed.
 * </ul>
 *
 * A crash at any point leaves the message unacked, so the broker redelivers it, and the processed ledger keeps the
 * redelivered copy from applying the effect twice.
 */
@Component
class RequestListener implements ChannelAwareMessageListener {

    private static final Logger log = LoggerFactory.getLogger(RequestListener.class);

    private final RequestMessageCodec codec;
    private final RequestStatusStore statusStore;
    private final StatusRecorder recorder;
    private final RequestHandler handler;
    private final FailureRouter failureRouter;
    private final RetryPolicy retryPolicy;
    private final ProcessingMetrics metrics;
    private final Pacer pacer;
    private final int maxUnfinishedStarts;

    RequestListener(
            RequestMessageCodec codec,
            RequestStatusStore statusStore,
            StatusRecorder recorder,
            RequestHandler handler,
            FailureRouter failureRouter,
            RetryPolicy retryPolicy,
            ProcessingMetrics metrics,
            Pacer pacer,
            ConsumerProperties properties) {
        this.codec = codec;
        this.statusStore = statusStore;
        this.recorder = recorder;
        this.handler = handler;
        this.failureRouter = failureRouter;
        this.retryPolicy = retryPolicy;
        this.metrics = metrics;
        this.pacer = pacer;
        this.maxUnfinishedStarts = properties.maxUnfinishedStarts();
    }

    @Override
    public void onMessage(Message message, Channel channel) throws Exception {
        RequestEnvelope envelope;
        try {
            envelope = codec.fromMessage(message);
        } catch (InvalidMessageException ex) {
            rejectInvalid(message, channel, ex);
            return;
        }
        MDC.put("requestId", envelope.id().toString());
        try {
            process(new Delivery(envelope, message, channel));
        } catch (StatusUnavailableException ex) {
            log.warn("Leaving request {} unacked for redelivery: {}", envelope.id(), ex.getMessage());
        } finally {
            MDC.remove("requestId");
        }
    }

    private void process(Delivery delivery) throws Exception {
        RequestEnvelope envelope = delivery.envelope();
        int finishedAttempts = finishedAttempts(delivery.message());
        pacer.acquire();
        Start start = recorder.untilRecorded(
                "PROCESSING", envelope.id(), () -> statusStore.begin(envelope, finishedAttempts, maxUnfinishedStarts));
        switch (start.kind()) {
            case ALREADY_PROCESSED, ALREADY_TERMINAL -> {
                log.info("Request {} was {} before; acking the redelivered copy", envelope.id(), start.kind());
                delivery.ack();
                metrics.processed(envelope.type(), Outcome.DUPLICATE);
            }
            case TOO_MANY_UNFINISHED_STARTS ->
                deadLetter(
                        delivery,
                        finishedAttempts,
                        "started " + maxUnfinishedStarts + " times without finishing; a consumer crashed or was killed"
                                + " during each start (loadlevel.consumer.max-unfinished-starts)");
            case STARTED -> run(delivery, finishedAttempts + 1);
        }
    }

    private void run(Delivery delivery, int attempt) throws Exception {
        RequestEnvelope envelope = delivery.envelope();
        metrics.queueWait(envelope.type(), Duration.between(envelope.acceptedAt(), Instant.now()));
        long startNanos = System.nanoTime();
        try {
            handler.handle(envelope, attempt);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw ex;
        } catch (SimulatedCrashException ex) {
            log.warn("Simulating a crash on request {}: closing the channel without an ack", envelope.id());
            metrics.processed(envelope.type(), Outcome.REQUEUED);
            delivery.channel().abort();
            return;
        } catch (PermanentFailureException ex) {
            deadLetter(delivery, attempt, "permanent failure: " + ex.getMessage());
            return;
        } catch (Exception ex) {
            handleTransientFailure(delivery, attempt, ex);
            return;
        } finally {
            metrics.duration(envelope.type(), Duration.ofNanos(System.nanoTime() - startNanos));
        }
        boolean firstTime =
                recorder.untilRecorded("COMPLETED", envelope.id(), () -> statusStore.completeOnce(envelope));
        delivery.ack();
        metrics.processed(envelope.type(), firstTime ? Outcome.COMPLETED : Outcome.DUPLICATE);
        log.debug("Completed {} request {} on attempt {}", envelope.type().wireName(), envelope.id(), attempt);
    }

    private void handleTransientFailure(Delivery delivery, int attempt, Exception failure) throws Exception {
        RequestEnvelope envelope = delivery.envelope();
        String error = failure.getClass().getSimpleName() + ": " + failure.getMessage();
        if (!retryPolicy.hasAttemptLeft(attempt)) {
            deadLetter(
                    delivery,
                    attempt,
                    "failed " + attempt + " of " + retryPolicy.maxAttempts() + " attempts; last: " + error);
            return;
        }
        recorder.untilRecorded(
                "RETRYING", envelope.id(), () -> statusStore.advance(envelope, RequestStatus.RETRYING, error));
        try {
            Duration delay = failureRouter.retryLater(delivery.message(), attempt, error);
            delivery.ack();
            metrics.processed(envelope.type(), Outcome.RETRIED);
            log.warn("Attempt {} of request {} failed; retrying in {}: {}", attempt, envelope.id(), delay, error);
        } catch (RoutingFailedException ex) {
            requeue(delivery, ex);
        }
    }

    /** Publishes the dead-lettered copy first and records DEAD_LETTERED after, so the status never runs ahead. */
    private void deadLetter(Delivery delivery, int attempts, String reason) throws Exception {
        RequestEnvelope envelope = delivery.envelope();
        try {
            failureRouter.deadLetter(delivery.message(), attempts, reason);
        } catch (RoutingFailedException ex) {
            requeue(delivery, ex);
            return;
        }
        recorder.untilRecorded(
                "DEAD_LETTERED",
                envelope.id(),
                () -> statusStore.advance(envelope, RequestStatus.DEAD_LETTERED, reason));
        delivery.ack();
        metrics.processed(envelope.type(), Outcome.DEAD_LETTERED);
        log.warn("Dead-lettered request {} after {} attempts: {}", envelope.id(), attempts, reason);
    }

    private void requeue(Delivery delivery, RoutingFailedException ex) throws IOException {
        log.warn("Returning request {} to the queue: {}", delivery.envelope().id(), ex.getMessage());
        metrics.processed(delivery.envelope().type(), Outcome.REQUEUED);
        delivery.channel().basicNack(delivery.tag(), false, true);
    }

    /**
     * Sends a message that breaks the contract to the dead-letter queue with the reason. When that publish fails, it
     * rejects the message without requeue, so the queue's own dead-lettering takes it.
     */
    private void rejectInvalid(Message message, Channel channel, InvalidMessageException ex) throws IOException {
        String messageId = message.getMessageProperties().getMessageId();
        log.warn(
                "Dead-lettering message {} without processing: {}",
                messageId == null ? "without message_id" : messageId,
                ex.getMessage());
        metrics.processed(null, Outcome.INVALID);
        long tag = message.getMessageProperties().getDeliveryTag();
        try {
            failureRouter.deadLetter(message, 0, "invalid message: " + ex.getMessage());
            channel.basicAck(tag, false);
        } catch (RoutingFailedException routingFailure) {
            channel.basicReject(tag, false);
        }
    }

    private static int finishedAttempts(Message message) {
        Object header = message.getMessageProperties().getHeader(LoadlevelHeaders.ATTEMPTS);
        return header instanceof Number number ? number.intValue() : 0;
    }

    /** One delivery with the channel it arrived on. */
    private record Delivery(RequestEnvelope envelope, Message message, Channel channel) {

        long tag() {
            return message.getMessageProperties().getDeliveryTag();
        }

        void ack() throws IOException {
            channel.basicAck(tag(), false);
        }
    }
}
