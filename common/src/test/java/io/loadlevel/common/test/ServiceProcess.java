package io.loadlevel.common.test;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A loadlevel service started from its executable jar as a separate operating-system process, so tests can stop it
 * with SIGTERM or kill it with SIGKILL like an orchestrator would. Its output goes to a log file under
 * {@code target/it-logs}.
 */
public final class ServiceProcess implements AutoCloseable {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    private final String name;
    private final int port;
    private final Process process;
    private final Path log;

    private ServiceProcess(String name, int port, Process process, Path log) {
        this.name = name;
        this.port = port;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts the jar with the test's broker and Redis endpoints, on {@code port}, with the extra arguments, and waits
     * until its readiness group is UP.
     */
    public static ServiceProcess start(String name, Path jar, int port, List<String> arguments) throws IOException {
        ServiceProcess service = launch(name, jar, port, arguments);
        service.awaitReady(Duration.ofSeconds(60));
        return service;
    }

    /** Starts the jar like {@link #start} without waiting for readiness, for a service that is expected to fail. */
    public static ServiceProcess launch(String name, Path jar, int port, List<String> arguments) throws IOException {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("executable jar " + jar.toAbsolutePath()
                    + " does not exist; build it first with ./mvnw -B package -DskipTests");
        }
        Path logDirectory = Path.of("target", "it-logs");
        Files.createDirectories(logDirectory);
        Path log = logDirectory.resolve(name + "-" + System.currentTimeMillis() + ".log");
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("-Xmx256m");
        command.add("-jar");
        command.add(jar.toString());
        command.add("--server.port=" + port);
        command.addAll(LocalServices.commandLineArguments());
        command.addAll(arguments);
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new ServiceProcess(name, port, process, log);
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public int port() {
        return port;
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Sends SIGTERM, the signal Kubernetes and Docker send first, and waits up to {@code timeout} for the exit. */
    public boolean terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Sends SIGKILL, which gives the service no chance to finish anything, and waits for the exit. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Waits up to {@code timeout} for the process to exit by itself and returns whether it did. */
    public boolean awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public int exitCode() {
        return process.exitValue();
    }

    public String logText() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    /** Waits until the readiness group is UP; fails at once when the process exits first. */
    public void awaitReady(Duration timeout) {
        URI readiness = uri("/actuator/health/readiness");
        await(name + " readiness on port " + port)
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(250))
                .failFast(name + " exited before it was ready; see " + log.toAbsolutePath(), () -> !process.isAlive())
                .until(() -> isUp(readiness));
    }

    /** Returns whether the readiness group reports UP now. */
    public boolean isReady() {
        return isUp(uri("/actuator/health/readiness"));
    }

    private static boolean isUp(URI readiness) {
        try {
            HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(readiness)
                            .timeout(Duration.ofSeconds(2))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200;
        } catch (IOException ex) {
            return false;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
