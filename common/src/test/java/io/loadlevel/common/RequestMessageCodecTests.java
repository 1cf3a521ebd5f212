package io.loadlevel.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import tools.jackson.databind.json.JsonMapper;

class RequestMessageCodecTests {

    private final JsonMapper jsonMapper = JsonMapper.builder().build();
    private final RequestMessageCodec codec = new RequestMessageCodec(jsonMapper);

    @Test
    void messageCarriesContractProperties() {
        RequestEnvelope envelope = envelope();

        MessageProperties properties = codec.toMessage(envelope).getMessageProperties();

        assertThat(properties.getDeliveryMode()).isEqualTo(MessageDeliveryMode.PERSISTENT);
        assertThat(properties.getMessageId()).isEqualTo(envelope.id().toString());
        assertThat(properties.getTimestamp().toInstant()).isEqualTo(envelope.acceptedAt());
        assertThat(properties.getType()).isEqualTo("payment");
        assertThat(properties.getContentType()).isEqualTo("application/json");
    }

    @Test
    void envelopeSurvivesRoundTripWithMillisecondAcceptedAt() {
        RequestEnvelope envelope = envelope();

        RequestEnvelope read = codec.fromMessage(codec.toMessage(envelope));

        assertThat(read).isEqualTo(envelope);
        assertThat(read.acceptedAt().toEpochMilli() % 1000)
                .isEqualTo(envelope.acceptedAt().toEpochMilli() % 1000);
    }

    @Test
    void wrongContentTypeIsInvalid() {
        Message message = codec.toMessage(envelope());
        message.getMessageProperties().setContentType("text/plain");

        assertThatThrownBy(() -> codec.fromMessage(message))
                .isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining("content_type")
                .hasMessageContaining("text/plain");
    }

    @Test
    void typePropertyDisagreeingWithBodyIsInvalid() {
        Message message = codec.toMessage(envelope());
        message.getMessageProperties().setType("order");

        assertThatThrownBy(() -> codec.fromMessage(message))
                .isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining("'order'")
                .hasMessageContaining("'payment'");
    }

    @Test
    void messageIdDisagreeingWithBodyIsInvalid() {
        Message message = codec.toMessage(envelope());
        message.getMessageProperties().setMessageId(UUID.randomUUID().toString());

        assertThatThrownBy(() -> codec.fromMessage(message))
                .isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining("message_id");
    }

    @Test
    void unparsableBodyIsInvalid() {
        MessageProperties properties = new MessageProperties();
        properties.setContentType("application/json");
        properties.setType("payment");
        Message message = new Message("{\"id\": 1".getBytes(StandardCharsets.UTF_8), properties);

        assertThatThrownBy(() -> codec.fromMessage(message))
                .isInstanceOf(InvalidMessageException.class)
                .hasMessageStartingWith("body is not a valid request envelope");
    }

    @Test
    void bodyWithoutKeyIsInvalid() {
        MessageProperties properties = new MessageProperties();
        properties.setContentType("application/json");
        properties.setType("payment");
        String body = "{\"id\": \"" + UUID.randomUUID() + "\", \"type\": \"payment\", \"payload\": {},"
                + " \"acceptedAt\": \"2026-01-01T00:00:00Z\"}";

        assertThatThrownBy(() -> codec.fromMessage(new Message(body.getBytes(StandardCharsets.UTF_8), properties)))
                .isInstanceOf(InvalidMessageException.class);
    }

    private RequestEnvelope envelope() {
        return new RequestEnvelope(
                UUID.randomUUID(),
                RequestType.PAYMENT,
                "account-7",
                jsonMapper.createObjectNode().put("amount", "12.30").put("currency", "EUR"),
                Instant.parse("2026-12-04T10:15:30.123Z"));
    }
}
