package io.loadlevel.common.status;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

class StatusConfigurationTests {

    @Test
    void redisClusterIsRejectedAtStart() {
        // Port 1 has no server; creating the cluster client does not connect yet.
        LettuceConnectionFactory cluster =
                new LettuceConnectionFactory(new RedisClusterConfiguration(List.of("127.0.0.1:1")));
        cluster.afterPropertiesSet();
        StatusProperties properties =
                new StatusProperties(Duration.ofHours(1), "status:", "processed:", "effect:", Duration.ofSeconds(2));
        try {
            assertThatThrownBy(() -> new StatusConfiguration().storeConnection(cluster, properties))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Redis Cluster")
                    .hasMessageContaining("spring.data.redis.cluster");
        } finally {
            cluster.destroy();
        }
    }
}
