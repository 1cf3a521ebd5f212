package io.loadlevel.producer.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;

/**
 * Every REST API test again, with the request thread waiting for each response as it does on virtual threads, so the
 * waiting mode is tested on Java 17 too.
 */
@Import(WaitingResponseApiIntegrationTests.WaitOnRequestThread.class)
class WaitingResponseApiIntegrationTests extends RequestApiIntegrationTests {

    @Autowired
    ResponseWaiter waiter;

    @Test
    void requestThreadWaits() {
        assertThat(waiter.waitsOnRequestThread()).isTrue();
    }

    @TestConfiguration
    static class WaitOnRequestThread {

        @Bean
        @Primary
        ResponseWaiter waitingResponseWaiter() {
            return new ResponseWaiter(true);
        }
    }
}
