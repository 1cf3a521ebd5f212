package io.loadlevel.common.status;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.redis.LuaScript;
import io.loadlevel.common.redis.StoreConnection;
import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Reads and advances request status in Redis: one hash per request under {@code key-prefix + id}, plus, once a
 * consumer has applied a request's effect, a processed-ledger key and an effect counter.
 *
 * <p>Every write goes through one Lua script, so the monotonic rule of {@link RequestStatus#canMoveTo} applies even when
 * the producer's ACCEPTED arrives after the consumer's PROCESSING, and so the ledger entry, the effect counter and
 * COMPLETED are written together or not at all. Every write renews the TTL of the keys it touches. The calls are
 * non-blocking; listener threads that may wait use {@link #await}.
 */
public class RequestStatusStore {

    private static final String MODE_ADVANCE = "advance";
    private static final String MODE_COMPLETE_ONCE = "complete-once";
    private static final String MODE_REOPEN = "reopen";

    /** Script result when the processed ledger already had the request, so nothing was written. */
    private static final long ALREADY_PROCESSED = 2L;

    private static final LuaScript<Long> WRITE = LuaScript.returningInteger("""
            local mode = ARGV[7]
            if mode == 'complete-once' then
              if redis.call('EXISTS', KEYS[2]) == 1 then
                return 2
              end
              redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
              redis.call('INCR', KEYS[3])
              redis.call('PEXPIRE', KEYS[3], ARGV[3])
            end
            for i = 9, #ARGV, 2 do
              redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
            end
            local status = redis.call('HGET', KEYS[1], 'status')
            local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '-1')
            local rank = tonumber(ARGV[2])
            local applied = 0
            if mode == 'reopen' then
              if status == 'DEAD_LETTERED' then
                redis.call('HSET', KEYS[1], 'status', ARGV[1], 'rank', ARGV[2], 'updatedAt', ARGV[4])
                redis.call('HDEL', KEYS[1], 'completedAt')
                redis.call('HINCRBY', KEYS[1], 'replays', 1)
                applied = 1
              end
            elseif rank > current or (rank == current and rank < tonumber(ARGV[5])) then
              redis.call('HSET', KEYS[1], 'status', ARGV[1], 'rank', ARGV[2], 'updatedAt', ARGV[4])
              if ARGV[6] ~= '' then
                redis.call('HSET', KEYS[1], ARGV[6], ARGV[4])
              end
              if ARGV[8] ~= '' then
                redis.call('HSET', KEYS[1], 'lastError', ARGV[8])
              end
              if ARGV[1] == 'PROCESSING' then
                redis.call('HINCRBY', KEYS[1], 'attempts', 1)
              end
              applied = 1
            end
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return applied
            """);

    private static final LuaScript<Long> BEGIN = LuaScript.returningInteger("""
            if redis.call('EXISTS', KEYS[2]) == 1 then
              return -1
            end
            for i = 5, #ARGV, 2 do
              redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
            end
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            if tonumber(redis.call('HGET', KEYS[1], 'rank') or '-1') >= 2 then
              return -2
            end
            local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
            if attempts - tonumber(ARGV[3]) >= tonumber(ARGV[4]) then
              return -3
            end
            redis.call('HSET', KEYS[1], 'status', 'PROCESSING', 'rank', 1, 'updatedAt', ARGV[1], 'startedAt', ARGV[1])
            return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
            """);

    private final StoreConnection redis;
    private final StatusProperties properties;
    private final Clock clock;

    public RequestStatusStore(StoreConnection redis, StatusProperties properties, Clock clock) {
        this.redis = redis;
        this.properties = properties;
        this.clock = clock;
    }

    /**
     * Moves the request to {@code status} if the monotonic rule allows it, and completes with whether it moved. The
     * type, key and accepted-at of the envelope are stored with the first write and never overwritten.
     */
    public CompletableFuture<Boolean> advance(RequestEnvelope envelope, RequestStatus status) {
        return advance(envelope, status, null);
    }

    /** Like {@link #advance(RequestEnvelope, RequestStatus)}, and stores {@code lastError} when the status moves. */
    public CompletableFuture<Boolean> advance(RequestEnvelope envelope, RequestStatus status, String lastError) {
        return write(envelope, status, MODE_ADVANCE, lastError).thenApply(result -> result == 1L);
    }

    /**
     * Records that the request's effect was applied and moves it to COMPLETED, unless the processed ledger already has
     * it. Completes with false for a request whose effect was applied before, so its caller must not apply it again.
     * The ledger entry, one increment of the effect counter and the status change are one atomic step.
     */
    public CompletableFuture<Boolean> completeOnce(RequestEnvelope envelope) {
        return write(envelope, RequestStatus.COMPLETED, MODE_COMPLETE_ONCE, null)
                .thenApply(result -> result != ALREADY_PROCESSED);
    }

    /**
     * Moves the request to PROCESSING for one more attempt, unless that attempt must not start, in one atomic step.
     *
     * @param finishedAttempts attempts that ended in a recorded failure, as the message's retry header counts them
     * @param maxUnfinishedStarts maximum number of starts that never finished, because a consumer crashed or was
     *     killed during them, before the request is dead-lettered instead of started again
     */
    public CompletableFuture<Start> begin(RequestEnvelope envelope, int finishedAttempts, int maxUnfinishedStarts) {
        String[] keys = {keyOf(envelope.id()), ledgerKeyOf(envelope.id())};
        String[] args = withIdentity(
                envelope,
                Long.toString(clock.millis()),
                Long.toString(properties.ttl().toMillis()),
                Integer.toString(finishedAttempts),
                Integer.toString(maxUnfinishedStarts));
        return redis.call(commands -> BEGIN.run(commands, keys, args)).thenApply(Start::of);
    }

    /**
     * Outcome of {@link #begin}.
     *
     * @param attempt number of this attempt, counting every start; 0 unless {@code kind} is STARTED
     */
    public record Start(Kind kind, int attempt) {

        /** Action the consumer takes on the delivery. */
        public enum Kind {
            /** PROCESSING is recorded: run the handler. */
            STARTED,
            /** The effect was applied before: ack without running the handler again. */
            ALREADY_PROCESSED,
            /** The request is DEAD_LETTERED or COMPLETED already: ack without running the handler. */
            ALREADY_TERMINAL,
            /** Too many starts never finished: dead-letter the message instead of starting it again. */
            TOO_MANY_UNFINISHED_STARTS
        }

        static Start of(long result) {
            if (result == -1) {
                return new Start(Kind.ALREADY_PROCESSED, 0);
            }
            if (result == -2) {
                return new Start(Kind.ALREADY_TERMINAL, 0);
            }
            if (result == -3) {
                return new Start(Kind.TOO_MANY_UNFINISHED_STARTS, 0);
            }
            return new Start(Kind.STARTED, (int) result);
        }
    }

    /** Completes with whether the processed ledger has the request, that is whether its effect was applied. */
    public CompletableFuture<Boolean> isProcessed(UUID id) {
        return redis.call(commands -> commands.exists(ledgerKeyOf(id))).thenApply(count -> count > 0);
    }

    /**
     * Moves a DEAD_LETTERED request back to ACCEPTED for a replay, the one transition against the monotonic rule, and
     * completes with whether it moved. Any other status is left as it is.
     */
    public CompletableFuture<Boolean> reopen(RequestEnvelope envelope) {
        return write(envelope, RequestStatus.ACCEPTED, MODE_REOPEN, null).thenApply(result -> result == 1L);
    }

    /** Completes with the stored status, or empty when the id is unknown or its entry has expired. */
    public CompletableFuture<Optional<RequestStatusRecord>> find(UUID id) {
        return redis.call(commands -> commands.hgetall(keyOf(id)))
                .thenApply(hash -> hash.isEmpty()
                        ? Optional.<RequestStatusRecord>empty()
                        : Optional.of(RequestStatusRecord.fromHash(id, hash)));
    }

    /**
     * Waits for a call of this store for up to the configured timeout, for callers on threads that may block.
     *
     * @throws RuntimeException the call's failure, for example a Redis connection failure or a timeout
     */
    public <T> T await(CompletableFuture<T> call) {
        return redis.await(call);
    }

    /** Blocking form of {@link #advance(RequestEnvelope, RequestStatus)}. */
    public boolean advanceAndWait(RequestEnvelope envelope, RequestStatus status) {
        return Boolean.TRUE.equals(await(advance(envelope, status)));
    }

    String keyOf(UUID id) {
        return properties.keyPrefix() + id;
    }

    String ledgerKeyOf(UUID id) {
        return properties.ledgerKeyPrefix() + id;
    }

    String effectKeyOf(UUID id) {
        return properties.effectKeyPrefix() + id;
    }

    private CompletableFuture<Long> write(
            RequestEnvelope envelope, RequestStatus status, String mode, String lastError) {
        String[] keys = {keyOf(envelope.id()), ledgerKeyOf(envelope.id()), effectKeyOf(envelope.id())};
        String[] args = withIdentity(
                envelope,
                status.name(),
                Integer.toString(status.rank()),
                Long.toString(properties.ttl().toMillis()),
                Long.toString(clock.millis()),
                Integer.toString(RequestStatus.TERMINAL_RANK),
                timestampField(status),
                mode,
                lastError == null ? "" : lastError);
        return redis.call(commands -> WRITE.run(commands, keys, args));
    }

    /** Appends the type, key and accepted-at of the envelope, as field and value pairs, to the script's arguments. */
    private static String[] withIdentity(RequestEnvelope envelope, String... args) {
        String[] all = Arrays.copyOf(args, args.length + 6);
        all[args.length] = "type";
        all[args.length + 1] = envelope.type().wireName();
        all[args.length + 2] = "key";
        all[args.length + 3] = envelope.key();
        all[args.length + 4] = "acceptedAt";
        all[args.length + 5] = Long.toString(envelope.acceptedAt().toEpochMilli());
        return all;
    }

    private static String timestampField(RequestStatus status) {
        return switch (status) {
            case ACCEPTED, RETRYING -> "";
            case PROCESSING -> "startedAt";
            case COMPLETED, DEAD_LETTERED -> "completedAt";
        };
    }
}
