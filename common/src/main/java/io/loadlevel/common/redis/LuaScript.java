package io.loadlevel.common.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Lua script that Redis runs by its SHA-1 digest, so each call sends the digest instead of the source. When Redis has
 * no script for the digest, after a restart or a {@code SCRIPT FLUSH}, the call sends the source once and Redis caches
 * it again.
 *
 * @param <T> the reply: {@link Long} for an integer, {@code List<Object>} for an array
 */
public final class LuaScript<T> {

    private final String source;
    private final String digest;
    private final ScriptOutputType outputType;

    private LuaScript(String source, ScriptOutputType outputType) {
        this.source = source;
        this.digest = sha1(source);
        this.outputType = outputType;
    }

    /** A script that returns an integer. */
    public static LuaScript<Long> returningInteger(String source) {
        return new LuaScript<>(source, ScriptOutputType.INTEGER);
    }

    /** A script that returns an array of strings and integers. */
    public static LuaScript<List<Object>> returningList(String source) {
        return new LuaScript<>(source, ScriptOutputType.MULTI);
    }

    /** Runs the script with {@code EVALSHA}, and with {@code EVAL} when Redis does not have it cached. */
    public CompletableFuture<T> run(RedisAsyncCommands<String, String> redis, String[] keys, String... args) {
        return redis.<T>evalsha(digest, outputType, keys, args)
                .toCompletableFuture()
                .exceptionallyCompose(error -> unwrap(error) instanceof RedisNoScriptException
                        ? redis.<T>eval(source, outputType, keys, args).toCompletableFuture()
                        : CompletableFuture.failedFuture(error));
    }

    String digest() {
        return digest;
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    private static String sha1(String source) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("every Java runtime provides SHA-1", ex);
        }
    }
}
