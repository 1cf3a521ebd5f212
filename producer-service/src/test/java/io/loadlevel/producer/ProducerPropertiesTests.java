package io.loadlevel.producer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

/** Binding and validation of the producer's settings. */
class ProducerPropertiesTests {

    private final ApplicationContextRunner runner =
            new ApplicationContextRunner().withUserConfiguration(PropertiesConfiguration.class);

    @Test
    void publishChannelsDefaultsToTwo() {
        runner.run(
                context -> assertThat(context.getBean(ProducerProperties.class).publishChannels())
                        .isEqualTo(2));
    }

    @Test
    void publishChannelsAcceptsRangeEnd() {
        runner.withPropertyValues("loadlevel.producer.publish-channels=64")
                .run(context -> assertThat(
                                context.getBean(ProducerProperties.class).publishChannels())
                        .isEqualTo(64));
    }

    @ParameterizedTest
    @CsvSource({"0, must be greater than or equal to 1", "65, must be less than or equal to 64"})
    void publishChannelsOutsideRangeStopsStart(String value, String rule) {
        runner.withPropertyValues("loadlevel.producer.publish-channels=" + value)
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(context.getStartupFailure())
                            .hasStackTraceContaining("loadlevel.producer")
                            .hasStackTraceContaining("publishChannels")
                            .hasStackTraceContaining("rejected value [" + value + "]")
                            .hasStackTraceContaining(rule);
                });
    }

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(ProducerProperties.class)
    static class PropertiesConfiguration {}
}
