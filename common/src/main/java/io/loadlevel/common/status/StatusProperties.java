package io.loadlevel.common.status;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Storage settings of request status in Redis: key prefixes, lifetime and timeout.
 *
 * @param ttl time a status entry lives after its last change
 * @param keyPrefix prefix of the status hash keys; the request id follows it
 * @param ledgerKeyPrefix prefix of the processed-ledger keys, which mark a request whose effect was applied
 * @param effectKeyPrefix prefix of the effect counters, incremented once per applied effect
 * @param timeout maximum time one status read or write may take before it counts as failed
 */
@Validated
@ConfigurationProperties("loadlevel.status")
public record StatusProperties(
        @NotNull @DefaultValue("24h") Duration ttl,
        @NotBlank @DefaultValue("loadlevel:status:") String keyPrefix,
        @NotBlank @DefaultValue("loadlevel:processed:") String ledgerKeyPrefix,
        @NotBlank @DefaultValue("loadlevel:effect:") String effectKeyPrefix,
        @NotNull @DefaultValue("2s") Duration timeout) {}
