package io.loadlevel.producer.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.loadlevel.common.test.LocalServices;
import io.loadlevel.common.test.ServiceProcess;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.AmqpConnectException;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageBuilder;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.QueueBuilder;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.connection.CorrelationData.Confirm;
import org.springframework.amqp.rabbit.core.RabbitAdmin;
import org.springframework.amqp.rabbit.core.RabbitTemplate;

/** The publishing lanes against the real broker, an unreachable port and a port that never completes a handshake. */
class PublishLanesIntegrationTests {

    private static final Duration RESULT_TIMEOUT = Duration.ofSeconds(20);

    private final List<AutoCloseable> cleanUp = new ArrayList<>();
    private String queue;
    private RabbitAdmin admin;

    @BeforeEach
    void declareQueue() {
        CachingConnectionFactory factory = LocalServices.connectionFactory();
        admin = new RabbitAdmin(factory);
        queue = "test.lanes." + UUID.randomUUID().toString().substring(0, 8);
        admin.declareQueue(QueueBuilder.durable(queue).quorum().build());
        cleanUp.add(factory::destroy);
    }

    @AfterEach
    void cleanUp() throws Exception {
        admin.deleteQueue(queue);
        for (int i = cleanUp.size() - 1; i >= 0; i--) {
            cleanUp.get(i).close();
        }
    }

