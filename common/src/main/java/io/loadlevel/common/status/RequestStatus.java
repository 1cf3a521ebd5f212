package io.loadlevel.common.status;

/**
 * Lifecycle state of a request. A status only moves to a higher rank, or sideways between the non-terminal states of
 * one rank, so a late or repeated delivery can never turn COMPLETED back into PROCESSING.
 */
public enum RequestStatus {
    ACCEPTED(0),
    PROCESSING(1),
    RETRYING(1),
    COMPLETED(2),
    DEAD_LETTERED(2);

    static final int TERMINAL_RANK = 2;

    private final int rank;

    RequestStatus(int rank) {
        this.rank = rank;
    }

    int rank() {
        return rank;
    }

    public boolean isTerminal() {
        return rank == TERMINAL_RANK;
    }

    /** Returns whether a request in this status may move to {@code next}; the Redis script applies the same rule. */
    public boolean canMoveTo(RequestStatus next) {
        return next.rank > rank || (next.rank == rank && !isTerminal());
    }
}
