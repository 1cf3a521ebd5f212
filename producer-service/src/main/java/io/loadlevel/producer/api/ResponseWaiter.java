package io.loadlevel.producer.api;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.thread.Threading;
import org.springframework.core.env.Environment;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

/**
 * Hands a pending response to Spring MVC in the cheaper way for the thread model.
 *
 * <p>On virtual threads (Java 21 and newer with {@code spring.threads.virtual.enabled}), the request thread waits for
 * the response. A waiting virtual thread costs little, and Tomcat then writes the response in the same dispatch: an
 * asynchronous result takes a second dispatch through the filters and the {@code DispatcherServlet}, which the
 * benchmark's profile showed costing more CPU than the handler itself. On platform threads, the handler returns the
 * future, so no thread of Tomcat's bounded pool waits for the broker or Redis. Either way, every step of a response has
 * its own timeout, so a wait ends.
 */
@Component
class ResponseWaiter {

    private final boolean waitOnRequestThread;

    @Autowired
    ResponseWaiter(Environment environment) {
        this(Threading.VIRTUAL.isActive(environment));
    }

    ResponseWaiter(boolean waitOnRequestThread) {
        this.waitOnRequestThread = waitOnRequestThread;
    }

    /** Returns the response once it is ready on a virtual thread, or the future on a platform thread. */
    Object respond(CompletableFuture<ResponseEntity<Object>> pending) {
        if (!waitOnRequestThread) {
            return pending;
        }
        try {
            return pending.join();
        } catch (CompletionException ex) {
            if (ex.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw ex;
        }
    }

    boolean waitsOnRequestThread() {
        return waitOnRequestThread;
    }
}
