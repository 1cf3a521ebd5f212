package io.loadlevel.common.test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.rabbitmq.RabbitMQContainer;

/**
 * Locates the RabbitMQ and Redis the integration tests talk to: the ones on 127.0.0.1 when they accept connections, otherwise
 * containers started with Testcontainers where a Docker engine exists. Tests never replace either with a mock.
 */
public final class LocalServices {

    private static final String LOCAL_HOST = "127.0.0.1";
    private static final int RABBIT_PORT = 5672;
    private static final int REDIS_PORT = 6379;
    private static final int CONNECT_TIMEOUT_MILLIS = 500;

    private static Endpoints endpoints;

    private LocalServices() {}

    /** Host and port of each service, plus the broker credentials. */
    public record Endpoints(
            String rabbitHost,
            int rabbitPort,
            String rabbitUser,
            String rabbitPassword,
            String redisHost,
            int redisPort) {}

    public static synchronized Endpoints endpoints() {
        if (endpoints == null) {
            endpoints = locate();
        }
        return endpoints;
    }

    /** Registers the endpoints as Spring Boot connection properties of an in-process service under test. */
    public static void register(DynamicPropertyRegistry registry) {
        Endpoints found = endpoints();
        registry.add("spring.rabbitmq.host", found::rabbitHost);
        registry.add("spring.rabbitmq.port", found::rabbitPort);
        registry.add("spring.rabbitmq.username", found::rabbitUser);
        registry.add("spring.rabbitmq.password", found::rabbitPassword);
        registry.add("spring.data.redis.host", found::redisHost);
        registry.add("spring.data.redis.port", found::redisPort);
    }

    /** Returns the endpoints as command-line arguments for a service started as a separate process. */
    public static List<String> commandLineArguments() {
        Endpoints found = endpoints();
        return List.of(
                "--spring.rabbitmq.host=" + found.rabbitHost(),
                "--spring.rabbitmq.port=" + found.rabbitPort(),
                "--spring.rabbitmq.username=" + found.rabbitUser(),
                "--spring.rabbitmq.password=" + found.rabbitPassword(),
                "--spring.data.redis.host=" + found.redisHost(),
                "--spring.data.redis.port=" + found.redisPort());
    }

    /** Creates a connection factory to the broker for test set-up and inspection; the caller closes it. */
    public static CachingConnectionFactory connectionFactory() {
        Endpoints found = endpoints();
        CachingConnectionFactory factory = new CachingConnectionFactory(found.rabbitHost(), found.rabbitPort());
        factory.setUsername(found.rabbitUser());
        factory.setPassword(found.rabbitPassword());
        factory.setPublisherConfirmType(CachingConnectionFactory.ConfirmType.CORRELATED);
        return factory;
    }

    private static Endpoints locate() {
        boolean rabbitAnswers = answers(RABBIT_PORT);
        boolean redisAnswers = answers(REDIS_PORT);
        if (rabbitAnswers && redisAnswers) {
            return new Endpoints(LOCAL_HOST, RABBIT_PORT, "guest", "guest", LOCAL_HOST, REDIS_PORT);
        }
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            throw new IllegalStateException(
                    "RabbitMQ on " + LOCAL_HOST + ":" + RABBIT_PORT + (rabbitAnswers ? " answers" : " does not answer")
                            + " and Redis on " + LOCAL_HOST + ":" + REDIS_PORT
                            + (redisAnswers ? " answers" : " does not answer")
                            + ", and no Docker engine is available for Testcontainers; start them with"
                            + " 'rabbitmq-server -detached' and 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379'");
        }
        return startContainers(rabbitAnswers, redisAnswers);
    }

    @SuppressWarnings("resource") // the containers live as long as the test JVM; Testcontainers removes them after
    private static Endpoints startContainers(boolean rabbitAnswers, boolean redisAnswers) {
        String rabbitHost = LOCAL_HOST;
        int rabbitPort = RABBIT_PORT;
        if (!rabbitAnswers) {
            RabbitMQContainer rabbit = new RabbitMQContainer("rabbitmq:4-management");
            rabbit.start();
            rabbitHost = rabbit.getHost();
            rabbitPort = rabbit.getAmqpPort();
        }
        String redisHost = LOCAL_HOST;
        int redisPort = REDIS_PORT;
        if (!redisAnswers) {
            GenericContainer<?> redis = new GenericContainer<>("redis:7").withExposedPorts(REDIS_PORT);
            redis.start();
            redisHost = redis.getHost();
            redisPort = redis.getMappedPort(REDIS_PORT);
        }
        return new Endpoints(rabbitHost, rabbitPort, "guest", "guest", redisHost, redisPort);
    }

    private static boolean answers(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOCAL_HOST, port), CONNECT_TIMEOUT_MILLIS);
            return true;
        } catch (IOException ex) {
            return false;
        }
    }
}
