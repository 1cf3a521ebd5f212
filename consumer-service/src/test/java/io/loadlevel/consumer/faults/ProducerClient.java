package io.loadlevel.consumer.faults;

import io.loadlevel.common.test.ServiceProcess;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** REST calls to a producer started as a process, as the fault tests make them. */
final class ProducerClient {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ServiceProcess producer;

    ProducerClient(ServiceProcess producer) {
        this.producer = producer;
    }

    /**
     * Outcome of one POST.
     *
     * @param id request id of a 202, otherwise null
     * @param reason the problem's reason of a 503, otherwise null
     * @param stored the problem's {@code stored} property of a 503, otherwise null
     */
    record Submission(int status, String id, String reason, String stored, Duration latency) {}

    Submission submit(String type, String idempotencyKey) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(producer.uri("/api/v1/requests"))
                .timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString(
                        "{\"type\": \"" + type + "\", \"key\": \"account-9\", \"payload\": {\"amount\": \"10.00\"}}"));
        if (idempotencyKey != null) {
            request.header("Idempotency-Key", idempotencyKey);
        }
        long startNanos = System.nanoTime();
        HttpResponse<String> response = http.send(request.build(), BodyHandlers.ofString());
        Duration latency = Duration.ofNanos(System.nanoTime() - startNanos);
        JsonNode body = response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
        return new Submission(
                response.statusCode(), text(body, "id"), text(body, "reason"), text(body, "stored"), latency);
    }

    /** Returns the status of the request, or {@code HTTP <code>} when the producer responds without one. */
    String status(String id) {
        try {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(producer.uri("/api/v1/requests/" + id))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    BodyHandlers.ofString());
            return response.statusCode() == 200
                    ? JSON.readTree(response.body()).get("status").stringValue()
                    : "HTTP " + response.statusCode();
        } catch (IOException ex) {
            return "unreachable";
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    Map<String, Long> statuses(List<String> ids) {
        return ids.stream().map(this::status).collect(Collectors.groupingBy(status -> status, Collectors.counting()));
    }

    int statusCode(String path) throws IOException, InterruptedException {
        return http.send(
                        HttpRequest.newBuilder(producer.uri(path))
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                        BodyHandlers.discarding())
                .statusCode();
    }

    private static String text(JsonNode body, String field) {
        JsonNode node = body.get(field);
        return node == null || node.isNull() ? null : node.asString();
    }
}
