package io.loadlevel.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Invariants of the Kubernetes manifests under k8s/: every file that a kustomization lists under {@code resources},
 * read as plain YAML. Patches are not applied, so the test needs neither a cluster nor kubectl; {@code bash
 * k8s/check.sh} checks the same invariants on the rendered output.
 */
class DeploymentManifestsTests {

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)?");

    /** Extra time the consumer gives the lifecycle phase that stops its listener, beyond the shutdown timeout. */
    private static final Duration SHUTDOWN_PHASE_MARGIN = Duration.ofSeconds(5);

    private static Path k8s;

    private static List<Map<String, Object>> manifests;

    @BeforeAll
    static void loadManifests() throws IOException {
        k8s = repositoryRoot().resolve("k8s");
        Set<Path> resources = new LinkedHashSet<>();
        try (Stream<Path> files = Files.walk(k8s)) {
            files.filter(file -> file.getFileName().toString().equals("kustomization.yaml"))
                    .forEach(kustomization -> resources.addAll(resourceFiles(kustomization)));
        }
        manifests = new ArrayList<>();
        resources.forEach(file -> manifests.addAll(kubernetesObjects(file)));
    }

    @Test
    void consumerHasNoService() {
        List<Map<String, Object>> services = objects("Service");

        assertThat(services).isNotEmpty();
        for (Map<String, Object> service : services) {
            Map<String, Object> selector = map(map(service, "spec"), "selector");
            assertThat(selector.get("app.kubernetes.io/name"))
                    .as("selector of Service %s", name(service))
                    .isNotEqualTo("consumer");
        }
    }

    @Test
    void consumerGracePeriodCoversPreStopAndShutdown() {
        Map<String, Object> podSpec = podSpec(object("Deployment", "consumer"));
        Duration preStop = preStopSleep(firstContainer(podSpec));
        Duration shutdownTimeout = duration(consumerConfig().get("LOADLEVEL_CONSUMER_SHUTDOWN_TIMEOUT"));

        Duration gracePeriod = Duration.ofSeconds(((Number) podSpec.get("terminationGracePeriodSeconds")).longValue());

        assertThat(gracePeriod)
                .isGreaterThanOrEqualTo(preStop.plus(shutdownTimeout).plus(SHUTDOWN_PHASE_MARGIN));
    }

    @Test
    void shutdownTimeoutCoversPrefetchTimesWorstCaseWork() {
        Map<String, Object> config = consumerConfig();
        int prefetch =
                Integer.parseInt(config.get("LOADLEVEL_CONSUMER_PREFETCH").toString());
        Duration worstCaseWork = config.entrySet().stream()
                .filter(entry -> entry.getKey().startsWith("LOADLEVEL_CONSUMER_WORK_"))
                .map(entry -> duration(entry.getValue()))
                .max(Duration::compareTo)
                .orElseThrow();

        Duration shutdownTimeout = duration(config.get("LOADLEVEL_CONSUMER_SHUTDOWN_TIMEOUT"));

        assertThat(shutdownTimeout).isGreaterThanOrEqualTo(worstCaseWork.multipliedBy(prefetch));
    }

    @ParameterizedTest
    @ValueSource(strings = {"producer", "consumer"})
    void probesUseHealthGroupsOnNamedPorts(String deployment) {
        Map<String, Object> container = firstContainer(podSpec(object("Deployment", deployment)));
        List<Object> portNames = list(container, "ports").stream()
                .map(port -> cast(port).get("name"))
                .toList();

        Map<String, Object> liveness = map(map(container, "livenessProbe"), "httpGet");
        Map<String, Object> readiness = map(map(container, "readinessProbe"), "httpGet");

        assertThat(liveness.get("path")).isEqualTo("/actuator/health/liveness");
        assertThat(readiness.get("path")).isEqualTo("/actuator/health/readiness");
        assertThat(liveness.get("port")).isInstanceOf(String.class).isIn(portNames);
        assertThat(readiness.get("port")).isInstanceOf(String.class).isIn(portNames);
    }

    @Test
    void everyContainerHasResources() {
        List<Map<String, Object>> workloads = new ArrayList<>(objects("Deployment"));
        workloads.addAll(objects("StatefulSet"));

        assertThat(workloads).isNotEmpty();
        for (Map<String, Object> workload : workloads) {
            Map<String, Object> podSpec = podSpec(workload);
            List<Object> containers = new ArrayList<>(list(podSpec, "initContainers"));
            containers.addAll(list(podSpec, "containers"));
            for (Object container : containers) {
                Map<String, Object> resources = map(cast(container), "resources");
                String where = name(workload) + "/" + cast(container).get("name");
                assertThat(map(resources, "requests"))
                        .as("requests of %s", where)
                        .containsKeys("cpu", "memory");
                assertThat(map(resources, "limits")).as("limits of %s", where).containsKey("memory");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"producer", "consumer"})
    void brokerCredentialsComeFromSecret(String deployment) {
        Map<String, Object> container = firstContainer(podSpec(object("Deployment", deployment)));

        for (String variable : List.of("SPRING_RABBITMQ_USERNAME", "SPRING_RABBITMQ_PASSWORD")) {
            Map<String, Object> env = list(container, "env").stream()
                    .map(DeploymentManifestsTests::cast)
                    .filter(entry -> variable.equals(entry.get("name")))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(deployment + " does not set " + variable));
            assertThat(env).as("%s of %s", variable, deployment).doesNotContainKey("value");
            assertThat(map(env, "valueFrom"))
                    .as("%s of %s", variable, deployment)
                    .containsKey("secretKeyRef");
        }
    }

    @Test
    void configMapsHoldNoPasswords() {
        for (Map<String, Object> configMap : objects("ConfigMap")) {
            assertThat(map(configMap, "data").keySet())
                    .as("keys of ConfigMap %s", name(configMap))
                    .noneMatch(key -> key.toUpperCase().contains("PASSWORD"));
        }
    }

    @Test
    void kedaTriggerCountsUnacknowledgedMessages() {
        Map<String, Object> scaledObject = object("ScaledObject", "consumer");
        Map<String, Object> trigger =
                cast(list(map(scaledObject, "spec"), "triggers").get(0));
        Map<String, Object> metadata = map(trigger, "metadata");

        assertThat(trigger.get("type")).isEqualTo("rabbitmq");
        assertThat(metadata.get("queueName")).isEqualTo("loadlevel.requests.work");
        assertThat(metadata.get("mode")).isEqualTo("QueueLength");
        assertThat(metadata.get("protocol")).isEqualTo("http");
        assertThat(metadata.getOrDefault("excludeUnacknowledged", "false")).isEqualTo("false");
        assertThat(map(trigger, "authenticationRef")).containsKey("name");
    }

    @Test
    void kedaOverlayLeavesReplicaCountToKeda() throws IOException {
        String kustomization = Files.readString(k8s.resolve("overlays/keda/kustomization.yaml"));

        assertThat(kustomization)
                .contains("name: consumer")
                .contains("op: remove")
                .contains("path: /spec/replicas");
    }

    private static Path repositoryRoot() {
        Path directory = Path.of("").toAbsolutePath();
        while (directory != null && !Files.isDirectory(directory.resolve("k8s"))) {
            directory = directory.getParent();
        }
        if (directory == null) {
            throw new IllegalStateException(
                    "No folder k8s/ above " + Path.of("").toAbsolutePath());
        }
        return directory;
    }

    /** Lists the files named under {@code resources} of one kustomization; folders are kustomizations of their own. */
    private static List<Path> resourceFiles(Path kustomization) {
        Map<String, Object> content = kubernetesObjects(kustomization, true).get(0);
        return list(content, "resources").stream()
                .map(entry -> kustomization.resolveSibling(entry.toString()).normalize())
                .filter(Files::isRegularFile)
                .toList();
    }

    private static List<Map<String, Object>> kubernetesObjects(Path file) {
        return kubernetesObjects(file, false);
    }

    private static List<Map<String, Object>> kubernetesObjects(Path file, boolean kustomization) {
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
        List<Map<String, Object>> objects = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file)) {
            for (Object document : yaml.loadAll(reader)) {
                if (document instanceof Map<?, ?> object
                        && object.containsKey("kind")
                        && "Kustomization".equals(object.get("kind")) == kustomization) {
                    objects.add(cast(object));
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("Cannot read " + file, ex);
        }
        return objects;
    }

    private static List<Map<String, Object>> objects(String kind) {
        return manifests.stream()
                .filter(object -> kind.equals(object.get("kind")))
                .toList();
    }

    private static Map<String, Object> object(String kind, String name) {
        Optional<Map<String, Object>> match = objects(kind).stream()
                .filter(object -> name.equals(name(object)))
                .findFirst();
        return match.orElseThrow(() -> new AssertionError("No " + kind + " " + name + " under " + k8s));
    }

    private static Map<String, Object> consumerConfig() {
        return map(object("ConfigMap", "consumer-config"), "data");
    }

    private static Map<String, Object> podSpec(Map<String, Object> workload) {
        return map(map(map(workload, "spec"), "template"), "spec");
    }

    private static Map<String, Object> firstContainer(Map<String, Object> podSpec) {
        return cast(list(podSpec, "containers").get(0));
    }

    /** Reads the preStop hook, either {@code sleep: {seconds: N}} or {@code exec: [sleep, N]}. */
    private static Duration preStopSleep(Map<String, Object> container) {
        Map<String, Object> preStop = map(map(container, "lifecycle"), "preStop");
        if (preStop.containsKey("sleep")) {
            return Duration.ofSeconds(((Number) map(preStop, "sleep").get("seconds")).longValue());
        }
        List<Object> command = list(map(preStop, "exec"), "command");
        assertThat(command).as("preStop command").hasSize(2).first().isEqualTo("sleep");
        return Duration.ofSeconds(Long.parseLong(command.get(1).toString()));
    }

    /** Parses a Spring Boot duration such as 100ms or 30s; a bare number is milliseconds. */
    private static Duration duration(Object value) {
        Matcher matcher = DURATION.matcher(String.valueOf(value).trim());
        assertThat(matcher.matches()).as("duration %s", value).isTrue();
        long amount = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "ms" : matcher.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofDays(amount);
        };
    }

    private static String name(Map<String, Object> object) {
        return String.valueOf(map(object, "metadata").get("name"));
    }

    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        return value == null ? Map.of() : cast(value);
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        return value == null ? List.of() : (List<Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Object value) {
        return (Map<String, Object>) value;
    }
}
