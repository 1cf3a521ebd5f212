package io.loadlevel.common.topology;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Names and arguments of the exchanges and queues both services declare. Both services must run with the same values,
 * because RabbitMQ rejects a declaration whose arguments differ from an existing queue's.
 *
 * @param exchange direct exchange the producer publishes to
 * @param routingKey routing key that binds the work queue to the exchange
 * @param workQueue durable queue the consumers take work from
 * @param queueType queue type of the work queue
 * @param maxLength maximum number of messages in the work queue; publishes beyond it are nacked
 * @param deliveryLimit deliveries of one message before a quorum queue dead-letters it; ignored for classic queues
 * @param deadLetterExchange exchange that receives rejected and expired messages
 * @param deadLetterQueue durable queue bound to the dead-letter exchange
 */
@Validated
@ConfigurationProperties("loadlevel.topology")
public record TopologyProperties(
        @NotBlank @DefaultValue("loadlevel.requests") String exchange,
        @NotBlank @DefaultValue("work") String routingKey,
        @NotBlank @DefaultValue("loadlevel.requests.work") String workQueue,
        @NotNull @DefaultValue("quorum") QueueType queueType,
        @Min(1) @DefaultValue("100000") int maxLength,
        @Min(1) @DefaultValue("5") int deliveryLimit,
        @NotBlank @DefaultValue("loadlevel.requests.dlx") String deadLetterExchange,
        @NotBlank @DefaultValue("loadlevel.requests.dead") String deadLetterQueue) {}
