package io.loadlevel.producer.publish;

/** Outcome of one publish: confirmed and routed, or rejected with a reason. */
public sealed interface PublishResult {

    record Confirmed() implements PublishResult {}

    /**
     * @param detail what the broker or client library reported, for the problem detail and the log
     */
    record Rejected(RejectionReason reason, String detail) implements PublishResult {}
}
