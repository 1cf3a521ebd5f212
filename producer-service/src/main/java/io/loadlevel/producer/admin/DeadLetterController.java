package io.loadlevel.producer.admin;

import io.loadlevel.producer.admin.DeadLetterService.DeadLetter;
import io.loadlevel.producer.admin.DeadLetterService.ReplayResult;
import io.loadlevel.producer.api.InvalidRequestException;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Dead-letter operations for operators: count and list the dead-lettered requests with their reasons, and replay them
 * to the work queue at a bounded rate. Every call needs the admin bearer token.
 */
@RestController
@RequestMapping("/admin/dead-letters")
class DeadLetterController {

    static final int MAX_LIST = 500;
    static final int MAX_REPLAY = 100_000;
    static final int DEFAULT_REPLAY_RATE = 50;
    static final int DEFAULT_REPLAY_ALL = 1000;

    private final DeadLetterService deadLetters;
    private final AdminProperties properties;

    DeadLetterController(DeadLetterService deadLetters, AdminProperties properties) {
        this.deadLetters = deadLetters;
        this.properties = properties;
    }

    record Listing(long count, List<DeadLetter> messages) {}

    /**
     * @param ids request ids to replay; null replays from the head of the queue
     * @param all must be true when {@code ids} is null, so that an empty body never replays everything
     * @param max maximum number of messages to replay
     * @param ratePerSecond maximum messages per second
     */
    record ReplayRequest(List<String> ids, Boolean all, Integer max, Integer ratePerSecond) {}

    @GetMapping
    Listing list(@RequestParam(defaultValue = "50") int limit) {
        if (limit < 1 || limit > MAX_LIST) {
            throw new InvalidRequestException(
                    "limit", "out-of-range", "limit must be between 1 and " + MAX_LIST + ", but was " + limit);
        }
        return new Listing(deadLetters.count(), deadLetters.list(limit));
    }

    @PostMapping("/replay")
    ReplayResult replay(@RequestBody ReplayRequest request) {
        boolean all = Boolean.TRUE.equals(request.all());
        if (all == (request.ids() != null)) {
            throw new InvalidRequestException(
                    "ids",
                    "ids-or-all",
                    "send either \"ids\": [request ids] or \"all\": true, not " + (all ? "both" : "neither"));
        }
        if (request.ids() != null) {
            request.ids().forEach(DeadLetterController::checkId);
        }
        int defaultMax = all ? DEFAULT_REPLAY_ALL : MAX_REPLAY;
        int max = request.max() == null ? defaultMax : request.max();
        if (max < 1 || max > MAX_REPLAY) {
            throw new InvalidRequestException(
                    "max", "out-of-range", "max must be between 1 and " + MAX_REPLAY + ", but was " + max);
        }
        int rate = request.ratePerSecond() == null ? DEFAULT_REPLAY_RATE : request.ratePerSecond();
        if (rate < 1 || rate > properties.maxReplayRate()) {
            throw new InvalidRequestException(
                    "ratePerSecond",
                    "out-of-range",
                    "ratePerSecond must be between 1 and " + properties.maxReplayRate()
                            + " (loadlevel.admin.max-replay-rate), but was " + rate);
        }
        return deadLetters.replay(all ? null : Set.copyOf(request.ids()), max, rate);
    }

    private static void checkId(String id) {
        try {
            UUID.fromString(id);
        } catch (IllegalArgumentException | NullPointerException ex) {
            throw new InvalidRequestException("ids", "not-uuid", "request id '" + id + "' is not a UUID");
        }
    }
}
