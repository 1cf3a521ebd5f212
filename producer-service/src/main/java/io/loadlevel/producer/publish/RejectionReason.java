package io.loadlevel.producer.publish;

import java.util.Locale;

/** Reason a request was not accepted after validation; also the tag value of the rejection metric. */
public enum RejectionReason {
    /** The broker sent basic.nack while the queue was not known to be full. */
    NACK(false),
    /** The message was returned as unroutable: no queue is bound for the routing key. */
    RETURNED(false),
    /** No confirm arrived within the confirm timeout; the broker may still have stored the message. */
    TIMEOUT(true),
    /** The broker nacked while the work queue was at its maximum length. */
    QUEUE_FULL(false),
    /** The publish could not be sent: no connection or channel to the broker. */
    BROKER_UNAVAILABLE(false),
    /**
     * The channel or connection closed after the publish and before its confirm; the broker may still have stored the
     * message.
     */
    CONNECTION_LOST(true),
    /** The broker blocks publishing connections because of a memory or disk alarm; nothing was sent. */
    BLOCKED(false);

    private final boolean mayBeStored;

    RejectionReason(boolean mayBeStored) {
        this.mayBeStored = mayBeStored;
    }

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Returns whether the broker may have stored the message all the same, so the request may still be processed and
     * a retry without the same Idempotency-Key can process it twice.
     */
    public boolean mayBeStored() {
        return mayBeStored;
    }
}
