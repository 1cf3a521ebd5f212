package io.loadlevel.producer.api;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.producer.ProducerProperties;
import io.loadlevel.producer.publish.PublishResult;
import io.loadlevel.producer.publish.PublishResult.Rejected;
import io.loadlevel.producer.publish.QueueDepthMonitor;
import io.loadlevel.producer.publish.RejectionReason;
import io.loadlevel.producer.publish.RequestPublisher;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.support.ServletUriComponentsBuilder;

/**
 * Accepts requests and reports their status.
 *
 * <p>Both handlers return a future, so the servlet thread is released while the broker confirms or Redis answers.
 */
@RestController
@RequestMapping(RequestController.BASE_PATH)
class RequestController {

    static final String BASE_PATH = "/api/v1/requests";
    private static final Logger log = LoggerFactory.getLogger(RequestController.class);

    private final SubmittedRequestParser parser;
    private final RequestPublisher publisher;
    private final RequestStatusStore statusStore;
    private final QueueDepthMonitor depthMonitor;
    private final ProducerProperties properties;
    private final Clock clock = Clock.systemUTC();

    RequestController(
            SubmittedRequestParser parser,
            RequestPublisher publisher,
            RequestStatusStore statusStore,
            QueueDepthMonitor depthMonitor,
            ProducerProperties properties) {
        this.parser = parser;
        this.publisher = publisher;
        this.statusStore = statusStore;
        this.depthMonitor = depthMonitor;
        this.properties = properties;
    }

    /**
     * Publishes the request and answers 202 only after the broker confirmed it and did not return it. The ACCEPTED
     * status is written after the confirm; when Redis fails the answer is still 202, because the message is safe.
     */
    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    CompletableFuture<ResponseEntity<Object>> submit(HttpServletRequest servletRequest) throws IOException {
        SubmittedRequest request = parser.parse(readBody(servletRequest));
        RequestEnvelope envelope = new RequestEnvelope(
                UUID.randomUUID(),
                request.type(),
                request.key(),
                request.payload(),
                Instant.ofEpochMilli(clock.millis()));
        URI location = ServletUriComponentsBuilder.fromCurrentRequestUri()
                .path("/{id}")
                .buildAndExpand(envelope.id())
                .toUri();
        MDC.put("requestId", envelope.id().toString());
        try {
            log.debug("Publishing {} request {}", envelope.type().wireName(), envelope.id());
        } finally {
            MDC.remove("requestId");
        }
        return publisher.publish(envelope).thenCompose(result -> answer(envelope, location, result));
    }

    @GetMapping("/{id}")
    CompletableFuture<ResponseEntity<Object>> status(@PathVariable String id) {
        UUID requestId = parseId(id);
        return statusStore
                .find(requestId)
                .thenApply(found -> found.<ResponseEntity<Object>>map(
                                record -> ResponseEntity.ok(RequestStatusView.of(record)))
                        .orElseGet(() -> notFound(requestId)))
                .exceptionally(error -> {
                    log.warn("Reading the status of request {} failed: {}", requestId, error.getMessage());
                    return Problems.unavailable(
                            "status_store_unavailable",
                            "the status store did not answer for request " + requestId,
                            properties.retryAfter());
                });
    }

    private CompletableFuture<ResponseEntity<Object>> answer(
            RequestEnvelope envelope, URI location, PublishResult result) {
        if (result instanceof Rejected rejected) {
            return CompletableFuture.completedFuture(unavailable(envelope, rejected));
        }
        ResponseEntity<Object> accepted = ResponseEntity.accepted()
                .location(location)
                .body(new RequestAccepted(envelope.id(), RequestStatus.ACCEPTED, location.getPath()));
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

    private ResponseEntity<Object> unavailable(RequestEnvelope envelope, Rejected rejected) {
        Duration retryAfter = rejected.reason() == RejectionReason.QUEUE_FULL
                ? depthMonitor.retryAfterWhenFull()
                : properties.retryAfter();
        String detail = switch (rejected.reason()) {
            case QUEUE_FULL -> "the work queue is full";
            case TIMEOUT -> "the broker did not confirm the request within " + properties.confirmTimeout();
            case RETURNED -> "the broker could not route the request to the work queue (" + rejected.detail() + ")";
            case NACK -> "the broker did not accept the request (" + rejected.detail() + ")";
            case BROKER_UNAVAILABLE -> "the broker is unreachable";
        };
        return Problems.unavailable(
                rejected.reason().tag(), detail + "; request " + envelope.id() + " was not accepted", retryAfter);
    }

    private byte[] readBody(HttpServletRequest request) throws IOException {
        long maxSize = properties.maxBodySize().toBytes();
        long declaredSize = request.getContentLengthLong();
        if (declaredSize > maxSize) {
            throw new BodyTooLargeException(declaredSize, maxSize);
        }
        byte[] body = request.getInputStream().readNBytes((int) Math.min(Integer.MAX_VALUE - 1, maxSize) + 1);
        if (body.length > maxSize) {
            throw new BodyTooLargeException(-1, maxSize);
        }
        return body;
    }

    private static UUID parseId(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException ex) {
            throw new InvalidRequestException(
                    "id", "not-uuid", "request id '" + id + "' is not a UUID; use the id from the 202 answer");
        }
    }

    private static ResponseEntity<Object> notFound(UUID id) {
        return Problems.answer(Problems.problem(
                HttpStatus.NOT_FOUND,
                Problems.NOT_FOUND,
                "Request Not Found",
                "no request with id " + id + " is known; it was never accepted or its status expired"));
    }
}
