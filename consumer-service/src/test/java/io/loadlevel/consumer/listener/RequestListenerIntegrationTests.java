package io.loadlevel.consumer.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.LoadlevelHeaders;
import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.RequestType;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusRecord;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.TestTopology;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** The listener in this JVM, against the real RabbitMQ and Redis, with a work queue private to this class. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "loadlevel.consumer.work.notification=5ms",
            "loadlevel.consumer.work.order=5ms",
            "loadlevel.consumer.fault-injection=true",
            "loadlevel.consumer.retry.max-attempts=3",
            "loadlevel.consumer.retry.initial-delay=200ms",
            "loadlevel.consumer.concurrency=2",
            "loadlevel.topology.delivery-limit=2"
        })
class RequestListenerIntegrationTests {

    private static final TestTopology TOPOLOGY = TestTopology.unique("listener");

    @Autowired
    RabbitTemplate rabbitTemplate;

    @Autowired
    AmqpAdmin amqpAdmin;

    @Autowired
    RequestMessageCodec codec;

    @Autowired
    RequestStatusStore statusStore;

    @Autowired
    JsonMapper jsonMapper;

    @Autowired
    StringRedisTemplate redis;

    private final List<Message> deadLetterSkipped = new ArrayList<>();

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry registry) {
        LocalServices.register(registry);
        TOPOLOGY.register(registry);
    }

    @AfterAll
    static void deleteTopology(@Autowired AmqpAdmin amqpAdmin) {
        TOPOLOGY.delete(amqpAdmin);
    }

    @Test
    void publishedRequestReachesCompletedAndIsAcked() {
        RequestEnvelope envelope = envelope(RequestType.ORDER);

        publish(codec.toMessage(envelope));

        RequestStatusRecord status = awaitStatus(envelope.id(), RequestStatus.COMPLETED);
        assertThat(status.attempts()).isEqualTo(1);
        assertThat(status.type()).isEqualTo(RequestType.ORDER);
        assertThat(status.key()).isEqualTo(envelope.key());
        assertThat(status.acceptedAt()).isEqualTo(envelope.acceptedAt());
        assertThat(status.startedAt()).isAfterOrEqualTo(status.acceptedAt());
        assertThat(status.completedAt()).isAfterOrEqualTo(status.startedAt());
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isZero());
    }

    @Test
    void invalidMessagesDeadLetteredOnce() {
        RequestEnvelope before = envelope(RequestType.NOTIFICATION);
        RequestEnvelope after = envelope(RequestType.NOTIFICATION);
        Message wrongContentType = codec.toMessage(envelope(RequestType.ORDER));
        wrongContentType.getMessageProperties().setContentType("text/plain");
        Message mismatchedType = codec.toMessage(envelope(RequestType.ORDER));
        mismatchedType.getMessageProperties().setType("payment");

        publish(codec.toMessage(before));
        publish(raw("{\"id\": \"not json"));
        publish(raw("{\"id\": \"" + UUID.randomUUID() + "\", \"type\": \"invoice\", \"key\": \"k\", \"payload\": {},"
                + " \"acceptedAt\": \"2026-01-01T00:00:00Z\"}"));
        publish(wrongContentType);
        publish(mismatchedType);
        publish(codec.toMessage(after));

        awaitStatus(before.id(), RequestStatus.COMPLETED);
        awaitStatus(after.id(), RequestStatus.COMPLETED);
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(invalidDeadLetters()).hasSize(4));
        assertThat(workQueueDepth()).isZero();
        assertThat(invalidDeadLetters())
                .allSatisfy(message -> assertThat(
                                message.getMessageProperties().<Integer>getHeader(LoadlevelHeaders.ATTEMPTS))
                        .isZero());
    }

    @Test
    void transientFailureRetriedUntilSuccess() {
        RequestEnvelope envelope = envelope(RequestType.ORDER, fault("failAttempts", 2));

        publish(codec.toMessage(envelope));

        RequestStatusRecord status = awaitStatus(envelope.id(), RequestStatus.COMPLETED);
        assertThat(status.attempts()).isEqualTo(3);
        assertThat(status.lastError()).contains("simulated transient failure on attempt 2");
        assertThat(effectCount(envelope)).isEqualTo("1");
        assertThat(amqpAdmin.getQueueInfo(TOPOLOGY.workQueue() + ".retry.1")).isNotNull();
        assertThat(amqpAdmin.getQueueInfo(TOPOLOGY.workQueue() + ".retry.2")).isNotNull();
    }

    @Test
    void lastFailedAttemptDeadLetters() {
        RequestEnvelope envelope = envelope(RequestType.ORDER, fault("failAttempts", 99));

        publish(codec.toMessage(envelope));

        RequestStatusRecord status = awaitStatus(envelope.id(), RequestStatus.DEAD_LETTERED);
        assertThat(status.attempts()).isEqualTo(3);
        Message deadLettered = awaitDeadLetter(envelope.id());
        MessageProperties properties = deadLettered.getMessageProperties();
        assertThat(properties.<Integer>getHeader(LoadlevelHeaders.ATTEMPTS)).isEqualTo(3);
        assertThat(properties.<String>getHeader(LoadlevelHeaders.DEAD_LETTER_REASON))
                .startsWith("failed 3 of 3 attempts");
        assertThat(properties.<String>getHeader(LoadlevelHeaders.ORIGINAL_QUEUE))
                .isEqualTo(TOPOLOGY.workQueue());
        assertThat(properties.getType()).isEqualTo("order");
        assertThat(codec.fromMessage(deadLettered).id()).isEqualTo(envelope.id());
        assertThat(effectCount(envelope)).isNull();
    }

    @Test
    void permanentFailureDeadLettersAfterOneAttempt() {
        RequestEnvelope envelope = envelope(RequestType.ORDER, fault("permanent", true));

        publish(codec.toMessage(envelope));

        RequestStatusRecord status = awaitStatus(envelope.id(), RequestStatus.DEAD_LETTERED);
        assertThat(status.attempts()).isEqualTo(1);
        assertThat(awaitDeadLetter(envelope.id())
                        .getMessageProperties()
                        .<String>getHeader(LoadlevelHeaders.DEAD_LETTER_REASON))
                .startsWith("permanent failure");
    }

    /**
     * A message that crashes its consumer on every delivery must reach the dead-letter queue through the broker's
     * delivery limit, here 2, on the RabbitMQ that runs the tests.
     */
    @Test
    void crashingMessageHitsDeliveryLimit() {
        RequestEnvelope envelope = envelope(RequestType.ORDER, fault("crash", true));

        publish(codec.toMessage(envelope));

        Message deadLettered = await("dead-lettered crashing message")
                .atMost(Duration.ofSeconds(30))
                .until(() -> receiveDeadLetter(envelope.id()), message -> message != null);
        assertThat(deadLettered.getMessageProperties().getXDeathHeader())
                .first()
                .satisfies(death -> assertThat(death.get("reason")).isEqualTo("delivery_limit"));
        assertThat(statusStore.find(envelope.id()).join().orElseThrow().attempts())
                .isEqualTo(3);
        assertThat(effectCount(envelope)).isNull();
    }

    @Test
    void completedRedeliveryAppliesNoEffect() {
        RequestEnvelope envelope = envelope(RequestType.NOTIFICATION);
        publish(codec.toMessage(envelope));
        awaitStatus(envelope.id(), RequestStatus.COMPLETED);

        publish(codec.toMessage(envelope));

        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isZero());
        assertThat(effectCount(envelope)).isEqualTo("1");
        assertThat(statusStore.find(envelope.id()).join().orElseThrow().attempts())
                .isEqualTo(1);
    }

    @Test
    void reopenedDeadLetteredRequestIsProcessedAgain() {
        RequestEnvelope envelope = envelope(RequestType.NOTIFICATION);
        statusStore.advance(envelope, RequestStatus.DEAD_LETTERED).join();
        statusStore.reopen(envelope).join();

        publish(codec.toMessage(envelope));

        RequestStatusRecord status = awaitStatus(envelope.id(), RequestStatus.COMPLETED);
        assertThat(status.replays()).isEqualTo(1);
        assertThat(effectCount(envelope)).isEqualTo("1");
    }

    /** The reason a replay reopens the status before it publishes the copy. */
    @Test
    void deadLetteredCopyAckedUnprocessed() {
        RequestEnvelope envelope = envelope(RequestType.NOTIFICATION);
        statusStore.advance(envelope, RequestStatus.DEAD_LETTERED).join();

        publish(codec.toMessage(envelope));

        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isZero());
        assertThat(statusStore.find(envelope.id()).join().orElseThrow().status())
                .isEqualTo(RequestStatus.DEAD_LETTERED);
        assertThat(effectCount(envelope)).isNull();
    }

    private String effectCount(RequestEnvelope envelope) {
        return redis.opsForValue().get("loadlevel:effect:" + envelope.id());
    }

    private Message awaitDeadLetter(UUID id) {
        return await("dead letter of " + id)
                .atMost(Duration.ofSeconds(10))
                .until(() -> receiveDeadLetter(id), message -> message != null);
    }

    /** Takes dead-lettered messages until the one with {@code id}; others are not this test's and are dropped. */
    private Message receiveDeadLetter(UUID id) {
        Message message;
        while ((message = rabbitTemplate.receive(TOPOLOGY.deadLetterQueue())) != null) {
            if (id.toString().equals(message.getMessageProperties().getMessageId())) {
                return message;
            }
            deadLetterSkipped.add(message);
        }
        return null;
    }

    private ObjectNode fault(String field, Object value) {
        ObjectNode fault = jsonMapper.createObjectNode();
        if (value instanceof Boolean flag) {
            fault.put(field, flag);
        } else {
            fault.put(field, (Integer) value);
        }
        return jsonMapper.createObjectNode().set("_fault", fault);
    }

    private RequestStatusRecord awaitStatus(UUID id, RequestStatus expected) {
        return await("status " + expected + " of request " + id)
                .atMost(Duration.ofSeconds(10))
                .until(
                        () -> statusStore.find(id).join(),
                        found -> found.map(RequestStatusRecord::status).equals(Optional.of(expected)))
                .orElseThrow();
    }

    /** Dead letters seen so far whose reason marks them as breaking the message contract. */
    private List<Message> invalidDeadLetters() {
        receiveDeadLetter(UUID.randomUUID());
        return deadLetterSkipped.stream()
                .filter(message -> String.valueOf(
                                message.getMessageProperties().<String>getHeader(LoadlevelHeaders.DEAD_LETTER_REASON))
                        .startsWith("invalid message: "))
                .toList();
    }

    private long workQueueDepth() {
        return amqpAdmin.getQueueInfo(TOPOLOGY.workQueue()).getMessageCount();
    }

    private void publish(Message message) {
        rabbitTemplate.send(TOPOLOGY.exchange(), TOPOLOGY.routingKey(), message);
    }

    private static Message raw(String body) {
        MessageProperties properties = new MessageProperties();
        properties.setContentType(MessageProperties.CONTENT_TYPE_JSON);
        properties.setType("order");
        return new Message(body.getBytes(StandardCharsets.UTF_8), properties);
    }

    private RequestEnvelope envelope(RequestType type) {
        return envelope(type, jsonMapper.createObjectNode().put("channel", "email"));
    }

    private RequestEnvelope envelope(RequestType type, ObjectNode payload) {
        return new RequestEnvelope(
                UUID.randomUUID(),
                type,
                "key-" + UUID.randomUUID(),
                payload,
                Instant.ofEpochMilli(System.currentTimeMillis()));
    }
}
