package io.loadlevel.producer.publish;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.AmqpException;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.core.RabbitOperations;
import org.springframework.amqp.rabbit.core.RabbitTemplate;

/**
 * A fixed number of publishing threads ("lanes"), each sending on one channel that it keeps while it has work.
 *
 * <p>With correlated confirms, Spring AMQP's channel cache takes a channel back only after all of its confirms have
 * arrived, and hands each returned channel to a task that waits for them. Requests that each call
 * {@link RabbitTemplate#send} therefore spread over about one channel per request in flight, each with one confirm
 * outstanding, and pay a checkout, a return and a waiting task per message. A lane instead keeps its channel through
 * {@link RabbitTemplate#invoke} and sends everything queued for it in a row, so the broker gets a few channels with
 * many confirms in flight. Confirms, returns and the correlation stay with the template.
 *
 * <p>A lane releases its channel after one idle second and after a failed send, and takes a new one for the next
 * message. While the broker cannot be reached, every message waiting at that moment fails with the same error, so
 * callers get their answer at once rather than after the confirm timeout.
 */
final class PublishLanes implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PublishLanes.class);
    private static final Duration IDLE_RELEASE = Duration.ofSeconds(1);

    private final RabbitTemplate rabbitTemplate;
    private final BlockingQueue<Outgoing> queue;
    private final int capacity;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    /**
     * Starts the lanes.
     *
     * @param lanes number of publishing threads, and so of channels in use at most
     * @param capacity messages that may wait for a lane, beyond which a send fails with {@link LanesFullException}
     */
    PublishLanes(RabbitTemplate rabbitTemplate, int lanes, int capacity) {
        this.rabbitTemplate = rabbitTemplate;
        this.queue = new LinkedBlockingQueue<>(capacity);
        this.capacity = capacity;
        for (int i = 1; i <= lanes; i++) {
            Thread thread = new Thread(this::run, "publish-lane-" + i);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /**
     * Queues a message for the next free lane. The returned future completes once the message is written to a
     * channel, or exceptionally with the {@link AmqpException} that prevented it. The confirm then arrives on the
     * correlation's own future.
     */
    CompletableFuture<Void> send(String exchange, String routingKey, Message message, CorrelationData correlation) {
        Outgoing outgoing = new Outgoing(exchange, routingKey, message, correlation, new CompletableFuture<>());
        if (!running) {
            outgoing.sent().completeExceptionally(new LanesClosedException());
        } else if (!queue.offer(outgoing)) {
            outgoing.sent().completeExceptionally(new LanesFullException(capacity));
        }
        return outgoing.sent();
    }

    /** Stops the lanes after they have sent what is queued, waiting at most {@code timeout} for them. */
    void close(Duration timeout) throws InterruptedException {
        running = false;
        threads.forEach(Thread::interrupt);
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread thread : threads) {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        failQueued(new LanesClosedException());
    }

    @Override
    public void close() throws InterruptedException {
        close(Duration.ofSeconds(5));
    }

    private void run() {
        while (true) {
            Outgoing first = running ? take() : queue.poll();
            if (first == null) {
                if (!running) {
                    return;
                }
                continue;
            }
            try {
                rabbitTemplate.invoke(operations -> {
                    sendUntilIdle(operations, first);
                    return null;
                });
            } catch (RuntimeException ex) {
                // Either no channel could be opened, or a send failed and the channel was left behind.
                first.sent().completeExceptionally(ex);
                int failed = failQueued(ex);
                log.debug(
                        "Publishing lane failed at request {}, and {} waiting messages failed with it",
                        first.correlation().getId(),
                        failed,
                        ex);
            }
        }
    }

    private Outgoing take() {
        try {
            return queue.take();
        } catch (InterruptedException ex) {
            return null;
        }
    }

    private void sendUntilIdle(RabbitOperations operations, Outgoing first) {
        Outgoing next = first;
        while (next != null) {
            try {
                operations.send(next.exchange(), next.routingKey(), next.message(), next.correlation());
            } catch (RuntimeException ex) {
                next.sent().completeExceptionally(ex);
                throw ex;
            }
            next.sent().complete(null);
            next = running ? poll() : queue.poll();
        }
    }

    private Outgoing poll() {
        try {
            return queue.poll(IDLE_RELEASE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException ex) {
            return queue.poll();
        }
    }

    private int failQueued(Throwable error) {
        int failed = 0;
        for (Outgoing waiting = queue.poll(); waiting != null; waiting = queue.poll()) {
            waiting.sent().completeExceptionally(error);
            failed++;
        }
        return failed;
    }

    private record Outgoing(
            String exchange,
            String routingKey,
            Message message,
            CorrelationData correlation,
            CompletableFuture<Void> sent) {}

    /** Thrown into a send's future when more messages wait for a lane than the lanes' capacity allows. */
    static final class LanesFullException extends AmqpException {

        LanesFullException(int capacity) {
            super(capacity + " messages already wait for a publishing channel, so the broker is not keeping up."
                    + " Retry later.");
        }
    }

    /** Thrown into a send's future when the service is shutting down. */
    static final class LanesClosedException extends AmqpException {

        LanesClosedException() {
            super("the producer is shutting down and publishes no more messages. Retry on another instance.");
        }
    }
}
