package io.loadlevel.consumer.handler;

/** A failure that another attempt cannot fix, such as a payment to a closed account; it is never retried. */
public class PermanentFailureException extends RuntimeException {

    public PermanentFailureException(String message) {
        super(message);
    }
}
