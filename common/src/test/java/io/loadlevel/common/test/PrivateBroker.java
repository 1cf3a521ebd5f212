package io.loadlevel.common.test;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;

/**
 * A RabbitMQ node of its own for tests that stop, restart or block the broker, so the shared broker on port 5672 is
 * never touched. The node comes from the Debian installation (RabbitMQ 3.10) and listens on free ports on 127.0.0.1.
 * Its data, logs, configuration and Erlang cookie live in a temporary directory that {@link #close()} deletes.
 *
 * <p>The scripts under {@code /usr/lib/rabbitmq/bin} are called directly, not the {@code /usr/sbin} wrappers, because
 * the wrappers switch a root caller to the {@code rabbitmq} user, who can neither write the temporary directory nor
 * read its cookie. So the node runs as the current user, root included. {@code HOME} points at the directory, so the
 * node and {@code rabbitmqctl -n NODE} share the cookie the node creates there.
 */
public final class PrivateBroker implements AutoCloseable {

    private static final System.Logger LOGGER = System.getLogger(PrivateBroker.class.getName());
    private static final Path SCRIPTS = Path.of("/usr/lib/rabbitmq/bin");
    private static final String LOCAL_HOST = "127.0.0.1";
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    /** RabbitMQ 3.10's default memory high watermark, a fraction of the installed memory. */
    private static final String DEFAULT_MEMORY_WATERMARK = "0.4";

    private final String nodeName;
    private final int amqpPort;
    private final int managementPort;
    private final int distributionPort;
    private final Path directory;
    private final Thread shutdownHook = new Thread(this::closeQuietly, "private-broker-cleanup");
    private Process server;
    private boolean closed;

    private PrivateBroker(String nodeName, Path directory) {
        this.nodeName = nodeName;
        this.directory = directory;
        this.amqpPort = ServiceProcess.freePort();
        this.managementPort = ServiceProcess.freePort();
        this.distributionPort = ServiceProcess.freePort();
    }

    /**
     * Creates the node's directory and configuration, starts the node with the management plugin and waits until
     * {@code rabbitmqctl await_startup} succeeds. A shutdown hook stops the node and deletes the directory if the JVM
     * exits before {@link #close()}.
     */
    public static PrivateBroker launch() throws IOException {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        Path directory = Files.createTempDirectory("loadlevel-broker-" + suffix + "-");
        PrivateBroker broker = new PrivateBroker("loadlevel-" + suffix + "@localhost", directory);
        Runtime.getRuntime().addShutdownHook(broker.shutdownHook);
        try {
            broker.writeConfiguration();
            broker.start();
        } catch (IOException | RuntimeException ex) {
            broker.closeQuietly();
            throw ex;
        }
        return broker;
    }

    public String nodeName() {
        return nodeName;
    }

    public int amqpPort() {
        return amqpPort;
    }

    public int managementPort() {
        return managementPort;
    }

    public boolean isRunning() {
        return server != null && server.isAlive();
    }

    /**
     * Returns the arguments that point a service started as a process at this node. They set
     * {@code spring.rabbitmq.addresses}, which Spring Boot prefers to host and port, because a later
     * {@code --spring.rabbitmq.port} does not override the one from {@link LocalServices#commandLineArguments()}.
     * Spring joins the two values with a comma, and the service then fails to start.
     */
    public List<String> commandLineArguments() {
        return List.of("--spring.rabbitmq.addresses=" + LOCAL_HOST + ":" + amqpPort);
    }

    /** Creates a connection factory with correlated publisher confirms to this node; the caller destroys it. */
    public CachingConnectionFactory connectionFactory() {
        CachingConnectionFactory factory = new CachingConnectionFactory(LOCAL_HOST, amqpPort);
        factory.setUsername("guest");
        factory.setPassword("guest");
        factory.setPublisherConfirmType(CachingConnectionFactory.ConfirmType.CORRELATED);
        return factory;
    }

