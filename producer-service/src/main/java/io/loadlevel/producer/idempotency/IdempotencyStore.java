package io.loadlevel.producer.idempotency;

import io.loadlevel.common.redis.LuaScript;
import io.loadlevel.common.redis.StoreConnection;
import io.loadlevel.producer.ProducerProperties;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.springframework.stereotype.Component;

/**
 * Idempotency keys in Redis: one hash per client and key, holding the request id the key was first used for, the
 * SHA-256 of that request's body, and whether its publish is still pending or was accepted.
 *
 * <p>The claim is one atomic script, so of several concurrent requests with the same key exactly one gets to publish;
 * the others see its id. A publish the broker rejected releases the claim so a retry can publish. A publish the broker
 * may have stored without confirming leaves the claim uncertain, and a retry publishes again with the same request id.
 * Every entry has the configured TTL; a key reused after it expired is a new request.
 */
@Component
public class IdempotencyStore {

    private static final String KEY_PREFIX = "loadlevel:idempotency:";

    private static final LuaScript<List<Object>> CLAIM = LuaScript.returningList("""
            local existing = redis.call('HMGET', KEYS[1], 'state', 'id', 'fingerprint')
            if existing[1] == 'unknown' then
              redis.call('HSET', KEYS[1], 'state', 'pending')
              redis.call('PEXPIRE', KEYS[1], ARGV[3])
              return {'retry', existing[2], existing[3]}
            end
            if existing[1] then
              return existing
            end
            redis.call('HSET', KEYS[1], 'state', 'pending', 'id', ARGV[1], 'fingerprint', ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return {'new', ARGV[1], ARGV[2]}
            """);

    private static final LuaScript<Long> ACCEPT = LuaScript.returningInteger("""
            if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then
              redis.call('HSET', KEYS[1], 'state', 'accepted')
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
              return 1
            end
            return 0
            """);

    private static final LuaScript<Long> MARK_UNKNOWN = LuaScript.returningInteger("""
            if redis.call('HGET', KEYS[1], 'id') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'pending' then
              redis.call('HSET', KEYS[1], 'state', 'unknown')
              return 1
            end
            return 0
            """);

    private static final LuaScript<Long> RELEASE = LuaScript.returningInteger("""
            if redis.call('HGET', KEYS[1], 'id') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'pending' then
              return redis.call('DEL', KEYS[1])
            end
            return 0
            """);

    private final StoreConnection redis;
    private final ProducerProperties properties;

    IdempotencyStore(StoreConnection redis, ProducerProperties properties) {
        this.redis = redis;
        this.properties = properties;
    }

    /** State of an idempotency key after a claim. */
    public enum State {
        /** This request claimed the key and must publish. */
        NEW,
        /**
         * An earlier publish with the key may have been stored without a confirm. This request publishes again with the
         * earlier request id, so the consumer's processed ledger deduplicates the two.
         */
        RETRY,
        /** Another request with the key is publishing now. */
        PENDING,
        /** A request with the key was accepted before. */
        ACCEPTED
    }

    /**
     * @param requestId the id of the request that claimed the key first
     * @param fingerprint SHA-256 of that request's body, hex-encoded
     */
    public record Claim(State state, UUID requestId, String fingerprint) {}

    /** Claims the key for a new request id, or completes with the claim another request holds. */
    public CompletableFuture<Claim> claim(String client, String key, UUID requestId, String fingerprint) {
        String[] keys = {redisKey(client, key)};
        return redis.call(commands -> CLAIM.run(commands, keys, requestId.toString(), fingerprint, ttlMillis()))
                .thenApply(IdempotencyStore::toClaim);
    }

    /** Marks the claim of {@code requestId} as accepted and renews its TTL. */
    public CompletableFuture<Void> accept(String client, String key, UUID requestId) {
        String[] keys = {redisKey(client, key)};
        return redis.call(commands -> ACCEPT.run(commands, keys, requestId.toString(), ttlMillis()))
                .thenAccept(ignored -> {});
    }

    /**
     * Marks the pending claim of {@code requestId} as uncertain after a publish that the broker may have stored
     * without confirming it; the next request with the key publishes again with the same id.
     */
    public CompletableFuture<Void> markUnknown(String client, String key, UUID requestId) {
        String[] keys = {redisKey(client, key)};
        return redis.call(commands -> MARK_UNKNOWN.run(commands, keys, requestId.toString()))
                .thenAccept(ignored -> {});
    }

    /** Deletes the pending claim of {@code requestId}, so that a retry with the same key can publish. */
    public CompletableFuture<Void> release(String client, String key, UUID requestId) {
        String[] keys = {redisKey(client, key)};
        return redis.call(commands -> RELEASE.run(commands, keys, requestId.toString()))
                .thenAccept(ignored -> {});
    }

    /** Returns the hex-encoded SHA-256 of a request body. */
    public static String fingerprint(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("every Java runtime provides SHA-256", ex);
        }
    }

    private String ttlMillis() {
        return Long.toString(properties.idempotencyTtl().toMillis());
    }

    /** Hashes the key so that any client-chosen key makes a Redis key of bounded length. */
    private static String redisKey(String client, String key) {
        return KEY_PREFIX + client + ":" + fingerprint(key.getBytes(StandardCharsets.UTF_8));
    }

    private static Claim toClaim(List<Object> reply) {
        State state = switch (String.valueOf(reply.get(0))) {
            case "new" -> State.NEW;
            case "retry" -> State.RETRY;
            case "pending" -> State.PENDING;
            default -> State.ACCEPTED;
        };
        return new Claim(state, UUID.fromString(String.valueOf(reply.get(1))), String.valueOf(reply.get(2)));
    }
}
