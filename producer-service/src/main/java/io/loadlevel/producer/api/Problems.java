package io.loadlevel.producer.api;

import java.net.URI;
import java.time.Duration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;

/** RFC 9457 problem types of the API and the responses built from them. */
final class Problems {

    static final URI INVALID_REQUEST = URI.create("urn:loadlevel:problem:invalid-request");
    static final URI BODY_TOO_LARGE = URI.create("urn:loadlevel:problem:body-too-large");
    static final URI UNSUPPORTED_MEDIA_TYPE = URI.create("urn:loadlevel:problem:unsupported-media-type");
    static final URI NOT_FOUND = URI.create("urn:loadlevel:problem:request-not-found");
    static final URI UNAVAILABLE = URI.create("urn:loadlevel:problem:unavailable");
    static final URI IDEMPOTENCY_CONFLICT = URI.create("urn:loadlevel:problem:idempotency-conflict");
    static final URI IDEMPOTENCY_KEY_REUSED = URI.create("urn:loadlevel:problem:idempotency-key-reused");

    private Problems() {}

    static ProblemDetail problem(HttpStatus status, URI type, String title, String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(type);
        problem.setTitle(title);
        return problem;
    }

    static ResponseEntity<Object> answer(ProblemDetail problem) {
        return ResponseEntity.status(problem.getStatus())
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }

    /**
     * Builds a 503 whose Retry-After is in whole seconds, at least one.
     *
     * @param mayBeStored whether the broker may have stored the request all the same; the problem's {@code stored}
     *     property is then {@code unknown}, otherwise {@code no}
     */
    static ResponseEntity<Object> unavailable(String reason, String detail, Duration retryAfter, boolean mayBeStored) {
        long seconds = Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        ProblemDetail problem = problem(
                HttpStatus.SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                "Service Unavailable",
                detail + "; retry after " + seconds + " s");
        problem.setProperty("reason", reason);
        problem.setProperty("stored", mayBeStored ? "unknown" : "no");
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, Long.toString(seconds))
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }
}
