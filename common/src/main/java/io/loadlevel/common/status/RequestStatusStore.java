package io.loadlevel.common.status;

import io.loadlevel.common.RequestEnvelope;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;

/**
 * Reads and advances request status in Redis, one hash per request under {@code key-prefix + id}.
 *
 * <p>Every write goes through one Lua script, so the monotonic rule of {@link RequestStatus#canMoveTo} holds even when
 * the producer's ACCEPTED arrives after the consumer's PROCESSING. Every write also renews the hash's TTL. The calls
 * are non-blocking; callers on a platform thread that may wait use {@link #advanceAndWait}.
 */
public class RequestStatusStore {

    private static final RedisScript<Long> ADVANCE = RedisScript.of("""
            local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '-1')
            local rank = tonumber(ARGV[2])
            for i = 7, #ARGV, 2 do
              redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
            end
            local applied = 0
            if rank > current or (rank == current and rank < tonumber(ARGV[5])) then
              redis.call('HSET', KEYS[1], 'status', ARGV[1], 'rank', ARGV[2], 'updatedAt', ARGV[4])
              if ARGV[6] ~= '' then
                redis.call('HSET', KEYS[1], ARGV[6], ARGV[4])
              end
              if ARGV[1] == 'PROCESSING' then
                redis.call('HINCRBY', KEYS[1], 'attempts', 1)
              end
              applied = 1
            end
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return applied
            """, Long.class);

    private final ReactiveStringRedisTemplate redis;
    private final StatusProperties properties;
    private final Clock clock;

    public RequestStatusStore(ReactiveStringRedisTemplate redis, StatusProperties properties, Clock clock) {
        this.redis = redis;
        this.properties = properties;
        this.clock = clock;
    }

    /**
     * Moves the request to {@code status} if the monotonic rule allows it, and completes with whether it moved. The
     * type, key and accepted-at of the envelope are stored with the first write and never overwritten.
     */
    public CompletableFuture<Boolean> advance(RequestEnvelope envelope, RequestStatus status) {
        List<String> args = new ArrayList<>(List.of(
                status.name(),
                Integer.toString(status.rank()),
                Long.toString(properties.ttl().toMillis()),
                Long.toString(clock.millis()),
                Integer.toString(RequestStatus.TERMINAL_RANK),
                timestampField(status)));
        args.addAll(List.of("type", envelope.type().wireName()));
        args.addAll(List.of("key", envelope.key()));
        args.addAll(List.of("acceptedAt", Long.toString(envelope.acceptedAt().toEpochMilli())));
        return redis.execute(ADVANCE, List.of(keyOf(envelope.id())), args)
                .next()
                .map(applied -> applied == 1L)
                .timeout(properties.timeout())
                .toFuture();
    }

    /** Blocking form of {@link #advance} for listener threads, bounded by the configured timeout. */
    public boolean advanceAndWait(RequestEnvelope envelope, RequestStatus status) {
        return Boolean.TRUE.equals(Mono.fromFuture(() -> advance(envelope, status))
                .block(properties.timeout().plusMillis(100)));
    }

    /** Completes with the stored status, or empty when the id is unknown or its entry has expired. */
    public CompletableFuture<Optional<RequestStatusRecord>> find(UUID id) {
        return redis.<String, String>opsForHash()
                .entries(keyOf(id))
                .collectMap(Map.Entry::getKey, Map.Entry::getValue)
                .timeout(properties.timeout())
                .map(hash -> hash.isEmpty()
                        ? Optional.<RequestStatusRecord>empty()
                        : Optional.of(RequestStatusRecord.fromHash(id, hash)))
                .toFuture();
    }

    String keyOf(UUID id) {
        return properties.keyPrefix() + id;
    }

    private static String timestampField(RequestStatus status) {
        return switch (status) {
            case ACCEPTED, RETRYING -> "";
            case PROCESSING -> "startedAt";
            case COMPLETED, DEAD_LETTERED -> "completedAt";
        };
    }
}
