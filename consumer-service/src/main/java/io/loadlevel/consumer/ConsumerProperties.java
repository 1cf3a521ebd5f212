package io.loadlevel.consumer;

import io.loadlevel.common.RequestType;
import jakarta.validation.Valid;
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
 * @param work simulated work duration per request type
 */
@Validated
@ConfigurationProperties("loadlevel.consumer")
public record ConsumerProperties(
        @Min(1) @Max(65535) @DefaultValue("10") int prefetch,
        @Min(1) @Max(1000) @DefaultValue("1") int concurrency,
        @NotNull @DefaultValue("30s") Duration shutdownTimeout,
        @PositiveOrZero @DefaultValue("0") double rateLimit,
        @Valid @NotNull @DefaultValue Work work) {

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
}
