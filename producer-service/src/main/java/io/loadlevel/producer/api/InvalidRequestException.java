package io.loadlevel.producer.api;

/**
 * A request body that breaks an input rule; it becomes a 400 problem that names the field and the rule.
 *
 * @see ProblemHandler
 */
public class InvalidRequestException extends RuntimeException {

    private final String field;
    private final String rule;

    /**
     * @param field JSON field that broke the rule, or null when the body as a whole did
     * @param rule short, stable name of the rule, for clients that act on it
     * @param message what is wrong, with the value that broke the rule and what to send instead
     */
    public InvalidRequestException(String field, String rule, String message) {
        super(message);
        this.field = field;
        this.rule = rule;
    }

    String field() {
        return field;
    }

    String rule() {
        return rule;
    }
}
