"""Arrival-rate profile of the spike run: baseline, spike, baseline.

Pure Python (standard library only), so the unit tests and the runner use it without Locust installed.
Rates are in requests per second and times in seconds since the shape started.
"""

import math
from dataclasses import dataclass

# Requests per second that one Locust user sends through constant_throughput, so a rate needs rate / 2.5 users.
# A user whose request takes longer than 400 ms falls below its share, so the runner measures the rate reached.
USER_THROUGHPUT = 2.5


@dataclass(frozen=True)
class Phase:
    """One stretch of the profile with a constant target rate."""

    name: str
    seconds: float
    rate: float


@dataclass(frozen=True)
class SpikeProfile:
    """Baseline at `baseline_rate`, a spike at `spike_rate`, then the baseline again."""

    baseline_rate: float
    spike_rate: float
    baseline_seconds: float
    spike_seconds: float
    recovery_seconds: float

    def __post_init__(self):
        for field in ("baseline_seconds", "spike_seconds", "recovery_seconds"):
            if getattr(self, field) <= 0:
                raise ValueError(f"{field} must be > 0, but was {getattr(self, field)}")
        if self.baseline_rate < 0:
            raise ValueError(f"baseline_rate must be >= 0, but was {self.baseline_rate}")
        if self.spike_rate <= self.baseline_rate:
            raise ValueError(f"spike_rate must be > baseline_rate {self.baseline_rate}, but was {self.spike_rate}")

    @classmethod
    def for_capacity(cls, capacity, spike_rate=None, scale=1.0, short=False):
        """Build the default profile for a consumer capacity in messages per second.

        The baseline is half the capacity and the spike defaults to 12 times the capacity, which leaves
        room for the first seconds of the spike, when the producer is still warming up. The phases
        last 20 s, 25 s and 20 s (10 s each with `short`), multiplied by `scale`.
        """
        if capacity <= 0:
            raise ValueError(f"capacity must be > 0 messages per second, but was {capacity}")
        seconds = (10.0, 10.0, 10.0) if short else (20.0, 25.0, 20.0)
        return cls(
            baseline_rate=capacity / 2.0,
            spike_rate=float(spike_rate) if spike_rate is not None else 12.0 * capacity,
            baseline_seconds=seconds[0] * scale,
            spike_seconds=seconds[1] * scale,
            recovery_seconds=seconds[2] * scale,
        )

    def phases(self):
        return [
            Phase("baseline", self.baseline_seconds, self.baseline_rate),
            Phase("spike", self.spike_seconds, self.spike_rate),
            Phase("recovery", self.recovery_seconds, self.baseline_rate),
        ]

    @property
    def total_seconds(self):
        return self.baseline_seconds + self.spike_seconds + self.recovery_seconds

    @property
    def spike_window(self):
        """Start and end of the spike, in seconds since the shape started."""
        return self.baseline_seconds, self.baseline_seconds + self.spike_seconds

    def phase_at(self, elapsed):
        """Return the phase that runs at `elapsed` seconds, or None before 0 and from the end on."""
        if elapsed < 0:
            return None
        start = 0.0
        for phase in self.phases():
            if elapsed < start + phase.seconds:
                return phase
            start += phase.seconds
        return None

    def rate_at(self, elapsed):
        """Return the target rate at `elapsed` seconds, or None when the profile has ended."""
        phase = self.phase_at(elapsed)
        return None if phase is None else phase.rate

    def to_dict(self):
        return {
            "baseline_rate": self.baseline_rate,
            "spike_rate": self.spike_rate,
            "baseline_seconds": self.baseline_seconds,
            "spike_seconds": self.spike_seconds,
            "recovery_seconds": self.recovery_seconds,
        }


def users_for_rate(rate, user_throughput=USER_THROUGHPUT):
    """Return how many constant-throughput users send `rate` requests per second (at least one)."""
    if user_throughput <= 0:
        raise ValueError(f"user_throughput must be > 0, but was {user_throughput}")
    return max(1, math.ceil(rate / user_throughput - 1e-9))
