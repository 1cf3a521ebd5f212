package io.loadlevel.common.status;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestStatusTests {

    @ParameterizedTest(name = "{0} -> {1}: {2}")
    @CsvSource({
        "ACCEPTED, PROCESSING, true",
        "ACCEPTED, COMPLETED, true",
        "PROCESSING, PROCESSING, true",
        "PROCESSING, RETRYING, true",
        "RETRYING, PROCESSING, true",
        "PROCESSING, COMPLETED, true",
        "PROCESSING, DEAD_LETTERED, true",
        "PROCESSING, ACCEPTED, false",
        "COMPLETED, PROCESSING, false",
        "COMPLETED, ACCEPTED, false",
        "COMPLETED, COMPLETED, false",
        "COMPLETED, DEAD_LETTERED, false",
        "DEAD_LETTERED, COMPLETED, false"
    })
    void transitionFollowsMonotonicRule(RequestStatus from, RequestStatus to, boolean allowed) {
        assertThat(from.canMoveTo(to)).isEqualTo(allowed);
    }
}
