package io.loadlevel.common.status;

import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.StringCodec;
import io.loadlevel.common.redis.StoreConnection;
import java.time.Clock;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Wires the Redis status store onto one Lettuce connection of its own.
 *
 * <p>The connection comes from the Lettuce client that Spring Boot configures from {@code spring.data.redis.*}, so it
 * has the same address, credentials, TLS and client options. The stores call Lettuce's asynchronous API on it
 * directly: in the benchmark's profile, Spring Data Redis's reactive script execution took more CPU than the scripts'
 * round trips.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(StatusProperties.class)
public class StatusConfiguration {

    @Bean(destroyMethod = "close")
    StoreConnection storeConnection(LettuceConnectionFactory connectionFactory, StatusProperties properties) {
        if (!(connectionFactory.getRequiredNativeClient() instanceof RedisClient client)) {
            throw new IllegalStateException("loadlevel keeps its status in a standalone or Sentinel Redis, but"
                    + " spring.data.redis configures a Redis Cluster client; remove spring.data.redis.cluster.*");
        }
        return new StoreConnection(() -> client.connect(StringCodec.UTF8), properties.timeout());
    }

    @Bean
    RequestStatusStore requestStatusStore(StoreConnection storeConnection, StatusProperties properties) {
        return new RequestStatusStore(storeConnection, properties, Clock.systemUTC());
    }
}
