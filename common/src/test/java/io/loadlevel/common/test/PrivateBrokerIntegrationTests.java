package io.loadlevel.common.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageBuilder;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.core.QueueBuilder;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.core.RabbitAdmin;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.boot.amqp.autoconfigure.RabbitProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.data.redis.autoconfigure.DataRedisProperties;
import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * The private broker and Redis that fault tests stop, restart and block: each works on its own port, keeps durable
 * quorum queues across a restart, withholds confirms while blocked, and comes back after a stop.
 */
class PrivateBrokerIntegrationTests {

    private static PrivateBroker broker;
    private static PrivateRedis redis;

    @BeforeAll
    static void startServers() throws IOException {
        broker = PrivateBroker.launch();
        redis = PrivateRedis.launch();
    }

    @AfterAll
    static void closeServers() throws Exception {
        try {
            if (broker != null) {
                broker.close();
            }
        } finally {
            if (redis != null) {
                redis.close();
            }
        }
    }

    @Test
    void brokerWorksOnItsOwnPort() {
        CachingConnectionFactory factory = broker.connectionFactory();
        try {
            RabbitAdmin admin = new RabbitAdmin(factory);
            String queue = admin.declareQueue(new Queue("test.private." + UUID.randomUUID(), false, false, true));
            RabbitTemplate template = new RabbitTemplate(factory);

            template.convertAndSend("", queue, "hello");

            assertThat(broker.amqpPort()).isNotEqualTo(5672);
            assertThat(template.receiveAndConvert(queue, 5000)).isEqualTo("hello");
        } finally {
            factory.destroy();
        }
    }

    @Test
    void quorumQueueSurvivesRestart() throws Exception {
        String queue = "test.private.quorum." + UUID.randomUUID();
        CachingConnectionFactory before = broker.connectionFactory();
        try {
            new RabbitAdmin(before)
                    .declareQueue(QueueBuilder.durable(queue).quorum().build());
            CorrelationData correlation = new CorrelationData("persisted");
            new RabbitTemplate(before).send("", queue, persistentMessage("survivor"), correlation);
            assertThat(correlation.getFuture().get(5, TimeUnit.SECONDS).ack())
                    .as("confirm before the restart")
                    .isTrue();
        } finally {
            before.destroy();
        }

        broker.stop();
        assertThat(accepts(broker.amqpPort()))
                .as("AMQP port answers while stopped")
                .isFalse();
        broker.start();

        CachingConnectionFactory after = broker.connectionFactory();
        try {
            RabbitTemplate template = new RabbitTemplate(after);
            Message received = template.receive(queue, 10_000);
            assertThat(received).as("message after the restart").isNotNull();
            assertThat(new String(received.getBody(), StandardCharsets.UTF_8)).isEqualTo("survivor");
            new RabbitAdmin(after).deleteQueue(queue);
        } finally {
            after.destroy();
        }
    }

    @Test
    void blockedBrokerWithholdsConfirm() throws Exception {
        CachingConnectionFactory factory = broker.connectionFactory();
        try {
            RabbitAdmin admin = new RabbitAdmin(factory);
            String queue =
                    admin.declareQueue(new Queue("test.private.blocked." + UUID.randomUUID(), false, false, true));
            RabbitTemplate template = new RabbitTemplate(factory);
            CorrelationData correlation = new CorrelationData("blocked");
            broker.blockPublishers();

            template.send("", queue, persistentMessage("waits"), correlation);

            assertThatThrownBy(() -> correlation.getFuture().get(2, TimeUnit.SECONDS))
                    .as("confirm while the memory alarm is on")
                    .isInstanceOf(TimeoutException.class);
            broker.unblockPublishers();
            assertThat(correlation.getFuture().get(10, TimeUnit.SECONDS).ack())
                    .as("confirm after unblocking")
                    .isTrue();
            assertThat(template.receive(queue, 5000))
                    .as("message after unblocking")
                    .isNotNull();
        } finally {
            broker.unblockPublishers();
            factory.destroy();
        }
    }

    @Test
    void redisRestartRestoresPing() throws Exception {
        RedisClient client = RedisClient.create(RedisURI.builder()
                .withHost("127.0.0.1")
                .withPort(redis.port())
                .withTimeout(Duration.ofSeconds(1))
                .build());
        try {
            assertThat(ping(client)).as("PING before the stop").isEqualTo("PONG");

            redis.stop();

            assertThatThrownBy(() -> ping(client))
                    .as("PING while stopped")
                    .isInstanceOf(RedisConnectionException.class);
            redis.start();
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(ping(client)).isEqualTo("PONG"));
        } finally {
            client.shutdown();
        }
    }

    @Test
    void privateArgumentsOverrideLocalServices() {
        List<String> arguments = new ArrayList<>(LocalServices.commandLineArguments());
        arguments.addAll(broker.commandLineArguments());
        arguments.addAll(redis.commandLineArguments());
        StandardEnvironment environment = new StandardEnvironment();
        environment
                .getPropertySources()
                .addFirst(new SimpleCommandLinePropertySource(arguments.toArray(String[]::new)));
        ConfigurationPropertySources.attach(environment);
        Binder binder = Binder.get(environment);

        RabbitProperties rabbit =
                binder.bind("spring.rabbitmq", RabbitProperties.class).get();
        DataRedisProperties redisProperties =
                binder.bind("spring.data.redis", DataRedisProperties.class).get();

        assertThat(rabbit.determineAddresses()).containsExactly("127.0.0.1:" + broker.amqpPort());
        assertThat(redisProperties.getUrl()).isEqualTo("redis://127.0.0.1:" + redis.port());
    }

    private static Message persistentMessage(String body) {
        return MessageBuilder.withBody(body.getBytes(StandardCharsets.UTF_8))
                .setDeliveryMode(MessageDeliveryMode.PERSISTENT)
                .build();
    }

    private static String ping(RedisClient client) {
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return connection.sync().ping();
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException ex) {
            return false;
        }
    }
}
