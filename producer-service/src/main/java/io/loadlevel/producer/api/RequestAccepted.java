package io.loadlevel.producer.api;

import io.loadlevel.common.status.RequestStatus;
import java.util.UUID;

/** Body of a 202 answer. */
record RequestAccepted(UUID id, RequestStatus status, String statusUrl) {}
