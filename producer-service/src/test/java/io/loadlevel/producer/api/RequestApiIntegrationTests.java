package io.loadlevel.producer.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.RequestMessageCodec;
import io.loadlevel.common.RequestType;
import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.TestTopology;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.amqp.core.Declarables;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.core.QueueInformation;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The REST API against the real RabbitMQ and Redis, with a work queue private to this class. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class RequestApiIntegrationTests {

    private static final TestTopology TOPOLOGY = TestTopology.unique("api");
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String VALID_BODY = """
            {"type": "order", "key": "order-1", "payload": {"total": 42.5, "lines": [{"sku": "A-1", "qty": 2}]}}
            """;

    @LocalServerPort
    int port;

    @Autowired
    AmqpAdmin amqpAdmin;

    @Autowired
    RabbitTemplate rabbitTemplate;

    @Autowired
    RequestMessageCodec codec;

    @Autowired
    JsonMapper jsonMapper;

    @Autowired
    Declarables topology;

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
    void emptyWorkQueue() {
        amqpAdmin.purgeQueue(TOPOLOGY.workQueue(), false);
    }

    @Test
    void acceptedRequestIsPublishedWithContractProperties() throws Exception {
        HttpResponse<String> response = post(VALID_BODY, "application/json");

        assertThat(response.statusCode()).isEqualTo(202);
        JsonNode body = jsonMapper.readTree(response.body());
        String id = body.get("id").stringValue();
        assertThat(body.get("status").stringValue()).isEqualTo("ACCEPTED");
        assertThat(response.headers().firstValue("Location"))
                .hasValue("http://localhost:" + port + RequestController.BASE_PATH + "/" + id);
        Message message = rabbitTemplate.receive(TOPOLOGY.workQueue(), 5_000);
        assertThat(message).isNotNull();
        MessageProperties properties = message.getMessageProperties();
        assertThat(properties.getReceivedDeliveryMode()).isEqualTo(MessageDeliveryMode.PERSISTENT);
        assertThat(properties.getMessageId()).isEqualTo(id);
        assertThat(properties.getTimestamp()).isNotNull();
        assertThat(properties.getType()).isEqualTo("order");
        assertThat(properties.getContentType()).isEqualTo("application/json");
        RequestEnvelope envelope = codec.fromMessage(message);
        assertThat(envelope.id()).isEqualTo(UUID.fromString(id));
        assertThat(envelope.type()).isEqualTo(RequestType.ORDER);
        assertThat(envelope.key()).isEqualTo("order-1");
        assertThat(envelope.payload().get("total").doubleValue()).isEqualTo(42.5);
    }

    @Test
    void statusOfAcceptedRequestIsAccepted() throws Exception {
        String id = jsonMapper
                .readTree(post(VALID_BODY, "application/json").body())
                .get("id")
                .stringValue();

        HttpResponse<String> response = get(RequestController.BASE_PATH + "/" + id);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode status = jsonMapper.readTree(response.body());
        assertThat(status.get("status").stringValue()).isEqualTo("ACCEPTED");
        assertThat(status.get("type").stringValue()).isEqualTo("order");
        assertThat(status.get("key").stringValue()).isEqualTo("order-1");
        assertThat(status.get("acceptedAt").stringValue()).isNotBlank();
        assertThat(status.has("completedAt")).isFalse();
    }

    @Test
    void unknownIdGivesNotFoundProblem() throws Exception {
        UUID unknown = UUID.randomUUID();

        HttpResponse<String> response = get(RequestController.BASE_PATH + "/" + unknown);

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(jsonMapper.readTree(response.body()).get("detail").stringValue())
                .contains(unknown.toString());
    }

    @Test
    void malformedIdGivesBadRequest() throws Exception {
        HttpResponse<String> response = get(RequestController.BASE_PATH + "/not-a-uuid");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(jsonMapper.readTree(response.body()).get("field").stringValue())
                .isEqualTo("id");
    }

    static Stream<Arguments> invalidBodies() {
        return Stream.of(
                Arguments.of("malformed JSON", "{\"type\": \"order\",", null, "malformed-json"),
                Arguments.of("empty body", "", null, "body-missing"),
                Arguments.of("array body", "[1, 2]", null, "body-not-object"),
                Arguments.of("missing type", "{\"key\": \"k\", \"payload\": {}}", "type", "required"),
                Arguments.of("null type", "{\"type\": null, \"key\": \"k\", \"payload\": {}}", "type", "required"),
                Arguments.of("numeric type", "{\"type\": 7, \"key\": \"k\", \"payload\": {}}", "type", "not-string"),
                Arguments.of(
                        "unknown type",
                        "{\"type\": \"invoice\", \"key\": \"k\", \"payload\": {}}",
                        "type",
                        "unknown-type"),
                Arguments.of(
                        "type in capitals",
                        "{\"type\": \"ORDER\", \"key\": \"k\", \"payload\": {}}",
                        "type",
                        "unknown-type"),
                Arguments.of("missing key", "{\"type\": \"order\", \"payload\": {}}", "key", "required"),
                Arguments.of("blank key", "{\"type\": \"order\", \"key\": \"  \", \"payload\": {}}", "key", "blank"),
                Arguments.of(
                        "key too long",
                        "{\"type\": \"order\", \"key\": \"" + "k".repeat(257) + "\", \"payload\": {}}",
                        "key",
                        "too-long"),
                Arguments.of("missing payload", "{\"type\": \"order\", \"key\": \"k\"}", "payload", "required"),
                Arguments.of(
                        "string payload",
                        "{\"type\": \"order\", \"key\": \"k\", \"payload\": \"x\"}",
                        "payload",
                        "not-object"),
                Arguments.of(
                        "array payload",
                        "{\"type\": \"order\", \"key\": \"k\", \"payload\": [1]}",
                        "payload",
                        "not-object"),
                Arguments.of(
                        "unknown field",
                        "{\"type\": \"order\", \"key\": \"k\", \"payload\": {}, \"priority\": 1}",
                        "priority",
                        "unknown-field"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidBodies")
    void invalidBodyGivesBadRequestAndPublishesNothing(String name, String body, String field, String rule)
            throws Exception {
        HttpResponse<String> response = post(body, "application/json");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode problem = jsonMapper.readTree(response.body());
        assertThat(problem.get("rule").stringValue()).isEqualTo(rule);
        if (field != null) {
            assertThat(problem.get("field").stringValue()).isEqualTo(field);
            assertThat(problem.get("detail").stringValue()).contains(field);
        }
        assertThat(workQueueDepth()).isZero();
    }

    @Test
    void wrongContentTypeGives415() throws Exception {
        HttpResponse<String> response = post(VALID_BODY, "text/plain");

        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(jsonMapper.readTree(response.body()).get("detail").stringValue())
                .contains("text/plain")
                .contains("application/json");
        assertThat(workQueueDepth()).isZero();
    }

    @Test
    void missingContentTypeGivesUnsupportedMediaType() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri(RequestController.BASE_PATH))
                .POST(BodyPublishers.ofString(VALID_BODY))
                .build();

        HttpResponse<String> response = HTTP.send(request, BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(workQueueDepth()).isZero();
    }

    @Test
    void oversizedBodyGives413() throws Exception {
        String body =
                "{\"type\": \"order\", \"key\": \"k\", \"payload\": {\"blob\": \"" + "x".repeat(70 * 1024) + "\"}}";

        HttpResponse<String> response = post(body, "application/json");

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(jsonMapper.readTree(response.body()).get("detail").stringValue())
                .contains("65536")
                .contains("loadlevel.producer.max-body-size");
        assertThat(workQueueDepth()).isZero();
    }

    @Test
    void chunkedBodyOverLimitGivesContentTooLarge() throws Exception {
        byte[] body = ("{\"type\": \"order\", \"key\": \"k\", \"payload\": {\"blob\": \"" + "x".repeat(70 * 1024)
                        + "\"}}")
                .getBytes();
        HttpRequest request = HttpRequest.newBuilder(uri(RequestController.BASE_PATH))
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
                .build();

        HttpResponse<String> response = HTTP.send(request, BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(workQueueDepth()).isZero();
    }

    @Test
    void deletedWorkQueueGivesServiceUnavailableNotAccepted() throws Exception {
        amqpAdmin.deleteQueue(TOPOLOGY.workQueue());
        try {
            HttpResponse<String> response = post(VALID_BODY, "application/json");

            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(response.headers().firstValue("Retry-After")).hasValue("5");
            JsonNode problem = jsonMapper.readTree(response.body());
            assertThat(problem.get("reason").stringValue()).isEqualTo("returned");
            assertThat(problem.get("detail").stringValue()).contains("NO_ROUTE");
        } finally {
            redeclareTopology();
        }
    }

    @Test
    void repeatedIdempotencyKeyPublishesOnceWithOneId() throws Exception {
        String key = "order-" + UUID.randomUUID();

        HttpResponse<String> first = post(VALID_BODY, "application/json", key, "shop-1");
        HttpResponse<String> second = post(VALID_BODY, "application/json", key, "shop-1");

        assertThat(first.statusCode()).isEqualTo(202);
        assertThat(second.statusCode()).isEqualTo(202);
        assertThat(idOf(second)).isEqualTo(idOf(first));
        assertThat(first.headers().firstValue("Idempotent-Replayed")).hasValue("false");
        assertThat(second.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(second.headers().firstValue("Location"))
                .isEqualTo(first.headers().firstValue("Location"));
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isEqualTo(1));
    }

    @Test
    void concurrentIdempotencyKeyPublishesOnceWithOneId() throws Exception {
        String key = "order-" + UUID.randomUUID();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();

        for (int i = 0; i < 20; i++) {
            calls.add(HTTP.sendAsync(request(VALID_BODY, "application/json", key, "shop-1"), BodyHandlers.ofString()));
        }

        List<HttpResponse<String>> responses =
                calls.stream().map(CompletableFuture::join).toList();
        assertThat(responses).extracting(HttpResponse::statusCode).containsOnly(202);
        assertThat(responses.stream().map(this::idOf).distinct()).hasSize(1);
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isEqualTo(1));
    }

    @Test
    void idempotencyKeyIsPerClient() throws Exception {
        String key = "order-" + UUID.randomUUID();

        HttpResponse<String> first = post(VALID_BODY, "application/json", key, "shop-1");
        HttpResponse<String> second = post(VALID_BODY, "application/json", key, "shop-2");

        assertThat(idOf(second)).isNotEqualTo(idOf(first));
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isEqualTo(2));
    }

    @Test
    void idempotencyKeyWithOtherBodyGivesUnprocessableContent() throws Exception {
        String key = "order-" + UUID.randomUUID();
        post(VALID_BODY, "application/json", key, "shop-1");

        HttpResponse<String> response =
                post("{\"type\": \"order\", \"key\": \"order-2\", \"payload\": {}}", "application/json", key, "shop-1");

        assertThat(response.statusCode()).isEqualTo(422);
        JsonNode problem = jsonMapper.readTree(response.body());
        assertThat(problem.get("field").stringValue()).isEqualTo("Idempotency-Key");
        assertThat(problem.get("rule").stringValue()).isEqualTo("key-reused");
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isEqualTo(1));
    }

    static Stream<Arguments> invalidHeaders() {
        return Stream.of(
                Arguments.of("Idempotency-Key", "k".repeat(256)),
                Arguments.of("Idempotency-Key", "has space"),
                Arguments.of("Idempotency-Key", "with\ttab"),
                Arguments.of("X-Client-Id", "c".repeat(129)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("invalidHeaders")
    void invalidHeaderGivesBadRequestAndPublishesNothing(String header, String value) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri(RequestController.BASE_PATH))
                .header("Content-Type", "application/json")
                .header(header, value)
                .POST(BodyPublishers.ofString(VALID_BODY))
                .build();

        HttpResponse<String> response = HTTP.send(request, BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode problem = jsonMapper.readTree(response.body());
        assertThat(problem.get("field").stringValue()).isEqualTo(header);
        assertThat(problem.get("rule").stringValue()).isEqualTo("invalid-header");
        assertThat(workQueueDepth()).isZero();
    }

    @Test
    void idempotencyKeyOfRejectedPublishCanBeRetried() throws Exception {
        String key = "order-" + UUID.randomUUID();
        amqpAdmin.deleteQueue(TOPOLOGY.workQueue());
        HttpResponse<String> rejected;
        try {
            rejected = post(VALID_BODY, "application/json", key, "shop-1");
        } finally {
            redeclareTopology();
        }

        HttpResponse<String> retried = post(VALID_BODY, "application/json", key, "shop-1");

        assertThat(rejected.statusCode()).isEqualTo(503);
        assertThat(jsonMapper.readTree(rejected.body()).get("stored").stringValue())
                .isEqualTo("no");
        assertThat(retried.statusCode()).isEqualTo(202);
        assertThat(retried.headers().firstValue("Idempotent-Replayed")).hasValue("false");
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(workQueueDepth()).isEqualTo(1));
    }

    private String idOf(HttpResponse<String> response) {
        return jsonMapper.readTree(response.body()).get("id").stringValue();
    }

    private HttpResponse<String> post(String body, String contentType, String idempotencyKey, String client)
            throws Exception {
        return HTTP.send(request(body, contentType, idempotencyKey, client), BodyHandlers.ofString());
    }

    private HttpRequest request(String body, String contentType, String idempotencyKey, String client) {
        return HttpRequest.newBuilder(uri(RequestController.BASE_PATH))
                .header("Content-Type", contentType)
                .header("Idempotency-Key", idempotencyKey)
                .header("X-Client-Id", client)
                .POST(BodyPublishers.ofString(body))
                .build();
    }

    private void redeclareTopology() {
        topology.getDeclarablesByType(Queue.class).forEach(amqpAdmin::declareQueue);
        topology.getDeclarables().forEach(declarable -> {
            if (declarable instanceof org.springframework.amqp.core.Binding binding) {
                amqpAdmin.declareBinding(binding);
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> amqpAdmin.getQueueInfo(TOPOLOGY.workQueue()) != null);
    }

    private long workQueueDepth() {
        QueueInformation info = amqpAdmin.getQueueInfo(TOPOLOGY.workQueue());
        assertThat(info).as("work queue %s exists", TOPOLOGY.workQueue()).isNotNull();
        return info.getMessageCount();
    }

    private HttpResponse<String> post(String body, String contentType) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri(RequestController.BASE_PATH))
                .header("Content-Type", contentType)
                .POST(BodyPublishers.ofString(body))
                .build();
        return HTTP.send(request, BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).GET().build(), BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }
}
