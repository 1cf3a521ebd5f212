"""Arithmetic of the spike-run summary: rates from sampled counters, drain time, latency and the audit.

Standard library only. Times are epoch seconds unless a name says elapsed, rates are per second.
"""

import collections
import csv
import math

SAMPLE_COLUMNS = (
    "time",
    "messages",
    "messages_ready",
    "messages_unacknowledged",
    "publish_total",
    "ack_total",
    "accepted_total",
    "rejected_total",
    "processed_total",
    "completed_total",
)


def read_samples(path):
    """Read the sampler's CSV into dicts of floats, with None for a value that could not be sampled."""
    with open(path, newline="") as file:
        return [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(file)]


def timeline(samples):
    """Derive per-interval rates and the backlog from consecutive samples of cumulative counters.

    arrival_rate is the producer's accepted count per second (the broker's publish count when no sample has the
    producer's metric), processing_rate the consumer's processed count per second (else the broker's acks).
    After a failed sample, a rate spans the gap back to the last sample that had the counter.
    backlog is accepted minus processed: it tracks the queue depth every second, while the management API
    refreshes its queue figures only every collect_statistics_interval (5 s by default).
    """
    arrival_key = _first_present(samples, "accepted_total", "publish_total")
    processing_key = _first_present(samples, "processed_total", "ack_total")
    last_seen = {}
    rows = []
    for previous, current in zip(samples, samples[1:]):
        if current["time"] <= previous["time"]:
            continue
        rows.append(
            {
                "time": current["time"],
                "arrival_rate": _rate_since_last(last_seen, previous, current, arrival_key),
                "processing_rate": _rate_since_last(last_seen, previous, current, processing_key),
                "backlog": backlog(current),
                "messages": current.get("messages"),
                "messages_ready": current.get("messages_ready"),
                "messages_unacknowledged": current.get("messages_unacknowledged"),
            }
        )
    return rows


def backlog(sample):
    """Return accepted minus processed for one sample, or None when either counter is missing."""
    return _difference(sample.get("accepted_total"), sample.get("processed_total"))


def counter_at(samples, key, at):
    """Return the counter `key` of the last sample taken at or before `at`, linearly interpolated to `at`."""
    points = [(sample["time"], sample[key]) for sample in samples if sample.get(key) is not None]
    if not points or at < points[0][0]:
        return None
    for (start, start_value), (end, end_value) in zip(points, points[1:]):
        if start <= at <= end:
            return start_value + (end_value - start_value) * (at - start) / (end - start)
    return points[-1][1]


def mean_rate(samples, key, start, end):
    """Return the mean rate of counter `key` between two times, or None when it is not known."""
    first = counter_at(samples, key, start)
    last = counter_at(samples, key, end)
    if first is None or last is None or end <= start:
        return None
    return (last - first) / (end - start)


def peak_moving_average(rows, key, width):
    """Return the maximum mean of `width` consecutive values of `key`, or None when there are fewer."""
    values = [row[key] for row in rows if row.get(key) is not None]
    if len(values) < width:
        return None
    return max(sum(values[index : index + width]) / width for index in range(len(values) - width + 1))


def percentile(values, fraction):
    """Return the nearest-rank percentile (fraction 0..1) of the values, or None when there are none."""
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def drain_end(rows, spike_end, threshold):
    """Return the time of the first row after the spike whose backlog is at most `threshold`, or None."""
    for row in rows:
        if row["time"] >= spike_end and row["backlog"] is not None and row["backlog"] <= threshold:
            return row["time"]
    return None


def drain_threshold(capacity):
    """Return the backlog below which the queue counts as drained: a tenth of a second of work, at least 2.

    Baseline arrivals keep a message or two in flight, so the backlog rarely stays at exactly 0.
    """
    return max(2.0, capacity / 10.0)


def latency_percentiles(stats_csv_path):
    """Read request count, failure count and the 50th, 95th and 99th percentile (ms) of Locust's Aggregated row."""
    with open(stats_csv_path, newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50_ms": _number(row["50%"]),
                    "p95_ms": _number(row["95%"]),
                    "p99_ms": _number(row["99%"]),
                    "max_ms": _number(row["Max Response Time"]),
                }
    raise ValueError(f"no Aggregated row in {stats_csv_path}")


def sent_rates(history_csv_path):
    """Return (time, requests per second) from the Aggregated rows of Locust's full stats history."""
    points = []
    with open(history_csv_path, newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                points.append((float(row["Timestamp"]), int(row["Total Request Count"])))
    return [
        (end, (end_count - start_count) / (end - start))
        for (start, start_count), (end, end_count) in zip(points, points[1:])
        if end > start
    ]


def merge_status_counts(counts_per_process):
    """Add up the per-process counts of responses by HTTP status (keys are status codes as strings)."""
    total = collections.Counter()
    for counts in counts_per_process:
        total.update({int(status): count for status, count in counts.items()})
    return total


def audit(accepted_ids, status_by_id):
    """Compare the accepted ids with their Redis status: every id accepted with 202 must be COMPLETED.

    `status_by_id` maps an id to its status field, or to None when its loadlevel:status hash is missing.
    """
    unique_ids = set(accepted_ids)
    not_completed = collections.Counter()
    missing = 0
    for request_id in unique_ids:
        status = status_by_id.get(request_id)
        if status is None:
            missing += 1
        elif status != "COMPLETED":
            not_completed[status] += 1
    completed = len(unique_ids) - missing - sum(not_completed.values())
    return {
        "accepted": len(unique_ids),
        "duplicate_ids": len(accepted_ids) - len(unique_ids),
        "completed": completed,
        "not_completed": dict(sorted(not_completed.items())),
        "missing": missing,
        "lost": len(unique_ids) - completed,
    }


def _first_present(samples, key, fallback_key):
    return key if any(sample.get(key) is not None for sample in samples) else fallback_key


def _rate_since_last(last_seen, previous, current, key):
    if previous.get(key) is not None:
        last_seen[key] = (previous["time"], previous[key])
    if current.get(key) is None or key not in last_seen:
        return None
    last_time, last_value = last_seen[key]
    return (current[key] - last_value) / (current["time"] - last_time)


def _difference(minuend, subtrahend):
    if minuend is None or subtrahend is None:
        return None
    return minuend - subtrahend


def _number(value):
    if value in (None, "", "N/A"):
        return None
    return float(value)
