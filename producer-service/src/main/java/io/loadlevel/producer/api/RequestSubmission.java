package io.loadlevel.producer.api;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.producer.ProducerProperties;
import io.loadlevel.producer.idempotency.IdempotencyStore;
import io.loadlevel.producer.idempotency.IdempotencyStore.Claim;
import io.loadlevel.producer.publish.PublishResult;
import io.loadlevel.producer.publish.PublishResult.Rejected;
import io.loadlevel.producer.publish.QueueDepthMonitor;
import io.loadlevel.producer.publish.RejectionReason;
import io.loadlevel.producer.publish.RequestPublisher;
import java.net.URI;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

/**
 * Turns a valid request into its response: publishes it, records ACCEPTED after the confirm, and with an
 * Idempotency-Key makes repeated and concurrent submissions of one request publish it once and share one id.
 */
@Component
class RequestSubmission {

    private static final Logger log = LoggerFactory.getLogger(RequestSubmission.class);
    private static final Duration PENDING_POLL = Duration.ofMillis(50);
    private static final Executor POLL_DELAY =
            CompletableFuture.delayedExecutor(PENDING_POLL.toMillis(), TimeUnit.MILLISECONDS);

    private final RequestPublisher publisher;
    private final RequestStatusStore statusStore;
    private final IdempotencyStore idempotency;
    private final QueueDepthMonitor depthMonitor;
    private final ProducerProperties properties;

    RequestSubmission(
            RequestPublisher publisher,
            RequestStatusStore statusStore,
            IdempotencyStore idempotency,
            QueueDepthMonitor depthMonitor,
            ProducerProperties properties) {
        this.publisher = publisher;
        this.statusStore = statusStore;
        this.idempotency = idempotency;
        this.depthMonitor = depthMonitor;
        this.properties = properties;
    }

    /** Publishes a request without an Idempotency-Key. */
    CompletableFuture<ResponseEntity<Object>> submit(RequestEnvelope envelope, URI collection) {
        return publisher.publish(envelope).thenCompose(result -> answer(envelope, collection, result));
    }

    /**
     * Publishes a request with an Idempotency-Key. While another request with the key is publishing, it waits for that
     * outcome for up to the confirm timeout plus one second, then responds 409.
     */
    CompletableFuture<ResponseEntity<Object>> submit(RequestEnvelope envelope, URI collection, IdempotentCall call) {
        long deadlineNanos =
                System.nanoTime() + properties.confirmTimeout().plusSeconds(1).toNanos();
        return claimAndSubmit(envelope, collection, call, deadlineNanos).exceptionally(error -> {
            log.warn("Idempotency store failed for request {}: {}", envelope.id(), error.getMessage());
            return Problems.unavailable(
                    "idempotency_store_unavailable",
                    "the idempotency store did not answer, so a request with an Idempotency-Key cannot be accepted"
                            + " safely now; nothing was published",
                    properties.retryAfter(),
                    false);
        });
    }

    private CompletableFuture<ResponseEntity<Object>> claimAndSubmit(
            RequestEnvelope envelope, URI collection, IdempotentCall call, long deadlineNanos) {
        return idempotency
                .claim(call.client(), call.key(), envelope.id(), call.fingerprint())
                .thenCompose(claim -> {
                    if (!claim.fingerprint().equals(call.fingerprint())) {
                        return CompletableFuture.completedFuture(keyReused(call));
                    }
                    return switch (claim.state()) {
                        case NEW -> publishClaimed(envelope, collection, call);
                        case RETRY -> publishClaimed(withId(envelope, claim.requestId()), collection, call);
                        case ACCEPTED -> CompletableFuture.completedFuture(replayed(claim, collection));
                        case PENDING -> waitForPending(envelope, collection, call, deadlineNanos, claim);
                    };
                });
    }

    private CompletableFuture<ResponseEntity<Object>> publishClaimed(
            RequestEnvelope envelope, URI collection, IdempotentCall call) {
        return publisher.publish(envelope).thenCompose(result -> {
            CompletableFuture<Void> settled;
            if (result instanceof Rejected rejected) {
                settled = rejected.reason().mayBeStored()
                        ? idempotency.markUnknown(call.client(), call.key(), envelope.id())
                        : idempotency.release(call.client(), call.key(), envelope.id());
            } else {
                settled = idempotency.accept(call.client(), call.key(), envelope.id());
            }
            return settled.handle((ignored, error) -> {
                        if (error != null) {
                            log.warn(
                                    "Settling the Idempotency-Key of request {} failed: {}",
                                    envelope.id(),
                                    error.getMessage());
                        }
                        return result;
                    })
                    .thenCompose(settledResult -> answer(envelope, collection, settledResult));
        });
    }

