package io.loadlevel.consumer.listener;

import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.loadlevel.consumer.ConsumerProperties;
import java.time.Duration;
import org.springframework.stereotype.Component;

/**
 * Holds listener threads so that this instance starts at most {@code loadlevel.consumer.rate-limit} messages per
 * second, however many threads it runs. The permits refresh in small periods rather than once a second, so the pace is
 * even instead of a burst at the start of each second.
 */
@Component
class Pacer {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long MIN_PERIOD_NANOS = 1_000_000L;

    private final RateLimiter rateLimiter;

    Pacer(ConsumerProperties properties) {
        this.rateLimiter = properties.rateLimit() > 0 ? rateLimiter(properties.rateLimit()) : null;
    }

    /** Blocks until the next message may start; returns at once when no rate limit is set. */
    void acquire() throws InterruptedException {
        if (rateLimiter == null) {
            return;
        }
        while (!rateLimiter.acquirePermission()) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("interrupted while waiting for the rate limit");
            }
        }
    }

    /**
     * Builds a limiter with the smallest refresh period, at least 1 ms, that hands out a whole number of permits at
     * exactly {@code perSecond}.
     */
    static RateLimiter rateLimiter(double perSecond) {
        int permitsPerPeriod = (int) Math.max(1, Math.ceil(perSecond * MIN_PERIOD_NANOS / NANOS_PER_SECOND));
        long periodNanos = Math.round(permitsPerPeriod * NANOS_PER_SECOND / perSecond);
        RateLimiterConfig config = RateLimiterConfig.custom()
                .limitForPeriod(permitsPerPeriod)
                .limitRefreshPeriod(Duration.ofNanos(periodNanos))
                .timeoutDuration(Duration.ofSeconds(1))
                .build();
        return RateLimiter.of("consumer-pace", config);
    }
}
