package io.loadlevel.common.topology;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Declarables;
import org.springframework.amqp.core.Exchange;
import org.springframework.amqp.core.Queue;
import org.springframework.beans.factory.SmartInitializingSingleton;

/**
 * Declares every queue and exchange once at startup and stops the service when RabbitMQ rejects a declaration because
 * it exists with other arguments. Without this check the service would start and then neither publish nor consume,
 * because the declaration on every new connection fails the same way.
 *
 * <p>It declares on a plain client connection of its own, outside Spring AMQP's connection listeners, so that a
 * rejected declaration surfaces here at once instead of inside the listeners' retries. An unreachable broker does not
 * stop the start: the service reports not ready, and Spring AMQP declares the topology when the connection comes up.
 */
public class TopologyVerifier implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(TopologyVerifier.class);
    private static final int PRECONDITION_FAILED = 406;

    private final ConnectionFactory connectionFactory;
    private final List<Declarables> topology;

    public TopologyVerifier(ConnectionFactory connectionFactory, List<Declarables> topology) {
        this.connectionFactory = connectionFactory;
        this.topology = topology;
    }

    @Override
    public void afterSingletonsInstantiated() {
        try (Connection connection = connectionFactory.newConnection("loadlevel-topology-check")) {
            declareAll(connection);
        } catch (IOException | TimeoutException ex) {
            log.warn(
                    "Broker unreachable at startup; the topology is declared when a connection comes up: {}",
                    ex.toString());
        }
    }

    private void declareAll(Connection connection) throws IOException {
        for (Declarables declarables : topology) {
            for (Exchange exchange : declarables.getDeclarablesByType(Exchange.class)) {
                declare(
                        connection,
                        "exchange '" + exchange.getName() + "'",
                        channel -> channel.exchangeDeclare(
                                exchange.getName(),
                                exchange.getType(),
                                exchange.isDurable(),
                                exchange.isAutoDelete(),
                                exchange.getArguments()));
            }
            for (Queue queue : declarables.getDeclarablesByType(Queue.class)) {
                declare(
                        connection,
                        "queue '" + queue.getName() + "'",
                        channel -> channel.queueDeclare(
                                queue.getName(),
                                queue.isDurable(),
                                queue.isExclusive(),
                                queue.isAutoDelete(),
                                queue.getArguments()));
            }
        }
    }

    private static void declare(Connection connection, String description, Declaration declaration) throws IOException {
        Channel channel = connection.createChannel();
        try {
            declaration.declare(channel);
        } catch (IOException ex) {
            String mismatch = preconditionFailure(ex);
            if (mismatch != null) {
                throw new TopologyMismatchException(
                        "RabbitMQ rejected the declaration of " + description + ": " + mismatch
                                + ". It exists with other arguments; delete it (its messages are lost) or set"
                                + " loadlevel.topology.* to match the existing arguments");
            }
            throw ex;
        } finally {
            closeQuietly(channel);
        }
    }

    private static void closeQuietly(Channel channel) {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | ShutdownSignalException ex) {
            log.debug("Closing the declaration channel failed: {}", ex.toString());
        }
    }

    private static String preconditionFailure(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof ShutdownSignalException signal
                    && signal.getReason() instanceof AMQP.Channel.Close close
                    && close.getReplyCode() == PRECONDITION_FAILED) {
                return close.getReplyText();
            }
        }
        return null;
    }

    @FunctionalInterface
    private interface Declaration {
        void declare(Channel channel) throws IOException;
    }

    /** A queue or exchange exists on the broker with arguments that differ from the configured topology. */
    public static class TopologyMismatchException extends IllegalStateException {

        TopologyMismatchException(String message) {
            super(message);
        }
    }
}
