#!/usr/bin/python3
"""Check a fault run's client history against the request status in Redis.

Run on its own, against the run's private Redis while it still runs or against the snapshot fault-run saves:
    loadtest/faults/checker.py HISTORY --redis-port PORT [--faults FAULTS]
    loadtest/faults/checker.py HISTORY --snapshot RUN_DIR/redis-snapshot.json [--faults FAULTS]
Only a Redis that this run alone used gives a true `unexpected` count, because every status hash found counts.

Exit code 0 when nothing was lost, duplicated or unexpected, 1 otherwise, 2 when the input cannot be read.
"""

import argparse
import collections
import json
import sys
import time

TERMINAL = ("COMPLETED", "DEAD_LETTERED")
STATUS_PREFIX = "loadlevel:status:"
EFFECT_PREFIX = "loadlevel:effect:"
LOCAL_HOST = "127.0.0.1"


def read_jsonl(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_redis(port):
    """Return ({id: status hash}, {id: effect count}) from the Redis on 127.0.0.1:`port`."""
    import redis  # Debian's python3-redis; imported here so the arithmetic and its tests need no Redis client

    client = redis.Redis(host=LOCAL_HOST, port=port, decode_responses=True, socket_timeout=10)
    try:
        statuses = _read_keys(client, STATUS_PREFIX, lambda pipeline, key: pipeline.hgetall(key))
        effects = _read_keys(client, EFFECT_PREFIX, lambda pipeline, key: pipeline.get(key))
    except redis.exceptions.RedisError as error:
        raise OSError(f"reading Redis on {LOCAL_HOST}:{port} failed: {error}") from error
    return statuses, {request_id: int(count) for request_id, count in effects.items() if count is not None}


def _read_keys(client, prefix, read):
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    values = {}
    for offset in range(0, len(keys), 1000):
        batch = keys[offset:offset + 1000]
        pipeline = client.pipeline(transaction=False)
        for key in batch:
            read(pipeline, key)
        for key, value in zip(batch, pipeline.execute()):
            values[key[len(prefix):]] = value
    return values


def read_snapshot(path):
    with open(path) as snapshot_file:
        snapshot = json.load(snapshot_file)
    return snapshot["statuses"], {request_id: int(count) for request_id, count in snapshot["effects"].items()}


def evaluate(history, statuses, effects):
    """Compare the client history with the status hashes and effect counters and return the result as a dict.

    lost: ok ids whose status is missing or not terminal.
    unexpected: ids in a terminal status that no ok request returned and whose `key` field names no indeterminate
        request of the history, such as a request that got a 503 and was processed anyway.
    duplicated: ids whose effect counter is above 1, or None when no effect counter exists at all, because a
        consumer without the counter cannot show a duplicate.
    """
    ok = [record for record in history if record["outcome"] == "ok"]
    ok_ids = {record["id"] for record in ok}
    key_outcomes = {record["key"]: record["outcome"] for record in history}
    lost = sorted(request_id for request_id in ok_ids
                  if statuses.get(request_id, {}).get("status") not in TERMINAL)
    unexpected = []
    indeterminate_processed = []
    for request_id, fields in sorted(statuses.items()):
        if fields.get("status") not in TERMINAL or request_id in ok_ids:
            continue
        if key_outcomes.get(fields.get("key")) == "indeterminate":
            indeterminate_processed.append(request_id)
        else:
            unexpected.append(request_id)
    attempts = {request_id: int(statuses.get(request_id, {}).get("attempts") or 0) for request_id in ok_ids}
    return {
        "sent": len(history),
        "ok": len(ok),
        "ok_ids_repeated": len(ok) - len(ok_ids),
        "failed_by_status": dict(sorted(collections.Counter(
            str(record["status"]) for record in history if record["outcome"] == "failed").items())),
        "indeterminate": sum(1 for record in history if record["outcome"] == "indeterminate"),
        "indeterminate_processed": len(indeterminate_processed),
        "statuses_of_ok": dict(sorted(collections.Counter(
            statuses.get(request_id, {}).get("status", "MISSING") for request_id in ok_ids).items())),
        "terminal": {status: sum(1 for fields in statuses.values() if fields.get("status") == status)
                     for status in TERMINAL},
        "redelivered": sum(1 for count in attempts.values() if count > 1),
        "max_attempts": max(attempts.values(), default=0),
        "lost": lost,
        "unexpected": unexpected,
        "unexpected_outcomes": dict(collections.Counter(
            key_outcomes.get(statuses[request_id].get("key"), "unknown") for request_id in unexpected)),
        "duplicated": sorted(request_id for request_id, count in effects.items() if count > 1) if effects else None,
    }


def passed(result):
    return not result["lost"] and not result["unexpected"] and not result["duplicated"]


def format_report(result, faults=(), listed=20):
    duplicated = result["duplicated"]
    lines = [
        f"requests sent           {result['sent']}",
        f"  ok (202)              {result['ok']}",
        f"  failed by status      {result['failed_by_status'] or 'none'}",
        f"  indeterminate         {result['indeterminate']}"
        f" ({result['indeterminate_processed']} of them processed)",
        f"status of ok requests   {result['statuses_of_ok']}",
        f"terminal in Redis       COMPLETED {result['terminal']['COMPLETED']},"
        f" DEAD_LETTERED {result['terminal']['DEAD_LETTERED']}",
        f"attempts > 1            {result['redelivered']} (max attempts {result['max_attempts']})",
        f"lost                    {len(result['lost'])}",
        f"unexpected              {len(result['unexpected'])}"
        + (f" by client outcome {result['unexpected_outcomes']}" if result["unexpected"] else ""),
        "duplicated effects      "
        + ("not measurable (no effect counter)" if duplicated is None else str(len(duplicated))),
    ]
    if result["ok_ids_repeated"]:
        lines.append(f"ok ids returned twice   {result['ok_ids_repeated']}")
    for label, ids in (("lost", result["lost"]), ("unexpected", result["unexpected"]),
                       ("duplicated", duplicated or [])):
        if ids:
            lines.append(f"{label} ids (first {min(listed, len(ids))}): {' '.join(ids[:listed])}")
    if faults:
        lines.append(f"faults injected         {len(faults)}")
        for fault in faults:
            clock = time.strftime("%H:%M:%S", time.localtime(fault["at"])) + f".{int(fault['at'] % 1 * 1000):03d}"
            lines.append(f"  t={fault.get('t', 0.0):6.1f} s  {clock}  {fault['fault']:<15} {fault.get('detail', '')}")
    lines.append("result                  " + ("PASS" if passed(result) else "FAIL"))
    return "\n".join(lines)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="loadtest/faults/checker.py",
                                     description="Compare a fault run's history with the request status in Redis.")
    parser.add_argument("history", help="history file written by fault-run (JSON lines)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--redis-port", type=int, help="port of the run's private Redis on 127.0.0.1")
    source.add_argument("--snapshot", help="redis-snapshot.json saved by fault-run")
    parser.add_argument("--faults", help="faults file written by fault-run (JSON lines), listed in the report")
    parser.add_argument("--json", help="also write the result as JSON to this file")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        history = read_jsonl(arguments.history)
        faults = read_jsonl(arguments.faults) if arguments.faults else []
        if arguments.snapshot:
            statuses, effects = read_snapshot(arguments.snapshot)
        else:
            statuses, effects = read_redis(arguments.redis_port)
    except (OSError, ValueError, KeyError) as error:
        print(f"checker: reading the input failed: {error}", file=sys.stderr)
        return 2
    result = evaluate(history, statuses, effects)
    print(format_report(result, faults))
    if arguments.json:
        with open(arguments.json, "w") as output:
            json.dump(result, output, indent=2)
    return 0 if passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
