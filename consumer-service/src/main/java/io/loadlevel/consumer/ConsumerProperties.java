package io.loadlevel.consumer;

import io.loadlevel.common.RequestType;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Consumer settings.
 *
 * @param prefetch unacknowledged messages the broker sends each listener thread ahead of its work (basic.qos)
 * @param concurrency listener threads, each with its own channel and prefetch
 * @param shutdownTimeout maximum time the listener waits, on shutdown, for work in progress to finish and be acked
 * @param rateLimit maximum messages per second this instance starts, 0 for no limit
 * @param maxUnfinishedStarts starts of one request that never finished before the request is dead-lettered instead of
 *     started again. A start stays unfinished when a consumer crashes or is killed during it. The bound stops a crash
 *     loop whatever the broker version counts against the quorum queue's delivery limit
 * @param faultInjection whether a payload's {@code _fault} object may make the simulated handler fail or crash; for
 *     tests and fault runs only
 * @param work simulated work duration per request type
 * @param retry backoff for failed attempts
 */
@Validated
@ConfigurationProperties("loadlevel.consumer")
public record ConsumerProperties(
        @Min(1) @Max(65535) @DefaultValue("10") int prefetch,
        @Min(1) @Max(1000) @DefaultValue("1") int concurrency,
        @NotNull @DefaultValue("30s") Duration shutdownTimeout,
        @PositiveOrZero @DefaultValue("0") double rateLimit,
        @Min(1) @DefaultValue("5") int maxUnfinishedStarts,
        @DefaultValue("false") boolean faultInjection,
        @Valid @NotNull @DefaultValue Work work,
        @Valid @NotNull @DefaultValue Retry retry) {

    /**
     * Time the simulated handler of each type spends on one request, standing in for a downstream call.
     *
     * @param notification duration of one notification
     * @param order duration of one order
     * @param payment duration of one payment
     */
    public record Work(
            @NotNull @DefaultValue("20ms") Duration notification,
            @NotNull @DefaultValue("50ms") Duration order,
            @NotNull @DefaultValue("100ms") Duration payment) {

        public Duration durationOf(RequestType type) {
            return switch (type) {
                case NOTIFICATION -> notification;
                case ORDER -> order;
                case PAYMENT -> payment;
            };
        }
    }

    /**
     * Exponential backoff with jitter between attempts. Attempt n + 1 waits {@code initialDelay × multiplier^(n-1)},
     * capped at {@code maxDelay}, then varied by up to ± {@code jitter} of itself.
     *
     * @param maxAttempts attempts in all, the first included; after the last one the message is dead-lettered
     * @param initialDelay wait before the second attempt
     * @param multiplier factor between consecutive waits
     * @param maxDelay maximum wait before one attempt
     * @param jitter fraction of each wait, between 0 and 1, by which it varies at random
     */
    public record Retry(
            @Min(1) @Max(20) @DefaultValue("4") int maxAttempts,
            @NotNull @DefaultValue("1s") Duration initialDelay,
            @DecimalMin("1.0") @DefaultValue("2.0") double multiplier,
            @NotNull @DefaultValue("60s") Duration maxDelay,

            @DecimalMin("0.0") @DecimalMax("1.0") @DefaultValue("0.2")
            double jitter) {}
}
