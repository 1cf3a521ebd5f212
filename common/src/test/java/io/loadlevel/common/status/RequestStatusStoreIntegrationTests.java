package io.loadlevel.common.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestType;
import io.loadlevel.common.redis.StoreConnection;
import io.loadlevel.common.test.LocalServices;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import tools.jackson.databind.json.JsonMapper;

/** The status script against the real Redis. */
class RequestStatusStoreIntegrationTests {

    private static final Duration TTL = Duration.ofMinutes(10);

    private static LettuceConnectionFactory connectionFactory;
    private static ReactiveStringRedisTemplate redis;
    private static RedisClient client;
    private static StoreConnection storeConnection;
    private static RequestStatusStore store;

    @BeforeAll
    static void connect() {
        LocalServices.Endpoints endpoints = LocalServices.endpoints();
        connectionFactory = new LettuceConnectionFactory(endpoints.redisHost(), endpoints.redisPort());
        connectionFactory.afterPropertiesSet();
        connectionFactory.start();
        redis = new ReactiveStringRedisTemplate(connectionFactory);
        client = RedisClient.create(RedisURI.create(endpoints.redisHost(), endpoints.redisPort()));
        storeConnection = new StoreConnection(() -> client.connect(StringCodec.UTF8), Duration.ofSeconds(2));
        store = new RequestStatusStore(
                storeConnection,
                new StatusProperties(
                        TTL,
                        "loadlevel:test:status:",
                        "loadlevel:test:processed:",
                        "loadlevel:test:effect:",
                        Duration.ofSeconds(2)),
                Clock.systemUTC());
    }

    @AfterAll
    static void disconnect() {
        storeConnection.close();
        client.shutdown();
        connectionFactory.destroy();
    }

    @Test
    void lifecycleIsStoredWithTimestampsAndAttempts() {
        RequestEnvelope envelope = envelope();

        store.advance(envelope, RequestStatus.ACCEPTED).join();
        store.advance(envelope, RequestStatus.PROCESSING).join();
        store.advance(envelope, RequestStatus.COMPLETED).join();

        RequestStatusRecord record = store.find(envelope.id()).join().orElseThrow();
        assertThat(record.status()).isEqualTo(RequestStatus.COMPLETED);
        assertThat(record.attempts()).isEqualTo(1);
        assertThat(record.type()).isEqualTo(RequestType.NOTIFICATION);
        assertThat(record.key()).isEqualTo("user-1");
        assertThat(record.acceptedAt()).isEqualTo(envelope.acceptedAt());
        assertThat(record.startedAt()).isNotNull();
        assertThat(record.completedAt()).isAfterOrEqualTo(record.startedAt());
    }

    @Test
    void lateAcceptedDoesNotOverwriteProcessing() {
        RequestEnvelope envelope = envelope();
        store.advance(envelope, RequestStatus.PROCESSING).join();

        boolean applied = store.advance(envelope, RequestStatus.ACCEPTED).join();

        assertThat(applied).isFalse();
        assertThat(store.find(envelope.id()).join().orElseThrow().status()).isEqualTo(RequestStatus.PROCESSING);
    }

    @ParameterizedTest
    @EnumSource(
            value = RequestStatus.class,
            names = {"ACCEPTED", "PROCESSING", "RETRYING", "DEAD_LETTERED"})
    void completedNeverMovesBack(RequestStatus late) {
        RequestEnvelope envelope = envelope();
        store.advance(envelope, RequestStatus.PROCESSING).join();
        store.advance(envelope, RequestStatus.COMPLETED).join();

        boolean applied = store.advance(envelope, late).join();

        RequestStatusRecord record = store.find(envelope.id()).join().orElseThrow();
        assertThat(applied).isFalse();
        assertThat(record.status()).isEqualTo(RequestStatus.COMPLETED);
        assertThat(record.attempts()).isEqualTo(1);
    }

    @Test
    void redeliveryCountsAnotherAttempt() {
        RequestEnvelope envelope = envelope();
        store.advance(envelope, RequestStatus.PROCESSING).join();

        store.advance(envelope, RequestStatus.PROCESSING).join();

        assertThat(store.find(envelope.id()).join().orElseThrow().attempts()).isEqualTo(2);
    }

    @Test
    void everyWriteSetsTheTtl() {
        RequestEnvelope envelope = envelope();

        store.advance(envelope, RequestStatus.ACCEPTED).join();

        Duration ttl = redis.getExpire(store.keyOf(envelope.id())).block();
        assertThat(ttl).isPositive().isLessThanOrEqualTo(TTL);
    }

    @Test
    void completeOnceAppliesTheEffectOnlyOnce() {
        RequestEnvelope envelope = envelope();
        store.advance(envelope, RequestStatus.PROCESSING).join();

        boolean first = store.completeOnce(envelope).join();
        boolean second = store.completeOnce(envelope).join();

        assertThat(first).isTrue();
        assertThat(second).isFalse();
        assertThat(redis.opsForValue().get(store.effectKeyOf(envelope.id())).block())
                .isEqualTo("1");
        assertThat(store.isProcessed(envelope.id()).join()).isTrue();
        assertThat(store.find(envelope.id()).join().orElseThrow().status()).isEqualTo(RequestStatus.COMPLETED);
        assertThat(redis.getExpire(store.ledgerKeyOf(envelope.id())).block()).isPositive();
        assertThat(redis.getExpire(store.effectKeyOf(envelope.id())).block()).isPositive();
    }

    @Test
    void unprocessedRequestIsNotInLedger() {
        assertThat(store.isProcessed(UUID.randomUUID()).join()).isFalse();
    }

    @Test
    void failureReasonIsStoredWithTheStatus() {
        RequestEnvelope envelope = envelope();

        store.advance(envelope, RequestStatus.RETRYING, "downstream timed out").join();

        assertThat(store.find(envelope.id()).join().orElseThrow().lastError()).isEqualTo("downstream timed out");
    }

    @Test
    void reopenMovesDeadLetteredBackToAccepted() {
        RequestEnvelope envelope = envelope();
        store.advance(envelope, RequestStatus.DEAD_LETTERED).join();

        boolean reopened = store.reopen(envelope).join();

        RequestStatusRecord record = store.find(envelope.id()).join().orElseThrow();
        assertThat(reopened).isTrue();
        assertThat(record.status()).isEqualTo(RequestStatus.ACCEPTED);
        assertThat(record.replays()).isEqualTo(1);
        assertThat(record.completedAt()).isNull();
    }

    @Test
    void reopenLeavesCompletedAlone() {
        RequestEnvelope envelope = envelope();
        store.advance(envelope, RequestStatus.COMPLETED).join();

        boolean reopened = store.reopen(envelope).join();

        assertThat(reopened).isFalse();
        assertThat(store.find(envelope.id()).join().orElseThrow().status()).isEqualTo(RequestStatus.COMPLETED);
    }

    @Test
    void unknownIdIsEmpty() {
        assertThat(store.find(UUID.randomUUID()).join()).isEmpty();
    }

    private static RequestEnvelope envelope() {
        return new RequestEnvelope(
                UUID.randomUUID(),
                RequestType.NOTIFICATION,
                "user-1",
                JsonMapper.builder().build().createObjectNode(),
                Instant.ofEpochMilli(System.currentTimeMillis()));
    }
}
