"""Assemble the figures of one spike run into the summary dict and its printed text. Standard library only."""

import summary

SPIKE_FACTOR = 10.0


def build(samples, shape_start, profile, capacity, status_counts, latency, sent, audit_result, drained_at):
    """Return the run's summary as a dict of plain values (it becomes summary.json).

    `samples` are sampler rows, `shape_start` the epoch second the load shape started, `sent` Locust's
    (time, rate) points, `drained_at` the epoch second the run saw an empty queue (None when it never did).
    """
    rows = summary.timeline(samples)
    spike_start = shape_start + profile.spike_window[0]
    spike_end = shape_start + profile.spike_window[1]
    drain_end = summary.drain_end(rows, spike_end, summary.drain_threshold(capacity))
    level_end = drain_end if drain_end is not None else (drained_at or samples[-1]["time"])
    leveled_rates = [row["processing_rate"] for row in rows if spike_start <= row["time"] <= level_end]
    spike_arrival = summary.mean_rate(samples, "accepted_total", spike_start, spike_end)
    if spike_arrival is None:
        spike_arrival = summary.mean_rate(samples, "publish_total", spike_start, spike_end)
    sent_in_spike = [rate for time, rate in sent if spike_start <= time <= spike_end]
    rejected = {str(status): count for status, count in sorted(status_counts.items()) if status != 202}
    return {
        "profile": profile.to_dict(),
        "capacity_msg_per_s": capacity,
        "requests": {
            "sent": sum(status_counts.values()),
            "accepted": status_counts.get(202, 0),
            "rejected_by_status": rejected,
            "locust_requests": latency["requests"],
            "locust_failures": latency["failures"],
        },
        "ingress_latency_ms": {key: latency[key] for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
        "arrival": {
            "spike_mean_req_per_s": spike_arrival,
            "peak_5s_req_per_s": summary.peak_moving_average(rows, "arrival_rate", 5),
            "sent_peak_req_per_s": max(sent_in_spike) if sent_in_spike else None,
            "spike_over_capacity": spike_arrival / capacity if spike_arrival is not None else None,
            "spike_reached_10x": spike_arrival is not None and spike_arrival >= SPIKE_FACTOR * capacity,
        },
        "queue": {
            "peak_messages": _maximum(rows, "messages"),
            "peak_backlog": _maximum(rows, "backlog"),
            "drain_threshold": summary.drain_threshold(capacity),
            "drain_seconds": drain_end - spike_end if drain_end is not None else None,
        },
        "processing": {
            "spike_and_drain_mean_msg_per_s": summary.mean_rate(samples, "processed_total", spike_start, level_end),
            "spike_and_drain_p5_msg_per_s": summary.percentile(leveled_rates, 0.05),
            "spike_and_drain_p95_msg_per_s": summary.percentile(leveled_rates, 0.95),
            "processed_total": _last(samples, "processed_total"),
            "completed_total": _last(samples, "completed_total"),
        },
        "producer_accepted_total": _last(samples, "accepted_total"),
        "audit": audit_result,
        "window": {"shape_start": shape_start, "spike_start": spike_start, "spike_end": spike_end,
                   "drain_end": drain_end},
    }


def format_text(result):
    """Render the summary for the terminal and summary.txt."""
    requests, arrival, queue = result["requests"], result["arrival"], result["queue"]
    latency, processing, audit = result["ingress_latency_ms"], result["processing"], result["audit"]
    profile, capacity = result["profile"], result["capacity_msg_per_s"]
    rejected = ", ".join(f"{status}: {count}" for status, count in requests["rejected_by_status"].items()) or "none"
    verdict = "yes" if arrival["spike_reached_10x"] else "NO, below 10x the capacity"
    not_completed = ", ".join(f"{status} {count}" for status, count in audit["not_completed"].items()) or "0"

    lines = [
        "spike run summary",
        f"  profile          baseline {profile['baseline_rate']:g} req/s for {profile['baseline_seconds']:g} s, "
        f"spike {profile['spike_rate']:g} req/s for {profile['spike_seconds']:g} s, "
        f"baseline {profile['baseline_rate']:g} req/s for {profile['recovery_seconds']:g} s",
        f"  requests         sent {requests['sent']}, accepted (202) {requests['accepted']}, "
        f"rejected by status {rejected}",
        f"  ingress latency  p50 {_ms(latency['p50_ms'])}, p95 {_ms(latency['p95_ms'])}, "
        f"p99 {_ms(latency['p99_ms'])}, max {_ms(latency['max_ms'])}",
        f"  arrival          spike mean {_per_s(arrival['spike_mean_req_per_s'])} accepted "
        f"({_ratio(arrival['spike_over_capacity'])} the capacity), peak 5 s mean "
        f"{_per_s(arrival['peak_5s_req_per_s'])}, Locust sent at most {_per_s(arrival['sent_peak_req_per_s'])}",
        f"  spike >= 10x     {verdict}",
        f"  processing       configured capacity {capacity:g} msg/s, mean during spike and drain "
        f"{_per_s(processing['spike_and_drain_mean_msg_per_s'])} "
        f"(p5 {_per_s(processing['spike_and_drain_p5_msg_per_s'])}, "
        f"p95 {_per_s(processing['spike_and_drain_p95_msg_per_s'])} per 1 s sample)",
        f"  queue            peak {_count(queue['peak_messages'])} messages (management API), "
        f"peak backlog {_count(queue['peak_backlog'])}",
        f"  drain time       {_seconds(queue['drain_seconds'])} from the end of the spike to a backlog "
        f"<= {queue['drain_threshold']:g}",
        f"  audit            accepted {audit['accepted']}, completed {audit['completed']}, "
        f"not completed {not_completed}, missing {audit['missing']}, LOST {audit['lost']}",
        f"  counters         producer accepted {_count(result['producer_accepted_total'])}, consumer processed "
        f"{_count(processing['processed_total'])}, Locust recorded {requests['accepted']} responses 202",
    ]
    lines += [f"  note             {note}" for note in _notes(result)]
    return "\n".join(lines)


def _notes(result):
    notes = []
    if result["producer_accepted_total"] not in (None, result["requests"]["accepted"]):
        notes.append("the producer accepted a different number of requests than Locust recorded: "
                     "requests from outside this run reached it, or a 202 never reached Locust")
    if result.get("locust_cpu_bound"):
        notes.append("Locust reported CPU usage above 90%, so it may have sent less than the profile")
    if result["audit"]["duplicate_ids"]:
        notes.append(f"{result['audit']['duplicate_ids']} ids were returned by more than one 202")
    return notes


def exit_code(result):
    """Return 1 when an accepted request was lost, 3 when the spike stayed below 10x the capacity, else 0."""
    if result["audit"]["lost"] > 0:
        return 1
    if not result["arrival"]["spike_reached_10x"]:
        return 3
    return 0


def _maximum(rows, key):
    values = [row[key] for row in rows if row.get(key) is not None]
    return max(values) if values else None


def _last(samples, key):
    values = [sample[key] for sample in samples if sample.get(key) is not None]
    return values[-1] if values else None


def _ms(value):
    return "n/a" if value is None else f"{value:g} ms"


def _per_s(value):
    return "n/a" if value is None else f"{value:.1f}/s"


def _ratio(value):
    return "n/a" if value is None else f"{value:.1f}x"


def _count(value):
    return "n/a" if value is None else f"{value:.0f}"


def _seconds(value):
    return "not drained" if value is None else f"{value:.1f} s"
