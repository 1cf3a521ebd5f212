package io.loadlevel.consumer.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

/** The listener in this JVM, against the real RabbitMQ and Redis, with a work queue private to this class. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"loadlevel.consumer.work.notification=5ms", "loadlevel.consumer.work.order=5ms"})
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
    void invalidMessagesAreDeadLetteredOnceAndNeighboursComplete() {
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
                .untilAsserted(() -> assertThat(amqpAdmin
                                .getQueueInfo(TOPOLOGY.deadLetterQueue())
                                .getMessageCount())
                        .isEqualTo(4));
        assertThat(workQueueDepth()).isZero();
        Message deadLettered = rabbitTemplate.receive(TOPOLOGY.deadLetterQueue(), 2_000);
        assertThat(deadLettered).isNotNull();
        assertThat(deadLettered.getMessageProperties().getXDeathHeader())
                .as("x-death header of a rejected message")
                .isNotEmpty();
    }

    private RequestStatusRecord awaitStatus(UUID id, RequestStatus expected) {
        return await("status " + expected + " of request " + id)
                .atMost(Duration.ofSeconds(10))
                .until(
                        () -> statusStore.find(id).join(),
                        found -> found.map(RequestStatusRecord::status).equals(Optional.of(expected)))
                .orElseThrow();
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
        return new RequestEnvelope(
                UUID.randomUUID(),
                type,
                "key-" + UUID.randomUUID(),
                jsonMapper.createObjectNode().put("channel", "email"),
                Instant.ofEpochMilli(System.currentTimeMillis()));
    }
}
