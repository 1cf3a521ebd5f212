package io.loadlevel.producer.api;

import io.loadlevel.common.RequestType;
import java.util.Set;
import org.springframework.stereotype.Component;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Parses and checks a submitted request body field by field, so each error names the field and the rule it broke
 * rather than a deserializer's message.
 */
@Component
class SubmittedRequestParser {

    static final int MAX_KEY_LENGTH = 256;
    private static final Set<String> FIELDS = Set.of("type", "key", "payload");

    private final JsonMapper jsonMapper;

    SubmittedRequestParser(JsonMapper jsonMapper) {
        this.jsonMapper = jsonMapper;
    }

    SubmittedRequest parse(byte[] body) {
        JsonNode root = readTree(body);
        if (!root.isObject()) {
            throw new InvalidRequestException(
                    null,
                    "body-not-object",
                    "request body must be a JSON object with type, key and payload, but was " + kind(root));
        }
        for (String name : root.propertyNames()) {
            if (!FIELDS.contains(name)) {
                throw new InvalidRequestException(
                        name,
                        "unknown-field",
                        "field '" + name + "' is not recognized; send only type, key and payload");
            }
        }
        return new SubmittedRequest(type(root.get("type")), key(root.get("key")), payload(root.get("payload")));
    }

    private JsonNode readTree(byte[] body) {
        if (body.length == 0) {
            throw new InvalidRequestException(
                    null, "body-missing", "request body is empty; send a JSON object with type, key and payload");
        }
        try {
            JsonNode root = jsonMapper.readTree(body);
            if (root == null || root.isMissingNode()) {
                throw new InvalidRequestException(
                        null, "body-missing", "request body is blank; send a JSON object with type, key and payload");
            }
            return root;
        } catch (JacksonException ex) {
            throw new InvalidRequestException(
                    null,
                    "malformed-json",
                    "request body is not valid JSON: " + ex.getOriginalMessage() + location(ex));
        }
    }

    private static RequestType type(JsonNode node) {
        String wireName = requiredString(node, "type", "use one of " + RequestType.wireNames());
        return RequestType.fromWireName(wireName)
                .orElseThrow(() -> new InvalidRequestException(
                        "type",
                        "unknown-type",
                        "type '" + wireName + "' is not supported; use one of " + RequestType.wireNames()));
    }

    private static String key(JsonNode node) {
        String key = requiredString(node, "key", "send the recipient, order or account id");
        if (key.isBlank()) {
            throw new InvalidRequestException(
                    "key", "blank", "key must not be blank; send the recipient, order or account id");
        }
        if (key.length() > MAX_KEY_LENGTH) {
            throw new InvalidRequestException(
                    "key",
                    "too-long",
                    "key must be at most " + MAX_KEY_LENGTH + " characters, but was " + key.length());
        }
        return key;
    }

    private static ObjectNode payload(JsonNode node) {
        if (node == null || node.isNull()) {
            throw new InvalidRequestException(
                    "payload", "required", "payload is required; send a JSON object, {} when there is nothing to pass");
        }
        if (!node.isObject()) {
            throw new InvalidRequestException(
                    "payload", "not-object", "payload must be a JSON object, but was " + kind(node));
        }
        return (ObjectNode) node;
    }

    private static String requiredString(JsonNode node, String field, String hint) {
        if (node == null || node.isNull()) {
            throw new InvalidRequestException(field, "required", field + " is required; " + hint);
        }
        if (!node.isString()) {
            throw new InvalidRequestException(
                    field, "not-string", field + " must be a JSON string, but was " + kind(node) + "; " + hint);
        }
        return node.stringValue();
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case STRING -> "a string";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase();
        };
    }

    private static String location(JacksonException ex) {
        return ex.getLocation() == null
                ? ""
                : " (line " + ex.getLocation().getLineNr() + ", column "
                        + ex.getLocation().getColumnNr() + ")";
    }
}
