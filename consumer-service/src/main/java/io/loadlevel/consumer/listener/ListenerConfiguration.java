package io.loadlevel.consumer.listener;

import io.loadlevel.common.topology.TopologyProperties;
import io.loadlevel.consumer.ConsumerProperties;
import java.time.Duration;
import org.springframework.amqp.core.AcknowledgeMode;
import org.springframework.amqp.rabbit.config.SimpleRabbitListenerContainerFactory;
import org.springframework.amqp.rabbit.connection.ConnectionFactory;
import org.springframework.amqp.rabbit.listener.SimpleMessageListenerContainer;
import org.springframework.boot.amqp.autoconfigure.SimpleRabbitListenerContainerFactoryConfigurer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.support.DefaultLifecycleProcessor;

/**
 * The work queue's listener container: manual acknowledgement, a fixed prefetch and a fixed number of threads.
 *
 * <p>On shutdown the container cancels its consumers, lets the messages in progress finish and ack for up to the
 * shutdown timeout, and returns the prefetched messages it did not start to the queue ({@code forceStop}).
 */
@Configuration(proxyBeanMethods = false)
class ListenerConfiguration {

    /** Time the application context allows each lifecycle phase beyond the listener's own shutdown timeout. */
    private static final Duration SHUTDOWN_PHASE_MARGIN = Duration.ofSeconds(5);

    @Bean
    SimpleMessageListenerContainer workListenerContainer(
            SimpleRabbitListenerContainerFactoryConfigurer configurer,
            ConnectionFactory connectionFactory,
            ConsumerProperties properties,
            TopologyProperties topology,
            RequestListener listener) {
        SimpleRabbitListenerContainerFactory factory = new SimpleRabbitListenerContainerFactory();
        configurer.configure(factory, connectionFactory);
        factory.setAcknowledgeMode(AcknowledgeMode.MANUAL);
        factory.setPrefetchCount(properties.prefetch());
        factory.setConcurrentConsumers(properties.concurrency());
        factory.setMaxConcurrentConsumers(properties.concurrency());
        factory.setDefaultRequeueRejected(false);
        factory.setForceStop(true);
        SimpleMessageListenerContainer container = factory.createListenerContainer();
        container.setListenerId("work");
        container.setQueueNames(topology.workQueue());
        container.setMessageListener(listener);
        container.setShutdownTimeout(properties.shutdownTimeout().toMillis());
        return container;
    }

    /**
     * Gives the listener's shutdown phase more time than the listener's own shutdown timeout, so the context never
     * cuts work in progress short. Spring Boot backs off its own processor when this bean exists.
     */
    @Bean
    DefaultLifecycleProcessor lifecycleProcessor(ConsumerProperties properties) {
        DefaultLifecycleProcessor processor = new DefaultLifecycleProcessor();
        processor.setTimeoutPerShutdownPhase(
                properties.shutdownTimeout().plus(SHUTDOWN_PHASE_MARGIN).toMillis());
        return processor;
    }
}
