package io.loadlevel.common.redis;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one Lettuce connection that the status and idempotency stores share, with their calls' timeout.
 *
 * <p>Lettuce pipelines the calls of every thread over this connection and reconnects it after Redis goes away. The
 * connection opens on first use, on a thread of its own, so a service starts while Redis is down and no caller's thread
 * runs the connect. Calls wait for an attempt in progress. After a failed attempt, calls fail at once until
 * {@link #RECONNECT_INTERVAL} has passed, and the next call then starts a new attempt.
 */
public final class StoreConnection implements AutoCloseable {

    static final Duration RECONNECT_INTERVAL = Duration.ofSeconds(1);
    private static final Logger log = LoggerFactory.getLogger(StoreConnection.class);

    private final Supplier<StatefulRedisConnection<String, String>> connector;
    private final Duration timeout;
    private final Object lock = new Object();
    private volatile StatefulRedisConnection<String, String> connection;
    private CompletableFuture<StatefulRedisConnection<String, String>> opening;
    private long lastAttemptNanos;

    /**
     * @param connector opens the connection, for example {@code () -> redisClient.connect(StringCodec.UTF8)}
     * @param timeout how long a call may take before it fails with a {@link TimeoutException}
     */
    public StoreConnection(Supplier<StatefulRedisConnection<String, String>> connector, Duration timeout) {
        this.connector = connector;
        this.timeout = timeout;
    }

    /** Runs one call on the connection; the result fails with a {@link TimeoutException} after the timeout. */
    public <T> CompletableFuture<T> call(Function<RedisAsyncCommands<String, String>, CompletionStage<T>> command) {
        StatefulRedisConnection<String, String> open = connection;
        CompletableFuture<T> result = open != null
                ? command.apply(open.async()).toCompletableFuture()
                : opened().thenCompose(opened -> command.apply(opened.async()));
        return result.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Waits for a call for up to the timeout, for callers on threads that may block. */
    public <T> T await(CompletableFuture<T> call) {
        try {
            return call.get(timeout.toMillis() + 100, TimeUnit.MILLISECONDS);
        } catch (ExecutionException ex) {
            Throwable cause = ex.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new StoreUnavailableException("Redis call failed: " + cause, cause);
        } catch (TimeoutException ex) {
            throw new StoreUnavailableException("Redis call timed out after " + timeout.toMillis() + " ms", ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while waiting for Redis", ex);
        }
    }

    /** Returns whether the connection has opened and is connected now. */
    public boolean isConnected() {
        StatefulRedisConnection<String, String> open = connection;
        return open != null && open.isOpen();
    }

    /** Closes the connection, unless the Lettuce client has closed it already when it stopped. */
    @Override
    public void close() {
        synchronized (lock) {
            if (connection != null && connection.isOpen()) {
                connection.close();
            }
        }
    }

    private CompletableFuture<StatefulRedisConnection<String, String>> opened() {
        synchronized (lock) {
            if (connection != null) {
                return CompletableFuture.completedFuture(connection);
            }
            boolean failed = opening != null && opening.isCompletedExceptionally();
            boolean mayRetry = System.nanoTime() - lastAttemptNanos >= RECONNECT_INTERVAL.toNanos();
            if (opening == null || failed && mayRetry) {
                lastAttemptNanos = System.nanoTime();
                opening = CompletableFuture.supplyAsync(this::connect, StoreConnection::startConnectThread);
            }
            return opening;
        }
    }

    private StatefulRedisConnection<String, String> connect() {
        StatefulRedisConnection<String, String> opened;
        try {
            opened = connector.get();
        } catch (RuntimeException ex) {
            log.warn(
                    "Connecting to Redis failed; the next store call tries again after {}: {}",
                    RECONNECT_INTERVAL,
                    ex.getMessage());
            throw ex;
        }
        synchronized (lock) {
            connection = opened;
        }
        return opened;
    }

    private static void startConnectThread(Runnable task) {
        Thread thread = new Thread(task, "loadlevel-redis-connect");
        thread.setDaemon(true);
        thread.start();
    }

    /** Failure of a call that did not finish: Redis was unreachable or slow, or the waiting thread was interrupted. */
    public static class StoreUnavailableException extends RuntimeException {

        StoreUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