    /** Starts the stopped node again on the same ports and data, so durable queues and persisted messages return. */
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("broker node " + nodeName + " is closed");
        }
        if (isRunning()) {
            throw new IllegalStateException("broker node " + nodeName + " is already running");
        }
        ProcessBuilder builder = new ProcessBuilder(
                        SCRIPTS.resolve("rabbitmq-server").toString())
                .directory(directory.toFile())
                .redirectErrorStream(true)
                .redirectOutput(
                        Redirect.appendTo(directory.resolve("server.log").toFile()));
        configureEnvironment(builder.environment());
        server = builder.start();
        awaitStartup();
    }

    /**
     * Stops the node and its Erlang runtime with {@code rabbitmqctl shutdown}, which returns after the runtime has
     * exited, and waits until the AMQP port no longer accepts connections. Clients see their connections closed.
     */
    public synchronized void stop() throws IOException, InterruptedException {
        if (!isRunning()) {
            return;
        }
        rabbitmqctl("shutdown");
        if (!server.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            killServer();
        }
        await("AMQP port " + amqpPort + " of " + nodeName + " closed")
                .atMost(STOP_TIMEOUT)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> !accepts(amqpPort));
    }

    /**
     * Sets off the memory alarm by setting the memory high watermark to 0, so the node blocks every connection that
     * publishes. Their messages are neither routed nor confirmed until {@link #unblockPublishers()}.
     */
    public void blockPublishers() throws IOException, InterruptedException {
        rabbitmqctl("set_vm_memory_high_watermark", "0");
    }

    /** Restores the default memory high watermark, which clears the alarm and unblocks the publishers. */
    public void unblockPublishers() throws IOException, InterruptedException {
        rabbitmqctl("set_vm_memory_high_watermark", DEFAULT_MEMORY_WATERMARK);
    }

    /**
     * Runs {@code rabbitmqctl -n NODE} with the arguments and returns its output.
     *
     * @throws IllegalStateException when the command exits with a non-zero code or times out
     */
    public String rabbitmqctl(String... arguments) throws IOException, InterruptedException {
        CommandResult result = runRabbitmqctl(COMMAND_TIMEOUT, arguments);
        if (result.exitCode() != 0) {
            throw new IllegalStateException("rabbitmqctl -n " + nodeName + " " + String.join(" ", arguments)
                    + " failed with exit code " + result.exitCode() + ": " + result.output());
        }
        return result.output();
    }

    /**
     * Stops the node, copies its logs to {@code target/it-logs} and deletes its directory. A node that does not stop
     * with {@code rabbitmqctl shutdown} gets SIGKILL, sent to the processes this object started.
     */
    @Override
    public synchronized void close() throws IOException, InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        removeShutdownHook();
        try {
            stop();
        } finally {
            killServer();
            keepLogs();
            deleteDirectory();
        }
    }

    private void writeConfiguration() throws IOException {
        Files.writeString(
                directory.resolve("rabbitmq.conf"),
                "management.tcp.ip = " + LOCAL_HOST + "\nmanagement.tcp.port = " + managementPort + "\n");
        Files.writeString(directory.resolve("enabled_plugins"), "[rabbitmq_management].\n");
        // Read instead of /etc/rabbitmq/rabbitmq-env.conf, which names the shared node.
        Files.writeString(
                directory.resolve("rabbitmq-env.conf"), "# private test node: settings come from the environment\n");
    }

    private void configureEnvironment(Map<String, String> environment) {
        environment.keySet().removeIf(name -> name.startsWith("RABBITMQ_"));
        environment.put("HOME", directory.toString());
        environment.put(
                "RABBITMQ_CONF_ENV_FILE", directory.resolve("rabbitmq-env.conf").toString());
        environment.put("RABBITMQ_NODENAME", nodeName);
        environment.put("RABBITMQ_NODE_IP_ADDRESS", LOCAL_HOST);
        environment.put("RABBITMQ_NODE_PORT", Integer.toString(amqpPort));
        environment.put("RABBITMQ_DIST_PORT", Integer.toString(distributionPort));
        environment.put("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}");
        environment.put("ERL_EPMD_ADDRESS", LOCAL_HOST);
        environment.put(
                "RABBITMQ_CONFIG_FILE", directory.resolve("rabbitmq.conf").toString());
        environment.put(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                directory.resolve("advanced.config").toString());
        environment.put(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                directory.resolve("enabled_plugins").toString());
        environment.put("RABBITMQ_MNESIA_BASE", directory.resolve("mnesia").toString());
        environment.put("RABBITMQ_LOG_BASE", directory.resolve("log").toString());
        environment.put("RABBITMQ_PID_FILE", directory.resolve("node.pid").toString());
    }

    private void awaitStartup() {
        await("broker node " + nodeName + " started; see " + directory.resolve("server.log"))
                .atMost(STARTUP_TIMEOUT)
                .pollInterval(Duration.ofSeconds(1))
                .failFast("broker node " + nodeName + " exited during startup", () -> !server.isAlive())
                .until(() -> runRabbitmqctl(Duration.ofSeconds(20), "await_startup", "--timeout", "10")
                                .exitCode()
                        == 0);
    }

    private CommandResult runRabbitmqctl(Duration timeout, String... arguments)
            throws IOException, InterruptedException {
        List<String> command =
                new ArrayList<>(List.of(SCRIPTS.resolve("rabbitmqctl").toString(), "-n", nodeName));
        command.addAll(List.of(arguments));
        Path output = Files.createTempFile(directory, "rabbitmqctl-", ".out");
        try {
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            configureEnvironment(builder.environment());
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
                return new CommandResult(
                        -1, "timed out after " + timeout.toSeconds() + " s: " + Files.readString(output));
            }
            return new CommandResult(process.exitValue(), Files.readString(output));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private record CommandResult(int exitCode, String output) {}

    private void killServer() throws InterruptedException {
        if (server == null) {
            return;
        }
        // The start script runs the Erlang VM as its child, so SIGKILL goes to the whole tree this object started.
        server.descendants().forEach(ProcessHandle::destroyForcibly);
        server.destroyForcibly();
        server.waitFor(10, TimeUnit.SECONDS);
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOCAL_HOST, port), 500);
            return true;
        } catch (IOException ex) {
            return false;
        }
    }

    private void keepLogs() throws IOException {
        Path target = Path.of("target", "it-logs");
        Files.createDirectories(target);
        String prefix = nodeName.substring(0, nodeName.indexOf('@'));
        copyIfExists(directory.resolve("server.log"), target.resolve(prefix + "-server.log"));
        copyIfExists(directory.resolve("log").resolve(nodeName + ".log"), target.resolve(prefix + ".log"));
    }

    private static void copyIfExists(Path source, Path target) throws IOException {
        if (Files.isRegularFile(source)) {
            Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private void deleteDirectory() throws IOException {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(PrivateBroker::delete);
        }
    }

    private static void delete(Path path) {
        try {
            Files.delete(path);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ex) {
            // The JVM is shutting down and this is the hook running; it cannot be removed then.
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException ex) {
            LOGGER.log(System.Logger.Level.WARNING, "cleaning up broker node " + nodeName + " failed", ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
