package io.loadlevel.common.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.loadlevel.common.redis.StoreConnection.StoreUnavailableException;
import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.PrivateRedis;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shared store connection and its scripts against the real Redis, and a private one that comes and goes. */
class StoreConnectionIntegrationTests {

    private static RedisClient client;

    @BeforeAll
    static void createClient() {
        LocalServices.Endpoints endpoints = LocalServices.endpoints();
        client = RedisClient.create(RedisURI.create(endpoints.redisHost(), endpoints.redisPort()));
    }

    @AfterAll
    static void shutDownClient() {
        client.shutdown();
    }

    @Test
    void uncachedScriptIsLoadedOnce() {
        // A comment with a new id makes a script that this Redis has never cached.
        LuaScript<Long> script = LuaScript.returningInteger("-- " + UUID.randomUUID() + "\nreturn #ARGV + #KEYS");
        try (StoreConnection connection = connection(Duration.ofSeconds(2))) {
            assertThat(scriptExists(connection, script)).isFalse();

            Long first = connection.await(connection.call(redis -> script.run(redis, new String[] {"k"}, "a", "b")));

            assertThat(first).isEqualTo(3L);
            assertThat(scriptExists(connection, script)).isTrue();
            Long second = connection.await(connection.call(redis -> script.run(redis, new String[0], "a")));
            assertThat(second).isEqualTo(1L);
        }
    }

    @Test
    void listReplyKeepsStringsAndIntegers() {
        LuaScript<List<Object>> script = LuaScript.returningList("return {ARGV[1], 7}");
        try (StoreConnection connection = connection(Duration.ofSeconds(2))) {
            List<Object> reply = connection.await(connection.call(redis -> script.run(redis, new String[0], "text")));

            assertThat(reply).containsExactly("text", 7L);
        }
    }

    @Test
    void scriptErrorFailsTheCall() {
        LuaScript<Long> script = LuaScript.returningInteger("return redis.call('INCR', KEYS[1])");
        String key = "loadlevel:test:not-a-number:" + UUID.randomUUID();
        try (StoreConnection connection = connection(Duration.ofSeconds(2))) {
            connection.await(connection.call(redis -> redis.set(key, "text")));
            try {
                assertThatThrownBy(() ->
                                connection.await(connection.call(redis -> script.run(redis, new String[] {key}))))
                        .hasMessageContaining("not an integer");
            } finally {
                connection.await(connection.call(redis -> redis.del(key)));
            }
        }
    }

    @Test
    void slowCallTimesOut() {
        try (StoreConnection connection = connection(Duration.ofMillis(200))) {
            // BLPOP on a key that no test pushes to replies only after its one-second timeout.
            CompletableFuture<?> call =
                    connection.call(redis -> redis.blpop(1, "loadlevel:test:never-pushed:" + UUID.randomUUID()));

            assertThatThrownBy(call::join).hasCauseInstanceOf(TimeoutException.class);
            assertThatThrownBy(() -> connection.await(call)).isInstanceOf(StoreUnavailableException.class);
        }
    }

    @Test
    void connectsOnceRedisIsUp() throws Exception {
        try (PrivateRedis redis = PrivateRedis.launch()) {
            redis.stop();
            RedisClient privateClient = RedisClient.create(RedisURI.create("127.0.0.1", redis.port()));
            AtomicInteger attempts = new AtomicInteger();
            try (StoreConnection connection = new StoreConnection(
                    () -> {
                        attempts.incrementAndGet();
                        return privateClient.connect(StringCodec.UTF8);
                    },
                    Duration.ofSeconds(2))) {
                assertThat(attempts).hasValue(0);

                assertThatThrownBy(() -> connection.await(connection.call(commands -> commands.ping())))
                        .hasMessageContaining("Unable to connect");
                assertThatThrownBy(() -> connection.await(connection.call(commands -> commands.ping())))
                        .as("a second call within the reconnect interval does not try again")
                        .hasMessageContaining("Unable to connect");
                assertThat(attempts).hasValue(1);
                assertThat(connection.isConnected()).isFalse();

                redis.start();

                await().atMost(Duration.ofSeconds(10))
                        .ignoreExceptions()
                        .until(() -> "PONG".equals(connection.await(connection.call(commands -> commands.ping()))));
                assertThat(connection.isConnected()).isTrue();
                assertThat(attempts.get()).isGreaterThan(1);
            } finally {
                privateClient.shutdown();
            }
        }
    }

    private static StoreConnection connection(Duration timeout) {
        return new StoreConnection(() -> client.connect(StringCodec.UTF8), timeout);
    }

    private static boolean scriptExists(StoreConnection connection, LuaScript<?> script) {
        return connection
                .await(connection.call(redis -> redis.scriptExists(script.digest())))
                .get(0);
    }
}