    private CompletableFuture<ResponseEntity<Object>> waitForPending(
            RequestEnvelope envelope, URI collection, IdempotentCall call, long deadlineNanos, Claim claim) {
        if (System.nanoTime() > deadlineNanos) {
            ProblemDetail problem = Problems.problem(
                    HttpStatus.CONFLICT,
                    Problems.IDEMPOTENCY_CONFLICT,
                    "Request In Progress",
                    "a request with Idempotency-Key '" + call.key() + "' (request " + claim.requestId()
                            + ") is still being published; retry after 1 s with the same key");
            return CompletableFuture.completedFuture(ResponseEntity.status(HttpStatus.CONFLICT)
                    .header("Retry-After", "1")
                    .contentType(org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON)
                    .body(problem));
        }
        return CompletableFuture.supplyAsync(() -> null, POLL_DELAY)
                .thenCompose(ignored -> claimAndSubmit(envelope, collection, call, deadlineNanos));
    }

    private CompletableFuture<ResponseEntity<Object>> answer(
            RequestEnvelope envelope, URI collection, PublishResult result) {
        if (result instanceof Rejected rejected) {
            return CompletableFuture.completedFuture(unavailable(envelope, rejected));
        }
        ResponseEntity<Object> accepted = accepted(envelope.id(), collection, false);
        return statusStore.advance(envelope, RequestStatus.ACCEPTED).handle((applied, error) -> {
            if (error != null) {
                log.warn(
                        "Request {} is confirmed, but recording ACCEPTED failed: {}",
                        envelope.id(),
                        error.getMessage());
            }
            return accepted;
        });
    }

    private static ResponseEntity<Object> replayed(Claim claim, URI collection) {
        return accepted(claim.requestId(), collection, true);
    }

    private static ResponseEntity<Object> accepted(UUID id, URI collection, boolean replayed) {
        URI location = URI.create(collection + "/" + id);
        return ResponseEntity.accepted()
                .location(location)
                .header("Idempotent-Replayed", Boolean.toString(replayed))
                .body(new RequestAccepted(id, RequestStatus.ACCEPTED, location.getPath()));
    }

    private static ResponseEntity<Object> keyReused(IdempotentCall call) {
        ProblemDetail problem = Problems.problem(
                HttpStatus.UNPROCESSABLE_CONTENT,
                Problems.IDEMPOTENCY_KEY_REUSED,
                "Idempotency-Key Reused",
                "Idempotency-Key '" + call.key() + "' was used before with a different request body; send the same"
                        + " body to repeat that request, or a new key for a new request");
        problem.setProperty("field", "Idempotency-Key");
        problem.setProperty("rule", "key-reused");
        return Problems.answer(problem);
    }

    private ResponseEntity<Object> unavailable(RequestEnvelope envelope, Rejected rejected) {
        RejectionReason reason = rejected.reason();
        Duration retryAfter =
                reason == RejectionReason.QUEUE_FULL ? depthMonitor.retryAfterWhenFull() : properties.retryAfter();
        String detail = switch (reason) {
            case QUEUE_FULL -> "the work queue is full";
            case TIMEOUT -> "the broker did not confirm the request within " + properties.confirmTimeout();
            case RETURNED -> "the broker could not route the request to the work queue (" + rejected.detail() + ")";
            case NACK -> "the broker did not accept the request (" + rejected.detail() + ")";
            case BROKER_UNAVAILABLE -> "the broker is unreachable";
            case CONNECTION_LOST -> "the broker connection closed before the confirm (" + rejected.detail() + ")";
            case BLOCKED -> "the broker blocks publishing because of a resource alarm";
        };
        String outcome = reason.mayBeStored()
                ? "; request " + envelope.id() + " may still be processed, so retry with the same Idempotency-Key to"
                        + " keep it from being processed twice"
                : "; request " + envelope.id() + " was not accepted";
        ResponseEntity<Object> answer =
                Problems.unavailable(reason.tag(), detail + outcome, retryAfter, reason.mayBeStored());
        ((ProblemDetail) answer.getBody()).setProperty("requestId", envelope.id());
        return answer;
    }

    private static RequestEnvelope withId(RequestEnvelope envelope, UUID id) {
        return new RequestEnvelope(id, envelope.type(), envelope.key(), envelope.payload(), envelope.acceptedAt());
    }

    /**
     * @param client caller the key belongs to
     * @param key the Idempotency-Key header
     * @param fingerprint SHA-256 of the request body
     */
    record IdempotentCall(String client, String key, String fingerprint) {}
}
