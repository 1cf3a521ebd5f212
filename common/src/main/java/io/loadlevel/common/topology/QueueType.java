package io.loadlevel.common.topology;

/** RabbitMQ queue type of the work queue. */
public enum QueueType {
    /** Replicated Raft queue with a delivery limit for poison messages; the default. */
    QUORUM,
    /** Single-node queue, for brokers without quorum queue support or for throughput experiments. */
    CLASSIC
}
