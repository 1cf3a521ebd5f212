package io.loadlevel.common;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.amqp.AmqpException;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.core.RabbitTemplate;

/**
 * Publishes one message with a publisher confirm and blocks until the broker confirmed and routed it. For callers
 * that ack or remove an original only after its copy is safe: the consumer's retry and dead-letter copies and the
 * producer's dead-letter replays. The template must have correlated confirms, returns and mandatory publishes.
 */
public final class ConfirmedPublisher {

    private final RabbitTemplate rabbitTemplate;
    private final Duration confirmTimeout;

    public ConfirmedPublisher(RabbitTemplate rabbitTemplate, Duration confirmTimeout) {
        this.rabbitTemplate = rabbitTemplate;
        this.confirmTimeout = confirmTimeout;
    }

    /**
     * Publishes {@code message} and returns once the broker confirmed it.
     *
     * @throws NotConfirmedException when the publish failed, timed out, was nacked or was returned as unroutable
     */
    public void publish(String exchange, String routingKey, Message message) throws NotConfirmedException {
        CorrelationData correlation = new CorrelationData(UUID.randomUUID().toString());
        String target = "exchange '" + exchange + "' with routing key '" + routingKey + "'";
        CorrelationData.Confirm confirm;
        try {
            rabbitTemplate.send(exchange, routingKey, message, correlation);
            confirm = correlation.getFuture().get(confirmTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (AmqpException | ExecutionException ex) {
            throw new NotConfirmedException("publishing to " + target + " failed: " + ex, ex);
        } catch (TimeoutException ex) {
            throw new NotConfirmedException("no confirm from " + target + " within " + confirmTimeout, ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new NotConfirmedException("interrupted while publishing to " + target, ex);
        }
        if (!confirm.ack()) {
            throw new NotConfirmedException("the broker nacked the publish to " + target + ": " + confirm.reason());
        }
        if (correlation.getReturned() != null) {
            throw new NotConfirmedException("the publish to " + target + " was unroutable: "
                    + correlation.getReturned().getReplyText());
        }
    }

    /** The broker did not confirm a routed copy, so the caller must keep the original. */
    public static class NotConfirmedException extends Exception {

        NotConfirmedException(String message) {
            super(message);
        }

        NotConfirmedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
