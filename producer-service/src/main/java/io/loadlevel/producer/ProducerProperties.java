package io.loadlevel.producer;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Ingress settings.
 *
 * @param confirmTimeout maximum time to wait for the broker's publisher confirm before responding 503
 * @param maxBodySize maximum size of a request body; larger bodies get 413
 * @param retryAfter Retry-After sent with a 503 when the broker nacks, returns or does not confirm in time
 * @param maxRetryAfter upper bound of the Retry-After derived from the drain rate for a full queue
 * @param idempotencyTtl time an Idempotency-Key is remembered after its last use
 * @param publishChannels channels, each with its own publishing thread, that requests are published on
 */
@Validated
@ConfigurationProperties("loadlevel.producer")
public record ProducerProperties(
        @NotNull @DefaultValue("5s") Duration confirmTimeout,
        @NotNull @DefaultValue("64KB") DataSize maxBodySize,
        @NotNull @DefaultValue("5s") Duration retryAfter,
        @NotNull @DefaultValue("60s") Duration maxRetryAfter,
        @NotNull @DefaultValue("24h") Duration idempotencyTtl,
        @Min(1) @Max(64) @DefaultValue("2") int publishChannels) {}
