package io.loadlevel.common.topology;

import org.springframework.amqp.core.Binding;
import org.springframework.amqp.core.BindingBuilder;
import org.springframework.amqp.core.Declarables;
import org.springframework.amqp.core.DirectExchange;
import org.springframework.amqp.core.ExchangeBuilder;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.core.QueueBuilder;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Declares the work queue, its exchange and the dead-letter pair. Spring AMQP's {@code RabbitAdmin} declares them on
 * every new connection, so a broker that lost them gets them back when a service reconnects.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(TopologyProperties.class)
public class TopologyConfiguration {

    @Bean
    TopologyVerifier topologyVerifier(
            CachingConnectionFactory connectionFactory, ObjectProvider<Declarables> topology) {
        return new TopologyVerifier(
                connectionFactory.getRabbitConnectionFactory(),
                topology.orderedStream().toList());
    }

    @Bean
    Declarables loadlevelTopology(TopologyProperties topology) {
        DirectExchange exchange = ExchangeBuilder.directExchange(topology.exchange())
                .durable(true)
                .build();
        DirectExchange deadLetterExchange = ExchangeBuilder.directExchange(topology.deadLetterExchange())
                .durable(true)
                .build();
        Queue workQueue = workQueue(topology);
        Queue deadLetterQueue =
                QueueBuilder.durable(topology.deadLetterQueue()).quorum().build();
        Binding work = BindingBuilder.bind(workQueue).to(exchange).with(topology.routingKey());
        Binding deadLetters =
                BindingBuilder.bind(deadLetterQueue).to(deadLetterExchange).with(topology.routingKey());
        return new Declarables(exchange, deadLetterExchange, workQueue, deadLetterQueue, work, deadLetters);
    }

    /**
     * Builds the bounded work queue. {@code x-overflow=reject-publish} makes the broker nack publishes to a full queue,
     * which the producer turns into 503, instead of silently dropping the oldest message.
     */
    static Queue workQueue(TopologyProperties topology) {
        return boundedQueue(topology, topology.workQueue(), topology.deadLetterExchange(), topology.routingKey())
                .build();
    }

    /**
     * Starts a durable queue of the configured type and maximum length that dead-letters to {@code exchange} with
     * {@code routingKey}. A quorum queue gets the delivery limit and at-least-once dead-lettering, which RabbitMQ
     * (3.10 and newer) honours only with {@code reject-publish} overflow: the broker then keeps a dead-lettered message
     * until the target queue confirms it, instead of dropping it when that queue is full or unavailable.
     */
    public static QueueBuilder boundedQueue(
            TopologyProperties topology, String name, String exchange, String routingKey) {
        QueueBuilder builder = QueueBuilder.durable(name)
                .maxLength(topology.maxLength())
                .overflow(QueueBuilder.Overflow.rejectPublish)
                .deadLetterExchange(exchange)
                .deadLetterRoutingKey(routingKey);
        if (topology.queueType() == QueueType.QUORUM) {
            builder.quorum()
                    .deliveryLimit(topology.deliveryLimit())
                    .withArgument("x-dead-letter-strategy", "at-least-once");
        }
        return builder;
    }
}
