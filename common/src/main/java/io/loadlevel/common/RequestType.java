package io.loadlevel.common;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** Kind of work a request asks for; the wire name is the lowercase constant name. */
public enum RequestType {
    NOTIFICATION,
    ORDER,
    PAYMENT;

    private static final String WIRE_NAMES =
            Arrays.stream(values()).map(RequestType::wireName).collect(Collectors.joining(", "));

    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Finds the type whose wire name matches exactly, so "Order" and " order" are not accepted. */
    public static Optional<RequestType> fromWireName(String wireName) {
        return Arrays.stream(values())
                .filter(type -> type.wireName().equals(wireName))
                .findFirst();
    }

    /** Returns the accepted wire names, comma-separated, for error messages. */
    public static String wireNames() {
        return WIRE_NAMES;
    }
}
