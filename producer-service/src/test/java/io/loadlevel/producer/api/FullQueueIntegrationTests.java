package io.loadlevel.producer.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.TestTopology;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

/** A work queue at its maximum length makes the broker nack, and the producer responds 503, never 202. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class FullQueueIntegrationTests {

    private static final int MAX_LENGTH = 3;
    private static final TestTopology TOPOLOGY = TestTopology.unique("full", MAX_LENGTH);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @Autowired
    AmqpAdmin amqpAdmin;

    @Autowired
    MeterRegistry meterRegistry;

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

    /**
     * Fills the queue and then checks the response to one more request. A quorum queue on RabbitMQ 3.10 applies the
     * limit after the message that reaches it, so it may take one message beyond {@code x-max-length}. What the test
     * requires is that every 202 is a message in the queue.
     */
    @Test
    void fullQueueGivesServiceUnavailableWithRetryAfter() throws Exception {
        int accepted = 0;
        for (int i = 0; i < MAX_LENGTH + 1; i++) {
            if (post().statusCode() == 202) {
                accepted++;
            }
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() -> meterRegistry
                                .get("loadlevel.ingress.queue.depth")
                                .gauge()
                                .value()
                        >= MAX_LENGTH);

        HttpResponse<String> response = post();

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(Long.parseLong(response.headers().firstValue("Retry-After").orElseThrow()))
                .isPositive();
        assertThat(jsonMapper.readTree(response.body()).get("reason").stringValue())
                .isEqualTo("queue_full");
        assertThat(accepted).isBetween(MAX_LENGTH, MAX_LENGTH + 1);
        int acceptedTotal = accepted;
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(
                                amqpAdmin.getQueueInfo(TOPOLOGY.workQueue()).getMessageCount())
                        .isEqualTo(acceptedTotal));
        assertThat(meterRegistry
                        .get("loadlevel.ingress.rejected")
                        .tag("reason", "queue_full")
                        .counter()
                        .count())
                .isGreaterThanOrEqualTo(1.0);
    }

    private HttpResponse<String> post() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://localhost:" + port + RequestController.BASE_PATH))
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString("{\"type\": \"notification\", \"key\": \"user-1\", \"payload\": {}}"))
                .build();
        return HTTP.send(request, BodyHandlers.ofString());
    }
}
