package io.loadlevel.consumer.handler;

import io.loadlevel.common.RequestEnvelope;

/**
 * Does the work of one request. A {@link PermanentFailureException} sends the request to the dead-letter queue at once;
 * any other exception is a transient failure that is retried with backoff.
 */
public interface RequestHandler {

    /**
     * @param attempt number of this attempt, 1 for the first
     */
    void handle(RequestEnvelope envelope, int attempt) throws Exception;
}
