package io.loadlevel.producer.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.TestTopology;
import io.loadlevel.producer.idempotency.IdempotencyStore.Claim;
import io.loadlevel.producer.idempotency.IdempotencyStore.State;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

/** Idempotency-Key states that no ordinary POST reaches, set up in the real Redis through the store. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "loadlevel.producer.confirm-timeout=1s")
class IdempotencyIntegrationTests {

    private static final TestTopology TOPOLOGY = TestTopology.unique("idempotency");
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String CLIENT = "shop-7";
    private static final String BODY =
            "{\"type\": \"payment\", \"key\": \"account-3\", \"payload\": {\"amount\": \"5.00\"}}";

    @LocalServerPort
    int port;

    @Autowired
    IdempotencyStore store;

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

    @Test
    void uncertainKeyRepublishesEarlierId() throws Exception {
        String key = "key-" + UUID.randomUUID();
        UUID earlier = UUID.randomUUID();
        store.claim(CLIENT, key, earlier, fingerprint()).join();
        store.markUnknown(CLIENT, key, earlier).join();

        HttpResponse<String> response = post(key);

        assertThat(response.statusCode()).isEqualTo(202);
        assertThat(jsonMapper.readTree(response.body()).get("id").stringValue()).isEqualTo(earlier.toString());
        assertThat(response.headers().firstValue("Idempotent-Replayed")).hasValue("false");
        Claim after = store.claim(CLIENT, key, UUID.randomUUID(), fingerprint()).join();
        assertThat(after.state()).isEqualTo(State.ACCEPTED);
        assertThat(after.requestId()).isEqualTo(earlier);
    }

    @Test
    void keyPendingPastDeadlineGivesConflict() throws Exception {
        String key = "key-" + UUID.randomUUID();
        UUID other = UUID.randomUUID();
        store.claim(CLIENT, key, other, fingerprint()).join();

        HttpResponse<String> response = post(key);

        assertThat(response.statusCode()).isEqualTo(409);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(jsonMapper.readTree(response.body()).get("detail").stringValue())
                .contains(key)
                .contains(other.toString());
    }

    private HttpResponse<String> post(String key) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/v1/requests"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .header("X-Client-Id", CLIENT)
                .POST(BodyPublishers.ofString(BODY))
                .build();
        return HTTP.send(request, BodyHandlers.ofString());
    }

    private static String fingerprint() {
        return IdempotencyStore.fingerprint(BODY.getBytes(StandardCharsets.UTF_8));
    }
}
