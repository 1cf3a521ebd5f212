package io.loadlevel.consumer.retry;

import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.boot.amqp.autoconfigure.RabbitTemplateCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Publishes retry and dead-letter copies on a connection of their own. A broker under a resource alarm blocks the
 * connections that publish, and on a separate connection that block does not stop the listener from consuming and
 * acking.
 */
@Configuration(proxyBeanMethods = false)
class PublisherConnectionConfiguration {

    @Bean
    RabbitTemplateCustomizer publisherConnection() {
        return (RabbitTemplate template) -> template.setUsePublisherConnection(true);
    }
}
