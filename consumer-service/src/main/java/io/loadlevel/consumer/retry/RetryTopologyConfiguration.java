package io.loadlevel.consumer.retry;

import io.loadlevel.common.topology.TopologyConfiguration;
import io.loadlevel.common.topology.TopologyProperties;
import io.loadlevel.consumer.ConsumerProperties;
import java.util.ArrayList;
import java.util.List;
import org.springframework.amqp.core.Declarable;
import org.springframework.amqp.core.Declarables;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Declares one delay queue per retry level. A message waits in it until its per-message expiration, then the broker
 * dead-letters it back to the work exchange, at least once, and it joins the work queue again.
 */
@Configuration(proxyBeanMethods = false)
class RetryTopologyConfiguration {

    @Bean
    Declarables retryTopology(ConsumerProperties properties, TopologyProperties topology) {
        List<Declarable> queues = new ArrayList<>();
        for (int level = 1; level < properties.retry().maxAttempts(); level++) {
            queues.add(TopologyConfiguration.boundedQueue(
                            topology,
                            RetryPolicy.delayQueueName(topology.workQueue(), level),
                            topology.exchange(),
                            topology.routingKey())
                    .build());
        }
        return new Declarables(queues);
    }
}
