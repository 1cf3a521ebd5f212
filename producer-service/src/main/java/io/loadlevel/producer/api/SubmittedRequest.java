package io.loadlevel.producer.api;

import io.loadlevel.common.RequestType;
import tools.jackson.databind.node.ObjectNode;

/** A request body that passed every input rule. */
record SubmittedRequest(RequestType type, String key, ObjectNode payload) {}
