package io.loadlevel.producer.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.loadlevel.common.RequestType;
import io.loadlevel.common.status.RequestStatus;
import io.loadlevel.common.status.RequestStatusRecord;
import java.time.Instant;
import java.util.UUID;

/** Body of a status response. Timestamps not reached yet are left out. */
@JsonInclude(JsonInclude.Include.NON_NULL)
record RequestStatusView(
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

    static RequestStatusView of(RequestStatusRecord record) {
        return new RequestStatusView(
                record.id(),
                record.type(),
                record.key(),
                record.status(),
                record.attempts(),
                record.acceptedAt(),
                record.startedAt(),
                record.completedAt(),
                record.updatedAt(),
                record.lastError(),
                record.replays());
    }
}
