package io.loadlevel.common;

import java.util.Date;
import java.util.UUID;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * Converts a {@link RequestEnvelope} to the AMQP message every loadlevel publisher sends, and back.
 *
 * <p>Every message is persistent and carries {@code message_id} (the request id), {@code timestamp} (accepted-at,
 * whole seconds as AMQP allows), {@code type} (the request type's wire name) and {@code content_type}
 * {@code application/json}. The body is the envelope as JSON, which keeps the millisecond accepted-at.
 */
public final class RequestMessageCodec {

    public static final String CONTENT_TYPE = MessageProperties.CONTENT_TYPE_JSON;

    private final JsonMapper jsonMapper;

    public RequestMessageCodec(JsonMapper jsonMapper) {
        this.jsonMapper = jsonMapper;
    }

    public Message toMessage(RequestEnvelope envelope) {
        MessageProperties properties = new MessageProperties();
        properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
        properties.setMessageId(envelope.id().toString());
        properties.setTimestamp(Date.from(envelope.acceptedAt()));
        properties.setType(envelope.type().wireName());
        properties.setContentType(CONTENT_TYPE);
        properties.setContentEncoding("UTF-8");
        return new Message(jsonMapper.writeValueAsBytes(envelope), properties);
    }

    /**
     * Reads the envelope from a delivered message.
     *
     * @throws InvalidMessageException if the content type is not JSON, the body does not parse as an envelope, or the
     *     {@code type} or {@code message_id} property disagrees with the body
     */
    public RequestEnvelope fromMessage(Message message) {
        MessageProperties properties = message.getMessageProperties();
        String contentType = properties.getContentType();
        if (contentType == null || !contentType.startsWith(CONTENT_TYPE)) {
            throw new InvalidMessageException(
                    "content_type must be " + CONTENT_TYPE + ", but was " + quoted(contentType));
        }
        RequestEnvelope envelope = parse(message.getBody());
        String type = properties.getType();
        if (!envelope.type().wireName().equals(type)) {
            throw new InvalidMessageException("type property " + quoted(type) + " does not match the body's type '"
                    + envelope.type().wireName() + "'");
        }
        String messageId = properties.getMessageId();
        if (messageId != null && !envelope.id().toString().equals(messageId)) {
            throw new InvalidMessageException(
                    "message_id " + quoted(messageId) + " does not match the body's id '" + envelope.id() + "'");
        }
        return envelope;
    }

    private RequestEnvelope parse(byte[] body) {
        try {
            return jsonMapper.readValue(body, RequestEnvelope.class);
        } catch (JacksonException | IllegalArgumentException | NullPointerException ex) {
            throw new InvalidMessageException("body is not a valid request envelope: " + ex.getMessage(), ex);
        }
    }

    /** Returns the envelope's id from the {@code message_id} property, or null when it is missing or not a UUID. */
    public static UUID messageIdOf(Message message) {
        try {
            String messageId = message.getMessageProperties().getMessageId();
            return messageId == null ? null : UUID.fromString(messageId);
        } catch (IllegalArgumentException ex) {
            return null;
        }
    }

    private static String quoted(String value) {
        return value == null ? "missing" : "'" + value + "'";
    }
}
