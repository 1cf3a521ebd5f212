package io.loadlevel.producer.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.LoadlevelHeaders;
import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.RequestType;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.TestTopology;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.core.RabbitAdmin;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The dead-letter admin endpoints against the real broker and Redis, with queues private to this class. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "loadlevel.admin.token=" + DeadLetterAdminIntegrationTests.TOKEN)
class DeadLetterAdminIntegrationTests {

    static final String TOKEN = "test-admin-token";
    private static final TestTopology TOPOLOGY = TestTopology.unique("admin");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @Autowired
    RabbitTemplate rabbitTemplate;

    @Autowired
    AmqpAdmin amqpAdmin;

    @Autowired
    RequestMessageCodec codec;

    @Autowired
    RequestStatusStore statusStore;

    @Autowired
    JsonMapper jsonMapper;

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry registry) {
        LocalServices.register(registry);
        TOPOLOGY.register(registry);
    }

    @AfterAll
    static void deleteTopology(@Autowired AmqpAdmin amqpAdmin) {
        TOPOLOGY.delete(amqpAdmin);
    }

    @BeforeEach
    void emptyQueues() {
        amqpAdmin.purgeQueue(TOPOLOGY.workQueue(), false);
        amqpAdmin.purgeQueue(TOPOLOGY.deadLetterQueue(), false);
    }

    @Test
    void listingShowsReasonsAndLeavesMessagesInPlace() throws Exception {
        List<RequestEnvelope> dead = deadLetter(3);

        HttpResponse<String> response = call("GET", "/admin/dead-letters?limit=10", null, TOKEN);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode listing = jsonMapper.readTree(response.body());
        assertThat(listing.get("count").intValue()).isEqualTo(3);
        assertThat(listing.get("messages")).hasSize(3);
        JsonNode first = listing.get("messages").get(0);
        assertThat(first.get("reason").stringValue()).isEqualTo("failed 4 of 4 attempts; last: timeout");
        assertThat(first.get("attempts").intValue()).isEqualTo(4);
        assertThat(first.get("originalQueue").stringValue()).isEqualTo(TOPOLOGY.workQueue());
        assertThat(dead.stream().map(envelope -> envelope.id().toString()))
                .contains(first.get("id").stringValue());
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(
                        () -> assertThat(depth(TOPOLOGY.deadLetterQueue())).isEqualTo(3));
    }

    @Test
    void replayByIdReopensStatus() throws Exception {
        List<RequestEnvelope> dead = deadLetter(3);
        RequestEnvelope chosen = dead.get(1);

        HttpResponse<String> response = call(
                "POST",
                "/admin/dead-letters/replay",
                "{\"ids\": [\"" + chosen.id() + "\", \"" + UUID.randomUUID() + "\"]}",
                TOKEN);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode result = jsonMapper.readTree(response.body());
        assertThat(result.get("replayed").intValue()).isEqualTo(1);
        assertThat(result.get("notFound")).hasSize(1);
        Message replayed = rabbitTemplate.receive(TOPOLOGY.workQueue(), 5_000);
        assertThat(replayed).isNotNull();
        assertThat(replayed.getMessageProperties().getMessageId())
                .isEqualTo(chosen.id().toString());
        assertThat(replayed.getMessageProperties().<Integer>getHeader(LoadlevelHeaders.REPLAYS))
                .isEqualTo(1);
        assertThat(replayed.getMessageProperties().<Object>getHeader(LoadlevelHeaders.DEAD_LETTER_REASON))
                .isNull();
        assertThat(replayed.getMessageProperties().<Object>getHeader(LoadlevelHeaders.ATTEMPTS))
                .isNull();
        assertThat(statusStore.find(chosen.id()).join().orElseThrow().status()).isEqualTo(RequestStatus.ACCEPTED);
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(
                        () -> assertThat(depth(TOPOLOGY.deadLetterQueue())).isEqualTo(2));
    }

    @Test
    void replayAllMovesEveryMessageUpToMax() throws Exception {
        deadLetter(4);

        HttpResponse<String> response = call(
                "POST", "/admin/dead-letters/replay", "{\"all\": true, \"max\": 3, \"ratePerSecond\": 100}", TOKEN);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(jsonMapper.readTree(response.body()).get("replayed").intValue())
                .isEqualTo(3);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(depth(TOPOLOGY.workQueue())).isEqualTo(3);
            assertThat(depth(TOPOLOGY.deadLetterQueue())).isEqualTo(1);
        });
    }

    @Test
    void unroutableReplayKeepsMessageAndStatus() throws Exception {
        RequestEnvelope envelope = deadLetter(1).get(0);
        amqpAdmin.deleteQueue(TOPOLOGY.workQueue());
        HttpResponse<String> response;
        try {
            response = call("POST", "/admin/dead-letters/replay", "{\"all\": true}", TOKEN);
        } finally {
            ((RabbitAdmin) amqpAdmin).initialize();
        }

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(jsonMapper.readTree(response.body()).get("detail").stringValue())
                .contains("unroutable");
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(
                        () -> assertThat(depth(TOPOLOGY.deadLetterQueue())).isEqualTo(1));
        assertThat(statusStore.find(envelope.id()).join().orElseThrow().status())
                .isEqualTo(RequestStatus.DEAD_LETTERED);
    }

    @Test
    void missingTokenGivesUnauthorized() throws Exception {
        HttpResponse<String> response = call("GET", "/admin/dead-letters", null, null);

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("WWW-Authenticate"))
                .hasValueSatisfying(value -> assertThat(value).startsWith("Bearer"));
    }

    @Test
    void wrongTokenGivesUnauthorizedAndReplaysNothing() throws Exception {
        deadLetter(1);

        HttpResponse<String> response = call("POST", "/admin/dead-letters/replay", "{\"all\": true}", "not-the-token");

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(depth(TOPOLOGY.deadLetterQueue())).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{}",
                "{\"all\": true, \"ids\": []}",
                "{\"ids\": [\"nope\"]}",
                "{\"all\": true, \"max\": 0}",
                "{\"all\": true, \"ratePerSecond\": 0}",
                "{\"all\": true, \"ratePerSecond\": 100000}"
            })
    void invalidReplayGivesBadRequest(String body) throws Exception {
        HttpResponse<String> response = call("POST", "/admin/dead-letters/replay", body, TOKEN);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(jsonMapper.readTree(response.body()).get("field")).isNotNull();
    }

    @Test
    void listLimitOutOfRangeGivesBadRequest() throws Exception {
        HttpResponse<String> response = call("GET", "/admin/dead-letters?limit=501", null, TOKEN);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(jsonMapper.readTree(response.body()).get("field").stringValue())
                .isEqualTo("limit");
    }

    /** Puts messages on the dead-letter queue as the consumer does after the last attempt, with DEAD_LETTERED status. */
    private List<RequestEnvelope> deadLetter(int count) {
        List<RequestEnvelope> envelopes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            RequestEnvelope envelope = new RequestEnvelope(
                    UUID.randomUUID(),
                    RequestType.PAYMENT,
                    "account-" + i,
                    jsonMapper.createObjectNode().put("amount", "1.00"),
                    Instant.ofEpochMilli(System.currentTimeMillis()));
            Message message = codec.toMessage(envelope);
            message.getMessageProperties().setHeader(LoadlevelHeaders.ATTEMPTS, 4);
            message.getMessageProperties()
                    .setHeader(LoadlevelHeaders.DEAD_LETTER_REASON, "failed 4 of 4 attempts; last: timeout");
            message.getMessageProperties().setHeader(LoadlevelHeaders.ORIGINAL_QUEUE, TOPOLOGY.workQueue());
            message.getMessageProperties().setHeader(LoadlevelHeaders.DEAD_LETTERED_AT, System.currentTimeMillis());
            rabbitTemplate.send(TOPOLOGY.deadLetterExchange(), TOPOLOGY.routingKey(), message);
            statusStore.advance(envelope, RequestStatus.DEAD_LETTERED).join();
            envelopes.add(envelope);
        }
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(
                        () -> assertThat(depth(TOPOLOGY.deadLetterQueue())).isEqualTo(count));
        return envelopes;
    }

    private long depth(String queue) {
        return amqpAdmin.getQueueInfo(queue).getMessageCount();
    }

    private HttpResponse<String> call(String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .method(method, body == null ? BodyPublishers.noBody() : BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(request.build(), BodyHandlers.ofString());
    }
}
