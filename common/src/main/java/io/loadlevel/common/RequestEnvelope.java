package io.loadlevel.common;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import tools.jackson.databind.node.ObjectNode;

/**
 * One accepted request as it travels through the work queue.
 *
 * @param id request id assigned by the producer, also the AMQP {@code message_id}
 * @param type kind of work, also the AMQP {@code type} property
 * @param key recipient, order or account id the work is about
 * @param payload the caller's JSON object, passed on unchanged
 * @param acceptedAt when the producer accepted the request, with millisecond precision
 */
public record RequestEnvelope(UUID id, RequestType type, String key, ObjectNode payload, Instant acceptedAt) {

    public RequestEnvelope {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(acceptedAt, "acceptedAt");
    }
}
