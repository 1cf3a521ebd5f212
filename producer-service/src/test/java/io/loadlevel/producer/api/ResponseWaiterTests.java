package io.loadlevel.producer.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.springframework.http.ResponseEntity;
import org.springframework.mock.env.MockEnvironment;

class ResponseWaiterTests {

    @Test
    void platformThreadsGetTheFuture() {
        CompletableFuture<ResponseEntity<Object>> pending = new CompletableFuture<>();

        assertThat(new ResponseWaiter(false).respond(pending)).isSameAs(pending);
    }

    @Test
    void waitingReturnsTheResponse() {
        ResponseEntity<Object> accepted = ResponseEntity.accepted().build();
        CompletableFuture<ResponseEntity<Object>> pending = new CompletableFuture<>();
        new Thread(() -> pending.complete(accepted)).start();

        assertThat(new ResponseWaiter(true).respond(pending)).isSameAs(accepted);
    }

    @Test
    void waitingRethrowsTheCause() {
        IllegalStateException failure = new IllegalStateException("broken");

        assertThatThrownBy(() -> new ResponseWaiter(true).respond(CompletableFuture.failedFuture(failure)))
                .isSameAs(failure);
    }

    @Test
    void waitsOnlyOnJava21VirtualThreads() {
        MockEnvironment environment = new MockEnvironment().withProperty("spring.threads.virtual.enabled", "true");
        boolean java21OrNewer = Runtime.version().feature() >= 21;

        assertThat(new ResponseWaiter(environment).waitsOnRequestThread()).isEqualTo(java21OrNewer);
        assertThat(new ResponseWaiter(new MockEnvironment()).waitsOnRequestThread())
                .isFalse();
    }
}
