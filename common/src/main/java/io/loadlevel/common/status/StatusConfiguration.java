package io.loadlevel.common.status;

import java.time.Clock;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/** Wires the Redis status store from Spring Boot's auto-configured reactive Lettuce template. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(StatusProperties.class)
public class StatusConfiguration {

    @Bean
    RequestStatusStore requestStatusStore(ReactiveStringRedisTemplate redis, StatusProperties properties) {
        return new RequestStatusStore(redis, properties, Clock.systemUTC());
    }
}
