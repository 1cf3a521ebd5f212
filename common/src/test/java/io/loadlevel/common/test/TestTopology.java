package io.loadlevel.common.test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.amqp.core.AmqpAdmin;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * Exchange and queue names private to one test class, so tests never see each other's messages or the names a
 * running system uses.
 */
public record TestTopology(String prefix, int maxLength) {

    public static TestTopology unique(String testName) {
        return unique(testName, 100_000);
    }

    public static TestTopology unique(String testName, int maxLength) {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        return new TestTopology("test." + testName + "." + suffix, maxLength);
    }

    public String exchange() {
        return prefix + ".requests";
    }

    public String workQueue() {
        return prefix + ".work";
    }

    public String deadLetterExchange() {
        return prefix + ".dlx";
    }

    public String deadLetterQueue() {
        return prefix + ".dead";
    }

    public String routingKey() {
        return "work";
    }

    public Map<String, String> properties() {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("loadlevel.topology.exchange", exchange());
        properties.put("loadlevel.topology.work-queue", workQueue());
        properties.put("loadlevel.topology.dead-letter-exchange", deadLetterExchange());
        properties.put("loadlevel.topology.dead-letter-queue", deadLetterQueue());
        properties.put("loadlevel.topology.max-length", Integer.toString(maxLength));
        return properties;
    }

    public void register(DynamicPropertyRegistry registry) {
        properties().forEach((key, value) -> registry.add(key, () -> value));
    }

    public List<String> commandLineArguments() {
        return properties().entrySet().stream()
                .map(entry -> "--" + entry.getKey() + "=" + entry.getValue())
                .toList();
    }

    /** Highest retry level whose delay queue {@link #delete} removes; the consumer allows at most 20 attempts. */
    private static final int MAX_RETRY_LEVEL = 20;

    /** Deletes every queue and exchange of this topology, the consumer's delay queues too; missing ones are skipped. */
    public void delete(AmqpAdmin admin) {
        deleteWithDelayQueues(admin, workQueue());
        admin.deleteQueue(deadLetterQueue());
        admin.deleteExchange(exchange());
        admin.deleteExchange(deadLetterExchange());
    }

    /** Deletes {@code queue} and the delay queues {@code <queue>.retry.<n>} a consumer declares for it. */
    public static void deleteWithDelayQueues(AmqpAdmin admin, String queue) {
        admin.deleteQueue(queue);
        for (int level = 1; level < MAX_RETRY_LEVEL; level++) {
            admin.deleteQueue(queue + ".retry." + level);
        }
    }
}
