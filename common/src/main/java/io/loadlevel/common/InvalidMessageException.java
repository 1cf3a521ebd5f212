package io.loadlevel.common;

/**
 * Thrown when a delivered message breaks the message contract, so retrying it can never succeed and it belongs in the
 * dead-letter queue at once.
 */
public class InvalidMessageException extends RuntimeException {

    public InvalidMessageException(String message) {
        super(message);
    }

    public InvalidMessageException(String message, Throwable cause) {
        super(message, cause);
    }
}
