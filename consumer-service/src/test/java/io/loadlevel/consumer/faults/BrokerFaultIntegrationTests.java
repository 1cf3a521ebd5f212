package io.loadlevel.consumer.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.test.PrivateBroker;
import io.loadlevel.common.test.ServiceProcess;
import io.loadlevel.consumer.faults.ProducerClient.Submission;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.QueueInformation;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.core.RabbitAdmin;

/**
 * Broker faults on a private RabbitMQ node, so the shared broker is never touched: a restart under load and a resource
 * alarm that blocks publishers. Both services run as processes against the node and the shared Redis.
 */
class BrokerFaultIntegrationTests {

    private static final Path PRODUCER_JAR = Path.of("..", "producer-service", "target", "producer-service.jar");
    private static final Path CONSUMER_JAR = Path.of("target", "consumer-service.jar");
    private static final String WORK_QUEUE = "loadlevel.requests.work";
    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(2);

    private static PrivateBroker broker;
    private static ServiceProcess producer;
    private static ServiceProcess consumer;
    private static ProducerClient client;

    @BeforeAll
    static void startServices() throws Exception {
        broker = PrivateBroker.launch();
        List<String> producerArguments = new ArrayList<>(broker.commandLineArguments());
        producerArguments.add("--loadlevel.producer.confirm-timeout=" + CONFIRM_TIMEOUT.toSeconds() + "s");
        producer = ServiceProcess.start("producer", PRODUCER_JAR, ServiceProcess.freePort(), producerArguments);
        List<String> consumerArguments = new ArrayList<>(broker.commandLineArguments());
        consumerArguments.add("--loadlevel.consumer.work.payment=20ms");
        consumerArguments.add("--loadlevel.consumer.work.order=100ms");
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
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    @Test
    void brokerRestartUnderLoadLosesNothingConfirmed() throws Exception {
        List<Submission> submissions = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean loading = new AtomicBoolean(true);
        ExecutorService load = Executors.newFixedThreadPool(4);
        List<Future<?>> workers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            workers.add(load.submit(() -> {
                for (int n = 0; n < 2_000 && loading.get(); n++) {
                    submissions.add(client.submit("payment", null));
                    Thread.sleep(50);
                }
                return null;
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> accepted(submissions).size() >= 40);

            broker.stop();
            await("producer and consumer report not ready while the broker is down")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> !producer.isReady() && !consumer.isReady());
            int beforeOutage = submissions.size();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> since(submissions, beforeOutage).stream()
                                    .filter(submission -> submission.status() == 503)
                                    .count()
                            >= 10);
            broker.start();
            await("producer and consumer ready again")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> producer.isReady() && consumer.isReady());
            int afterOutage = submissions.size();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> accepted(since(submissions, afterOutage)).size() >= 20);
        } finally {
            loading.set(false);
            for (Future<?> worker : workers) {
                worker.get();
            }
            load.shutdown();
        }

        List<Submission> snapshot = since(submissions, 0);
        List<Submission> unavailable = snapshot.stream()
                .filter(submission -> submission.status() == 503)
                .toList();
        assertThat(snapshot).extracting(Submission::status).containsOnly(202, 503);
        assertThat(unavailable).isNotEmpty();
        assertThat(unavailable)
                .as("503s answered within the confirm timeout plus 3 s")
                .allSatisfy(submission -> assertThat(submission.latency()).isLessThan(CONFIRM_TIMEOUT.plusSeconds(3)));
        List<String> acceptedIds = accepted(snapshot);
        await("every confirmed request completed")
                .atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofSeconds(1))
                .untilAsserted(() -> assertThat(client.statuses(acceptedIds)).containsOnlyKeys("COMPLETED"));
        assertThat(workQueue().getConsumerCount())
                .as("consumers on the work queue again")
                .isPositive();
    }

    @Test
    void resourceAlarmGivesFastUnavailableWhileConsumerDrains() throws Exception {
        List<String> backlog = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Submission submission = client.submit("order", null);
            assertThat(submission.status()).isEqualTo(202);
            backlog.add(submission.id());
        }

        broker.blockPublishers();
        try {
            Submission blocked = await("a 503 for the blocked broker")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> client.submit("order", null), submission -> "blocked".equals(submission.reason()));
            Submission next = client.submit("order", null);

            assertThat(blocked.status()).isEqualTo(503);
            assertThat(blocked.stored()).isEqualTo("no");
            assertThat(next.reason()).isEqualTo("blocked");
            assertThat(next.latency()).as("answer while blocked").isLessThan(Duration.ofSeconds(1));
            assertThat(client.statusCode("/actuator/health/liveness")).isEqualTo(200);
            await("the consumer drains the backlog while publishers are blocked")
                    .atMost(Duration.ofSeconds(60))
                    .untilAsserted(() -> assertThat(client.statuses(backlog)).containsOnlyKeys("COMPLETED"));
        } finally {
            broker.unblockPublishers();
        }

        Submission afterAlarm = await().atMost(Duration.ofSeconds(20))
                .until(() -> client.submit("order", null), submission -> submission.status() == 202);
        assertThat(afterAlarm.id()).isNotNull();
    }

    private static List<String> accepted(List<Submission> submissions) {
        return submissions.stream()
                .filter(submission -> submission.status() == 202)
                .map(Submission::id)
                .toList();
    }

    /** Copies the submissions from index {@code from} on, holding the list's lock while the load threads add to it. */
    private static List<Submission> since(List<Submission> submissions, int from) {
        synchronized (submissions) {
            return List.copyOf(submissions.subList(from, submissions.size()));
        }
    }

    private static QueueInformation workQueue() {
        CachingConnectionFactory connectionFactory = broker.connectionFactory();
        try {
            return new RabbitAdmin(connectionFactory).getQueueInfo(WORK_QUEUE);
        } finally {
            connectionFactory.destroy();
        }
    }
}
