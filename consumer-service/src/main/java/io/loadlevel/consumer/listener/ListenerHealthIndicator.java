package io.loadlevel.consumer.listener;

import org.springframework.amqp.rabbit.listener.SimpleMessageListenerContainer;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/**
 * UP only while the work queue's listener runs with at least one active consumer, so a consumer instance is never
 * ready while it does not consume. Part of the readiness group.
 */
@Component("listener")
class ListenerHealthIndicator extends AbstractHealthIndicator {

    private final SimpleMessageListenerContainer container;

    ListenerHealthIndicator(SimpleMessageListenerContainer container) {
        this.container = container;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        int active = container.getActiveConsumerCount();
        builder.withDetail("queues", container.getQueueNames()).withDetail("activeConsumers", active);
        if (container.isRunning() && active > 0) {
            builder.up();
        } else {
            builder.down().withDetail("running", container.isRunning());
        }
    }
}
