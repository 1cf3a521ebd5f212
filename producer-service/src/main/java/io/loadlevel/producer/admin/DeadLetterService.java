package io.loadlevel.producer.admin;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.loadlevel.common.ConfirmedPublisher;
import io.loadlevel.common.InvalidMessageException;
import io.loadlevel.common.LoadlevelHeaders;
import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.common.topology.TopologyProperties;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.amqp.core.QueueInformation;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.amqp.rabbit.support.DefaultMessagePropertiesConverter;
import org.springframework.amqp.rabbit.support.MessagePropertiesConverter;
import org.springframework.stereotype.Component;

/**
 * Lists the dead-letter queue and replays its messages to the work queue.
 *
 * <p>Both take messages with basic.get without acknowledging them and return every message they do not replay with a
 * requeueing nack, so a listing changes nothing but the order of the queue and its messages' delivery count. A replay
 * first moves the request's status from DEAD_LETTERED back to ACCEPTED, because a consumer acks a copy of a request in
 * a terminal status without processing it. It then publishes a copy to the work exchange, waits for the confirm and
 * acks the dead-lettered original only then.
 */
@Component
class DeadLetterService {

    private static final Logger log = LoggerFactory.getLogger(DeadLetterService.class);
    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(10);
    private static final Set<String> DEAD_LETTER_HEADERS = Set.of(
            LoadlevelHeaders.ATTEMPTS,
            LoadlevelHeaders.LAST_ERROR,
            LoadlevelHeaders.DEAD_LETTER_REASON,
            LoadlevelHeaders.ORIGINAL_QUEUE,
            LoadlevelHeaders.DEAD_LETTERED_AT,
            "x-death",
            "x-first-death-exchange",
            "x-first-death-queue",
            "x-first-death-reason",
            "x-last-death-exchange",
            "x-last-death-queue",
            "x-last-death-reason",
            "x-delivery-count");

    private final RabbitTemplate rabbitTemplate;
    private final AmqpAdmin amqpAdmin;
    private final TopologyProperties topology;
    private final RequestMessageCodec codec;
    private final RequestStatusStore statusStore;
    private final ConfirmedPublisher publisher;
    private final MessagePropertiesConverter converter = new DefaultMessagePropertiesConverter();

    DeadLetterService(
            RabbitTemplate rabbitTemplate,
            AmqpAdmin amqpAdmin,
            TopologyProperties topology,
            RequestMessageCodec codec,
            RequestStatusStore statusStore) {
        this.rabbitTemplate = rabbitTemplate;
        this.publisher = new ConfirmedPublisher(rabbitTemplate, CONFIRM_TIMEOUT);
        this.amqpAdmin = amqpAdmin;
        this.topology = topology;
        this.codec = codec;
        this.statusStore = statusStore;
    }

    /** One dead-lettered message as the admin endpoints show it. */
    record DeadLetter(
            String id, String type, String reason, Integer attempts, String originalQueue, Instant deadLetteredAt) {}

    /** Outcome of a replay. */
    record ReplayResult(int replayed, List<String> notFound, long remaining) {}

    long count() {
        QueueInformation info = amqpAdmin.getQueueInfo(topology.deadLetterQueue());
        return info == null ? 0 : info.getMessageCount();
    }

    /** Returns up to {@code limit} dead-lettered messages from the head of the queue and leaves them all there. */
    List<DeadLetter> list(int limit) {
        return rabbitTemplate.execute(channel -> {
            List<DeadLetter> found = new ArrayList<>();
            try {
                GetResponse response;
                while (found.size() < limit
                        && (response = channel.basicGet(topology.deadLetterQueue(), false)) != null) {
                    found.add(describe(toMessage(response)));
                }
            } finally {
                returnUnacked(channel);
            }
            return found;
        });
    }

