package io.loadlevel.consumer.handler;

/** A failure that a later attempt may not meet, such as a downstream timeout. */
public class TransientFailureException extends RuntimeException {

    public TransientFailureException(String message) {
        super(message);
    }
}
