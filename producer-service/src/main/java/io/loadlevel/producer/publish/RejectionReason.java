package io.loadlevel.producer.publish;

import java.util.Locale;

/** Why the broker did not take a request; the tag value of the rejection metric. */
public enum RejectionReason {
    /** The broker sent basic.nack while the queue was not known to be full. */
    NACK,
    /** The message was returned as unroutable: no queue is bound for the routing key. */
    RETURNED,
    /** No confirm arrived within the confirm timeout. */
    TIMEOUT,
    /** The broker nacked while the work queue was at its maximum length. */
    QUEUE_FULL,
    /** The publish could not be sent: no connection or channel to the broker. */
    BROKER_UNAVAILABLE;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
