package io.loadlevel.consumer.handler;

/**
 * Asks the listener to behave as if the consumer process died during the work: it closes its channel without an ack,
 * so the broker returns the message and every prefetched one to the queue.
 */
public class SimulatedCrashException extends RuntimeException {

    public SimulatedCrashException(String message) {
        super(message);
    }
}