    /**
     * Replays the messages whose ids are in {@code ids}, or every message when {@code ids} is null, up to {@code max},
     * at no more than {@code perSecond}. It looks at each message in the queue once at most.
     */
    ReplayResult replay(Set<String> ids, int max, int perSecond) {
        RateLimiter limiter = RateLimiter.of(
                "dead-letter-replay",
                RateLimiterConfig.custom()
                        .limitForPeriod(perSecond)
                        .limitRefreshPeriod(Duration.ofSeconds(1))
                        .timeoutDuration(Duration.ofSeconds(5))
                        .build());
        long depth = count();
        Set<String> requested = ids == null ? null : new HashSet<>(ids);
        int replayed = rabbitTemplate.execute(channel -> {
            int done = 0;
            try {
                GetResponse response;
                for (long seen = 0;
                        seen < depth
                                && done < max
                                && (requested == null || !requested.isEmpty())
                                && (response = channel.basicGet(topology.deadLetterQueue(), false)) != null;
                        seen++) {
                    Message message = toMessage(response);
                    String id = message.getMessageProperties().getMessageId();
                    if (requested != null && !requested.remove(id)) {
                        continue;
                    }
                    while (!limiter.acquirePermission()) {
                        log.debug("Replay waits for the rate limit of {} per second", perSecond);
                    }
                    RequestEnvelope envelope = reopen(message);
                    try {
                        publishToWorkQueue(message);
                    } catch (IOException ex) {
                        restoreDeadLettered(envelope, ex);
                        throw ex;
                    }
                    channel.basicAck(response.getEnvelope().getDeliveryTag(), false);
                    done++;
                }
            } finally {
                returnUnacked(channel);
            }
            return done;
        });
        log.info("Replayed {} dead-lettered messages to '{}'", replayed, topology.workQueue());
        List<String> notFound = requested == null ? List.of() : List.copyOf(requested);
        return new ReplayResult(replayed, notFound, count());
    }

    private void publishToWorkQueue(Message message) throws IOException {
        MessageProperties properties = message.getMessageProperties();
        Map<String, Object> headers = properties.getHeaders();
        Object replays = headers.get(LoadlevelHeaders.REPLAYS);
        DEAD_LETTER_HEADERS.forEach(headers::remove);
        headers.put(LoadlevelHeaders.REPLAYS, replays instanceof Number number ? number.intValue() + 1 : 1);
        try {
            publisher.publish(topology.exchange(), topology.routingKey(), message);
        } catch (ConfirmedPublisher.NotConfirmedException ex) {
            throw new IOException("replaying message " + properties.getMessageId() + " failed: " + ex.getMessage(), ex);
        }
    }

    /** Moves the status back to ACCEPTED and returns the envelope, or null for a message without a valid envelope. */
    private RequestEnvelope reopen(Message message) {
        RequestEnvelope envelope;
        try {
            envelope = codec.fromMessage(message);
        } catch (InvalidMessageException ex) {
            log.debug(
                    "Replayed message {} has no valid envelope, so no status to reopen",
                    message.getMessageProperties().getMessageId());
            return null;
        }
        try {
            statusStore.await(statusStore.reopen(envelope));
        } catch (RuntimeException ex) {
            log.warn("Reopening the status of replayed request {} failed: {}", envelope.id(), ex.getMessage());
        }
        return envelope;
    }

    /** Puts the status back to DEAD_LETTERED after a replay whose copy the broker did not confirm. */
    private void restoreDeadLettered(RequestEnvelope envelope, IOException failure) {
        if (envelope == null) {
            return;
        }
        try {
            statusStore.await(statusStore.advance(
                    envelope, RequestStatus.DEAD_LETTERED, "replay failed: " + failure.getMessage()));
        } catch (RuntimeException ex) {
            log.warn(
                    "Request {} stays in the dead-letter queue, but restoring DEAD_LETTERED failed: {}",
                    envelope.id(),
                    ex.getMessage());
        }
    }

    private DeadLetter describe(Message message) {
        MessageProperties properties = message.getMessageProperties();
        Object attempts = properties.getHeader(LoadlevelHeaders.ATTEMPTS);
        Object at = properties.getHeader(LoadlevelHeaders.DEAD_LETTERED_AT);
        Object reason = properties.getHeader(LoadlevelHeaders.DEAD_LETTER_REASON);
        Object originalQueue = properties.getHeader(LoadlevelHeaders.ORIGINAL_QUEUE);
        return new DeadLetter(
                properties.getMessageId(),
                properties.getType(),
                reason == null ? "rejected by the broker (see x-death)" : reason.toString(),
                attempts instanceof Number number ? number.intValue() : null,
                originalQueue == null ? null : originalQueue.toString(),
                at instanceof Number number ? Instant.ofEpochMilli(number.longValue()) : null);
    }

    private Message toMessage(GetResponse response) {
        MessageProperties properties =
                converter.toMessageProperties(response.getProps(), response.getEnvelope(), "UTF-8");
        properties.setDeliveryMode(properties.getReceivedDeliveryMode());
        return new Message(response.getBody(), properties);
    }

    /** Returns every message this channel took and did not ack to the queue. */
    private static void returnUnacked(Channel channel) throws IOException {
        channel.basicNack(0, true, true);
    }
}
