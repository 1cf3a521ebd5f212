package io.loadlevel.common.test;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Redis server of its own for tests that stop and restart Redis, so the shared Redis on port 6379 is never touched.
 * It runs {@code redis-server} as a child process on a free port on 127.0.0.1 without persistence, so a restart
 * starts empty. Its output goes to a log file under {@code target/it-logs}.
 */
public final class PrivateRedis implements AutoCloseable {

    private static final System.Logger LOGGER = System.getLogger(PrivateRedis.class.getName());
    private static final String LOCAL_HOST = "127.0.0.1";
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private final int port;
    private final Path log;
    private final Thread shutdownHook = new Thread(this::closeQuietly, "private-redis-cleanup");
    private Process server;
    private boolean closed;

    private PrivateRedis(int port, Path log) {
        this.port = port;
        this.log = log;
    }

    /** Starts Redis on a free port and waits until it replies to PING; a shutdown hook stops it at JVM exit. */
    public static PrivateRedis launch() throws IOException {
        Path logDirectory = Path.of("target", "it-logs");
        Files.createDirectories(logDirectory);
        int port = ServiceProcess.freePort();
        PrivateRedis redis = new PrivateRedis(port, logDirectory.resolve("private-redis-" + port + ".log"));
        Runtime.getRuntime().addShutdownHook(redis.shutdownHook);
        try {
            redis.start();
        } catch (IOException | RuntimeException ex) {
            redis.closeQuietly();
            throw ex;
        }
        return redis;
    }

    public int port() {
        return port;
    }

    public boolean isRunning() {
        return server != null && server.isAlive();
    }

    /**
     * Returns the arguments that point a service started as a process at this server. They set
     * {@code spring.data.redis.url}, which Spring Boot prefers to host and port, because a later
     * {@code --spring.data.redis.port} does not override the one from {@link LocalServices#commandLineArguments()}.
     * Spring joins the two values with a comma, and the service then fails to start.
     */
    public List<String> commandLineArguments() {
        return List.of("--spring.data.redis.url=redis://" + LOCAL_HOST + ":" + port);
    }

    /** Starts the stopped server again on the same port and waits until it replies to PING. */
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("Redis on port " + port + " is closed");
        }
        if (isRunning()) {
            throw new IllegalStateException("Redis on port " + port + " is already running");
        }
        server = new ProcessBuilder(
                        "redis-server",
                        "--port",
                        Integer.toString(port),
                        "--bind",
                        LOCAL_HOST,
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "no")
                .redirectErrorStream(true)
                .redirectOutput(Redirect.appendTo(log.toFile()))
                .start();
        await("Redis on port " + port + " replies to PING; see " + log.toAbsolutePath())
                .atMost(STARTUP_TIMEOUT)
                .pollInterval(Duration.ofMillis(100))
                .failFast("redis-server exited during startup; see " + log.toAbsolutePath(), () -> !server.isAlive())
                .until(this::replies);
    }

    /** Stops the server with SIGTERM, SIGKILL after 10 s, and waits until the port no longer accepts connections. */
    public synchronized void stop() throws InterruptedException {
        if (!isRunning()) {
            return;
        }
        server.destroy();
        if (!server.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            server.destroyForcibly();
            server.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
        await("Redis port " + port + " closed")
                .atMost(STOP_TIMEOUT)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> !accepts());
    }

    @Override
    public synchronized void close() throws InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ex) {
            // The JVM is shutting down and this is the hook running; it cannot be removed then.
        }
        stop();
    }

    private boolean replies() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOCAL_HOST, port), 500);
            socket.setSoTimeout(1000);
            socket.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream input = socket.getInputStream();
            byte[] reply = input.readNBytes(7);
            return new String(reply, StandardCharsets.US_ASCII).equals("+PONG\r\n");
        } catch (IOException ex) {
            return false;
        }
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOCAL_HOST, port), 500);
            return true;
        } catch (IOException ex) {
            return false;
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException ex) {
            LOGGER.log(System.Logger.Level.WARNING, "stopping Redis on port " + port + " failed", ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
