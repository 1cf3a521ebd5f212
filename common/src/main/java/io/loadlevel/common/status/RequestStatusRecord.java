package io.loadlevel.common.status;

import io.loadlevel.common.RequestType;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * Status of one request as stored in Redis.
 *
 * @param attempts number of times a consumer started the work
 * @param startedAt when a consumer last started the work, or null
 * @param completedAt when the request reached a terminal status, or null
 * @param lastError why the last attempt failed, or null
 * @param replays number of times an operator replayed the request from the dead-letter queue
 */
public record RequestStatusRecord(
        UUID id,
        RequestType type,
        String key,
        RequestStatus status,
        int attempts,
        Instant acceptedAt,
        Instant startedAt,
        Instant completedAt,
        Instant updatedAt,
        String lastError,
        int replays) {

    static RequestStatusRecord fromHash(UUID id, Map<String, String> hash) {
        return new RequestStatusRecord(
                id,
                RequestType.fromWireName(hash.get("type")).orElse(null),
                hash.get("key"),
                RequestStatus.valueOf(hash.get("status")),
                Integer.parseInt(hash.getOrDefault("attempts", "0")),
                instant(hash.get("acceptedAt")),
                instant(hash.get("startedAt")),
                instant(hash.get("completedAt")),
                instant(hash.get("updatedAt")),
                hash.get("lastError"),
                Integer.parseInt(hash.getOrDefault("replays", "0")));
    }

    private static Instant instant(String epochMillis) {
        return epochMillis == null ? null : Instant.ofEpochMilli(Long.parseLong(epochMillis));
    }
}
