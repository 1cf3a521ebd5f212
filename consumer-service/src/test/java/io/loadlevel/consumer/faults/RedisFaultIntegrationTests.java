package io.loadlevel.consumer.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.PrivateRedis;
import io.loadlevel.common.test.ServiceProcess;
import io.loadlevel.common.test.TestTopology;
import io.loadlevel.consumer.faults.ProducerClient.Submission;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.core.RabbitAdmin;

/**
 * Redis stops and comes back while both services run against a private Redis: accepted requests are not lost, and
 * what status and idempotency do meanwhile is the documented behaviour.
 */
class RedisFaultIntegrationTests {

    private static final Path PRODUCER_JAR = Path.of("..", "producer-service", "target", "producer-service.jar");
    private static final Path CONSUMER_JAR = Path.of("target", "consumer-service.jar");
    private static final TestTopology TOPOLOGY = TestTopology.unique("redis-fault");

    private static PrivateRedis redis;
    private static ServiceProcess producer;
    private static ServiceProcess consumer;
    private static ProducerClient client;

    @BeforeAll
    static void startServices() throws Exception {
        redis = PrivateRedis.launch();
        List<String> arguments = new ArrayList<>(TOPOLOGY.commandLineArguments());
        arguments.addAll(redis.commandLineArguments());
        arguments.add("--loadlevel.status.timeout=500ms");
        producer = ServiceProcess.start("producer", PRODUCER_JAR, ServiceProcess.freePort(), arguments);
        List<String> consumerArguments = new ArrayList<>(arguments);
        consumerArguments.add("--loadlevel.consumer.work.notification=10ms");
        consumer = ServiceProcess.start("consumer", CONSUMER_JAR, ServiceProcess.freePort(), consumerArguments);
        client = new ProducerClient(producer);
    }

    @AfterAll
    static void stopServices() throws Exception {
        try {
            for (ServiceProcess service : new ServiceProcess[] {consumer, producer}) {
                if (service != null) {
                    service.close();
                }
            }
            if (redis != null) {
                redis.close();
            }
        } finally {
            CachingConnectionFactory connectionFactory = LocalServices.connectionFactory();
            TOPOLOGY.delete(new RabbitAdmin(connectionFactory));
            connectionFactory.destroy();
        }
    }

    /**
     * Reads the consumer's count of failed status writes. Six failures take about six seconds of backoff, longer than
     * the five requeues a quorum queue allows before it dead-letters a message.
     */
    private static double statusFailures() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(consumer.uri("/actuator/prometheus"))
                                .build(),
                        BodyHandlers.ofString());
        return response.body()
                .lines()
                .filter(line -> line.startsWith("loadlevel_processing_status_failures_total"))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }

    @Test
    void redisOutageLosesNoAcceptedRequest() throws Exception {
        redis.stop();
        List<String> acceptedDuringOutage = new ArrayList<>();
        Submission idempotent;
        int statusDuringOutage;
        try {
            for (int i = 0; i < 20; i++) {
                Submission submission = client.submit("notification", null);
                assertThat(submission.status())
                        .as("a request without Idempotency-Key")
                        .isEqualTo(202);
                acceptedDuringOutage.add(submission.id());
            }
            idempotent = client.submit("notification", "key-" + UUID.randomUUID());
            statusDuringOutage = client.statusCode("/api/v1/requests/" + acceptedDuringOutage.get(0));
            await("the consumer retrying its status write for longer than five requeues would take")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> statusFailures() >= 6);
        } finally {
            redis.start();
        }

        assertThat(idempotent.status()).as("a request with Idempotency-Key").isEqualTo(503);
        assertThat(idempotent.reason()).isEqualTo("idempotency_store_unavailable");
        assertThat(idempotent.stored()).isEqualTo("no");
        assertThat(statusDuringOutage).isEqualTo(503);
        await("requests accepted during the outage complete once Redis is back")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofSeconds(1))
                .untilAsserted(
                        () -> assertThat(client.statuses(acceptedDuringOutage)).containsOnlyKeys("COMPLETED"));
        CachingConnectionFactory connectionFactory = LocalServices.connectionFactory();
        try {
            RabbitAdmin admin = new RabbitAdmin(connectionFactory);
            assertThat(admin.getQueueInfo(TOPOLOGY.deadLetterQueue()).getMessageCount())
                    .as("nothing dead-lettered because of the outage")
                    .isZero();
            assertThat(admin.getQueueInfo(TOPOLOGY.workQueue()).getMessageCount())
                    .isZero();
        } finally {
            connectionFactory.destroy();
        }
    }
}
