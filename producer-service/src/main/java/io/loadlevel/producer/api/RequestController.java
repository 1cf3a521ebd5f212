package io.loadlevel.producer.api;

import io.loadlevel.common.RequestEnvelope;
import io.loadlevel.common.status.RequestStatusStore;
import io.loadlevel.producer.ProducerProperties;
import io.loadlevel.producer.api.RequestSubmission.IdempotentCall;
import io.loadlevel.producer.idempotency.IdempotencyStore;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.support.ServletUriComponentsBuilder;

/**
 * Accepts requests and reports their status.
 *
 * <p>Both handlers respond through {@link ResponseWaiter}. On platform threads they return a future, so the servlet
 * thread is released while the broker confirms or Redis replies. On virtual threads the request thread waits.
 */
@RestController
@RequestMapping(RequestController.BASE_PATH)
class RequestController {

    static final String BASE_PATH = "/api/v1/requests";
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final String CLIENT_ID = "X-Client-Id";
    static final String ANONYMOUS_CLIENT = "anonymous";
    private static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;
    private static final int MAX_CLIENT_ID_LENGTH = 128;
    private static final Logger log = LoggerFactory.getLogger(RequestController.class);

    private final SubmittedRequestParser parser;
    private final RequestSubmission submission;
    private final RequestStatusStore statusStore;
    private final ProducerProperties properties;
    private final ResponseWaiter waiter;
    private final Clock clock = Clock.systemUTC();

    RequestController(
            SubmittedRequestParser parser,
            RequestSubmission submission,
            RequestStatusStore statusStore,
            ProducerProperties properties,
            ResponseWaiter waiter) {
        this.parser = parser;
        this.submission = submission;
        this.statusStore = statusStore;
        this.properties = properties;
        this.waiter = waiter;
    }

    /**
     * Publishes the request and responds 202 only after the broker confirmed it and did not return it. With an
     * {@code Idempotency-Key}, repeated and concurrent submissions by one client publish once and get one id. The
     * client is the {@code X-Client-Id} header, which a gateway in front of the service sets after authentication, or
     * {@code anonymous} without it.
     */
    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    Object submit(
            HttpServletRequest servletRequest,
            @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String idempotencyKey,
            @RequestHeader(name = CLIENT_ID, required = false) String clientId)
            throws IOException {
        validateHeader(IDEMPOTENCY_KEY, idempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH);
        validateHeader(CLIENT_ID, clientId, MAX_CLIENT_ID_LENGTH);
        byte[] body = readBody(servletRequest);
        SubmittedRequest request = parser.parse(body);
        RequestEnvelope envelope = new RequestEnvelope(
                UUID.randomUUID(),
                request.type(),
                request.key(),
                request.payload(),
                Instant.ofEpochMilli(clock.millis()));
        URI collection =
                ServletUriComponentsBuilder.fromCurrentRequestUri().build().toUri();
        log.debug("Publishing {} request {}", envelope.type().wireName(), envelope.id());
        if (idempotencyKey == null) {
            return waiter.respond(submission.submit(envelope, collection));
        }
        String client = clientId == null ? ANONYMOUS_CLIENT : clientId;
        IdempotentCall call = new IdempotentCall(client, idempotencyKey, IdempotencyStore.fingerprint(body));
        return waiter.respond(submission.submit(envelope, collection, call));
    }

    @GetMapping("/{id}")
    Object status(@PathVariable String id) {
        UUID requestId = parseId(id);
        CompletableFuture<ResponseEntity<Object>> answer = statusStore
                .find(requestId)
                .thenApply(found -> found.<ResponseEntity<Object>>map(
                                record -> ResponseEntity.ok(RequestStatusView.of(record)))
                        .orElseGet(() -> notFound(requestId)))
                .exceptionally(error -> {
                    log.warn("Reading the status of request {} failed: {}", requestId, error.getMessage());
                    return Problems.unavailable(
                            "status_store_unavailable",
                            "the status store did not answer for request " + requestId,
                            properties.retryAfter(),
                            false);
                });
        return waiter.respond(answer);
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

    /** Accepts an absent header, or 1 to {@code maxLength} visible ASCII characters. */
    private static void validateHeader(String name, String value, int maxLength) {
        if (value == null) {
            return;
        }
        if (value.isEmpty() || value.length() > maxLength) {
            throw new InvalidRequestException(
                    name,
                    "invalid-header",
                    name + " must be 1 to " + maxLength + " characters, but was " + value.length());
        }
        for (int i = 0; i < value.length(); i++) {
            char character = value.charAt(i);
            if (character < 0x21 || character > 0x7e) {
                throw new InvalidRequestException(
                        name,
                        "invalid-header",
                        name + " must contain only visible ASCII characters, but has "
                                + String.format("U+%04X", (int) character) + " at position " + i);
            }
        }
    }

    private static UUID parseId(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException ex) {
            throw new InvalidRequestException(
                    "id", "not-uuid", "request id '" + id + "' is not a UUID; use the id from the 202 response");
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
