package io.loadlevel.consumer.retry;

import io.loadlevel.common.ConfirmedPublisher;
import io.loadlevel.common.LoadlevelHeaders;
import io.loadlevel.common.topology.TopologyProperties;
import java.time.Clock;
import java.time.Duration;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageBuilder;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.stereotype.Component;

/**
 * Publishes a failed message to a delay queue for a later attempt, or to the dead-letter exchange with the reason, and
 * waits for the broker's confirm. The caller acks the original only after this returns, so a crash in between leaves
 * two copies rather than none. The processed ledger keeps the second copy from applying its effect again.
 */
@Component
public class FailureRouter {

    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_HEADER_LENGTH = 500;

    private final ConfirmedPublisher publisher;
    private final TopologyProperties topology;
    private final RetryPolicy retryPolicy;
    private final Clock clock = Clock.systemUTC();

    FailureRouter(RabbitTemplate rabbitTemplate, TopologyProperties topology, RetryPolicy retryPolicy) {
        this.publisher = new ConfirmedPublisher(rabbitTemplate, CONFIRM_TIMEOUT);
        this.topology = topology;
        this.retryPolicy = retryPolicy;
    }

    /**
     * Sends the message to the delay queue of its next attempt and returns the wait it got.
     *
     * @param attemptsMade attempts made so far, this failed one included
     */
    public Duration retryLater(Message original, int attemptsMade, String error) throws RoutingFailedException {
        Duration delay = retryPolicy.delayAfter(attemptsMade);
        Message copy = MessageBuilder.fromClonedMessage(original)
                .setDeliveryMode(MessageDeliveryMode.PERSISTENT)
                .setHeader(LoadlevelHeaders.ATTEMPTS, attemptsMade)
                .setHeader(LoadlevelHeaders.LAST_ERROR, truncate(error))
                .setExpiration(Long.toString(delay.toMillis()))
                .build();
        publishConfirmed("", retryPolicy.delayQueueAfter(attemptsMade), copy);
        return delay;
    }

    /** Sends the message to the dead-letter exchange with the reason, the attempts and the queue it came from. */
    public void deadLetter(Message original, int attemptsMade, String reason) throws RoutingFailedException {
        Message copy = MessageBuilder.fromClonedMessage(original)
                .setDeliveryMode(MessageDeliveryMode.PERSISTENT)
                .setHeader(LoadlevelHeaders.ATTEMPTS, attemptsMade)
                .setHeader(LoadlevelHeaders.DEAD_LETTER_REASON, truncate(reason))
                .setHeader(LoadlevelHeaders.ORIGINAL_QUEUE, topology.workQueue())
                .setHeader(LoadlevelHeaders.DEAD_LETTERED_AT, clock.millis())
                .setExpiration(null)
                .build();
        publishConfirmed(topology.deadLetterExchange(), topology.routingKey(), copy);
    }

    private void publishConfirmed(String exchange, String routingKey, Message message) throws RoutingFailedException {
        try {
            publisher.publish(exchange, routingKey, message);
        } catch (ConfirmedPublisher.NotConfirmedException ex) {
            throw new RoutingFailedException(ex.getMessage(), ex);
        }
    }

    private static String truncate(String text) {
        if (text == null) {
            return "";
        }
        return text.length() <= MAX_HEADER_LENGTH ? text : text.substring(0, MAX_HEADER_LENGTH);
    }

    /** The copy was not confirmed, so the original must go back to the queue instead of being acked. */
    public static class RoutingFailedException extends Exception {

        RoutingFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
