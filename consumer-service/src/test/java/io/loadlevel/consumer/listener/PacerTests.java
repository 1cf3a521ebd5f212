package io.loadlevel.consumer.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PacerTests {

    @ParameterizedTest(name = "{0} per second")
    @ValueSource(doubles = {0.5, 1, 50, 333, 1000, 1500, 25_000})
    void limiterHandsOutExactlyTheConfiguredRate(double perSecond) {
        RateLimiterConfig config = Pacer.rateLimiter(perSecond).getRateLimiterConfig();

        double actual = config.getLimitForPeriod()
                * 1e9
                / config.getLimitRefreshPeriod().toNanos();

        assertThat(actual).isCloseTo(perSecond, org.assertj.core.data.Percentage.withPercentage(0.01));
        assertThat(config.getLimitRefreshPeriod().toNanos()).isGreaterThanOrEqualTo(1_000_000L);
    }
}
