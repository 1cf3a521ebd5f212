package io.loadlevel.common;

/**
 * AMQP headers loadlevel adds to messages on their way through retries and the dead-letter queue. They are visible in
 * the RabbitMQ management UI under a message's headers.
 */
public final class LoadlevelHeaders {

    /** Number of attempts already made at the request; absent on a first delivery. */
    public static final String ATTEMPTS = "x-loadlevel-attempts";

    /** Error of the last failed attempt. */
    public static final String LAST_ERROR = "x-loadlevel-last-error";

    /** Reason the message was dead-lettered. */
    public static final String DEAD_LETTER_REASON = "x-loadlevel-dead-letter-reason";

    /** Queue the message was taken from when it was dead-lettered. */
    public static final String ORIGINAL_QUEUE = "x-loadlevel-original-queue";

    /** Epoch milliseconds at which the message was dead-lettered. */
    public static final String DEAD_LETTERED_AT = "x-loadlevel-dead-lettered-at";

    /** Number of times an operator replayed the message from the dead-letter queue. */
    public static final String REPLAYS = "x-loadlevel-replays";

    private LoadlevelHeaders() {}
}
