package io.loadlevel.producer.api;

/** A request body over the configured maximum size; it becomes a 413 problem. */
class BodyTooLargeException extends RuntimeException {

    BodyTooLargeException(long size, long maxSize) {
        super((size >= 0 ? "request body is " + size + " bytes, " : "request body is ") + "over the limit of " + maxSize
                + " bytes (loadlevel.producer.max-body-size); send a smaller payload");
    }
}
