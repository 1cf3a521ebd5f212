package io.loadlevel.producer.api;

import io.loadlevel.producer.ProducerProperties;
import io.loadlevel.producer.publish.IngressMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.AmqpException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/** Turns input errors into RFC 9457 problems and counts each one as a rejected request. */
@RestControllerAdvice
class ProblemHandler extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);

    private final IngressMetrics metrics;
    private final ProducerProperties properties;

    ProblemHandler(IngressMetrics metrics, ProducerProperties properties) {
        this.metrics = metrics;
        this.properties = properties;
    }

    @ExceptionHandler
    ResponseEntity<Object> invalidRequest(InvalidRequestException ex) {
        metrics.rejectedInput(IngressMetrics.INVALID);
        ProblemDetail problem =
                Problems.problem(HttpStatus.BAD_REQUEST, Problems.INVALID_REQUEST, "Invalid request", ex.getMessage());
        if (ex.field() != null) {
            problem.setProperty("field", ex.field());
        }
        problem.setProperty("rule", ex.rule());
        return Problems.answer(problem);
    }

    @ExceptionHandler
    ResponseEntity<Object> bodyTooLarge(BodyTooLargeException ex) {
        metrics.rejectedInput(IngressMetrics.TOO_LARGE);
        return Problems.answer(Problems.problem(
                HttpStatus.CONTENT_TOO_LARGE, Problems.BODY_TOO_LARGE, "Content Too Large", ex.getMessage()));
    }

    /** Turns a broker failure outside the publish path, such as during a dead-letter listing or replay, with 503. */
    @ExceptionHandler
    ResponseEntity<Object> brokerFailure(AmqpException ex) {
        log.warn("A broker operation failed: {}", ex.getMessage());
        return Problems.unavailable(
                "broker_unavailable",
                "the broker operation failed (" + ex.getMessage() + "); messages not yet moved stay where they were",
                properties.retryAfter(),
                false);
    }

    @Override
    protected ResponseEntity<Object> handleHttpMediaTypeNotSupported(
            HttpMediaTypeNotSupportedException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        metrics.rejectedInput(IngressMetrics.UNSUPPORTED_MEDIA_TYPE);
        String actual = ex.getContentType() == null
                ? "Content-Type is missing"
                : "Content-Type '" + ex.getContentType() + "' is not supported";
        ProblemDetail problem = Problems.problem(
                HttpStatus.UNSUPPORTED_MEDIA_TYPE,
                Problems.UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                actual + "; send the body as application/json");
        HttpHeaders answerHeaders = new HttpHeaders();
        answerHeaders.putAll(headers);
        return handleExceptionInternal(ex, problem, answerHeaders, status, request);
    }
}
