package io.loadlevel.consumer.handler;

import io.loadlevel.common.RequestEnvelope;

/** Does the work of one request. An exception means the work failed and must not be acknowledged as done. */
public interface RequestHandler {

    void handle(RequestEnvelope envelope) throws Exception;
}
