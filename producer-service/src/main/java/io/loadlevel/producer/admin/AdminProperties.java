package io.loadlevel.producer.admin;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of the admin endpoints under {@code /admin}.
 *
 * @param token bearer token the admin endpoints require; when empty they respond 403 and do nothing
 * @param maxReplayRate maximum messages per second a replay may move back to the work queue
 */
@Validated
@ConfigurationProperties("loadlevel.admin")
public record AdminProperties(
        @DefaultValue("") String token,
        @Min(1) @Max(10_000) @DefaultValue("1000") int maxReplayRate) {

    boolean enabled() {
        return token != null && !token.isBlank();
    }
}