    @Test
    void concurrentSendsShareLaneChannels() throws Exception {
        CachingConnectionFactory factory =
                publishingFactory(LocalServices.endpoints().rabbitPort());
        AtomicInteger channelsOpened = new AtomicInteger();
        factory.addChannelListener((channel, transactional) -> channelsOpened.incrementAndGet());
        PublishLanes lanes = lanes(factory, 2, 10_000);
        List<CorrelationData> correlations = new ArrayList<>();
        List<CompletableFuture<Void>> sends = new ArrayList<>();
        ExecutorService senders = Executors.newFixedThreadPool(16);
        cleanUp.add(senders::shutdownNow);

        List<CompletableFuture<Void>> submissions = new ArrayList<>();
        for (int thread = 0; thread < 16; thread++) {
            submissions.add(CompletableFuture.runAsync(
                    () -> {
                        for (int i = 0; i < 100; i++) {
                            CorrelationData correlation =
                                    new CorrelationData(UUID.randomUUID().toString());
                            CompletableFuture<Void> sent = lanes.send("", queue, message(), correlation);
                            synchronized (correlations) {
                                correlations.add(correlation);
                                sends.add(sent);
                            }
                        }
                    },
                    senders));
        }
        CompletableFuture.allOf(submissions.toArray(CompletableFuture[]::new)).get();

        for (CompletableFuture<Void> sent : sends) {
            assertThat(sent).succeedsWithin(RESULT_TIMEOUT);
        }
        for (CorrelationData correlation : correlations) {
            Confirm confirm = correlation.getFuture().get(RESULT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(confirm.ack())
                    .as("broker confirmed %s", correlation.getId())
                    .isTrue();
            assertThat(correlation.getReturned()).isNull();
        }
        await().atMost(RESULT_TIMEOUT).until(() -> messageCount() == 1600);
        assertThat(channelsOpened.get())
                .as("channels opened for 1600 sends on 2 lanes")
                .isLessThanOrEqualTo(2);
    }

    @Test
    void unroutableMessageIsReturned() throws Exception {
        PublishLanes lanes = lanes(publishingFactory(LocalServices.endpoints().rabbitPort()), 1, 10);
        CorrelationData correlation = new CorrelationData(UUID.randomUUID().toString());

        CompletableFuture<Void> sent = lanes.send("", queue + ".missing", message(), correlation);

        assertThat(sent).succeedsWithin(RESULT_TIMEOUT);
        Confirm confirm = correlation.getFuture().get(RESULT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(confirm.ack()).isTrue();
        assertThat(correlation.getReturned()).as("returned message").isNotNull();
        assertThat(correlation.getReturned().getReplyText()).isEqualTo("NO_ROUTE");
    }

    @Test
    void unreachableBrokerFailsEverySend() {
        PublishLanes lanes = lanes(publishingFactory(ServiceProcess.freePort()), 1, 100);
        List<CompletableFuture<Void>> sends = new ArrayList<>();

        for (int i = 0; i < 20; i++) {
            sends.add(lanes.send(
                    "", queue, message(), new CorrelationData(UUID.randomUUID().toString())));
        }

        for (CompletableFuture<Void> sent : sends) {
            assertThat(sent)
                    .failsWithin(RESULT_TIMEOUT)
                    .withThrowableThat()
                    .havingRootCause()
                    .isInstanceOf(ConnectException.class);
        }
        assertThatThrownBy(sends.get(0)::join).cause().isInstanceOf(AmqpConnectException.class);
    }

    @Test
    void sendBeyondCapacityFailsAtOnce() throws Exception {
        // Accepts TCP connections but never starts the AMQP handshake, so the one lane waits on its first message.
        ServerSocket silent = new ServerSocket(0);
        List<Socket> accepted = new CopyOnWriteArrayList<>();
        Thread acceptor = new Thread(() -> {
            while (!silent.isClosed()) {
                try {
                    accepted.add(silent.accept());
                } catch (IOException ex) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        cleanUp.add(() -> {
            for (Socket socket : accepted) {
                socket.close();
            }
        });
        cleanUp.add(silent);
        CachingConnectionFactory factory = publishingFactory(silent.getLocalPort());
        factory.setConnectionTimeout(3_000);
        PublishLanes lanes = lanes(factory, 1, 5);

        CompletableFuture<Void> first = lanes.send("", queue, message(), correlation());
        await().atMost(RESULT_TIMEOUT).until(() -> !accepted.isEmpty());
        List<CompletableFuture<Void>> waiting = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            waiting.add(lanes.send("", queue, message(), correlation()));
        }
        CompletableFuture<Void> beyond = lanes.send("", queue, message(), correlation());

        assertThat(beyond).isCompletedExceptionally();
        assertThatThrownBy(beyond::join)
                .cause()
                .isInstanceOf(PublishLanes.LanesFullException.class)
                .hasMessage("5 messages already wait for a publishing channel, so the broker is not keeping up."
                        + " Retry later.");
        assertThat(first).failsWithin(RESULT_TIMEOUT);
        for (CompletableFuture<Void> sent : waiting) {
            assertThat(sent).failsWithin(RESULT_TIMEOUT);
        }
    }

    @Test
    void closedLanesRejectSends() throws Exception {
        PublishLanes lanes = lanes(publishingFactory(LocalServices.endpoints().rabbitPort()), 2, 10);
        CompletableFuture<Void> before = lanes.send("", queue, message(), correlation());
        assertThat(before).succeedsWithin(RESULT_TIMEOUT);

        lanes.close(Duration.ofSeconds(5));
        CompletableFuture<Void> after = lanes.send("", queue, message(), correlation());

        assertThat(after).isCompletedExceptionally();
        assertThatThrownBy(after::join)
                .cause()
                .isInstanceOf(PublishLanes.LanesClosedException.class)
                .hasMessageContaining("shutting down");
    }

    private CachingConnectionFactory publishingFactory(int port) {
        CachingConnectionFactory factory = LocalServices.connectionFactory();
        factory.setPort(port);
        factory.setPublisherReturns(true);
        cleanUp.add(factory::destroy);
        return factory;
    }

    private PublishLanes lanes(CachingConnectionFactory factory, int count, int capacity) {
        RabbitTemplate template = new RabbitTemplate(factory);
        template.setMandatory(true);
        PublishLanes lanes = new PublishLanes(template, count, capacity);
        cleanUp.add(lanes);
        return lanes;
    }

    private static CorrelationData correlation() {
        return new CorrelationData(UUID.randomUUID().toString());
    }

    private static Message message() {
        return MessageBuilder.withBody("{\"n\":1}".getBytes(StandardCharsets.UTF_8))
                .setDeliveryMode(MessageDeliveryMode.PERSISTENT)
                .build();
    }

    private long messageCount() {
        return admin.getQueueInfo(queue).getMessageCount();
    }
}
