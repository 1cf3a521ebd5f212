#!/usr/bin/env python3
"""Summarize where a JFR recording spends CPU: execution samples by component, thread group and hot method.

Usage: loadtest/bench/jfr_hotspots.py RECORDING.jfr [--top 25]

Each jdk.ExecutionSample is charged to the first frame, counted from the leaf, that belongs to a known component
(Jackson, the RabbitMQ client, Spring AMQP, Lettuce and Reactor, Micrometer, logging, Tomcat, Spring MVC, loadlevel);
a sample whose frames are all JDK code counts as "jdk". The inclusive table counts a sample once for every
component that appears anywhere on its stack.
"""

import argparse
import collections
import json
import re
import subprocess
import sys

COMPONENTS = [
    ("json (jackson)", ("tools.jackson.", "com.fasterxml.jackson.")),
    ("amqp client", ("com.rabbitmq.client.",)),
    ("spring amqp", ("org.springframework.amqp.",)),
    ("redis (lettuce, reactor, netty)", ("io.lettuce.", "org.springframework.data.redis.", "reactor.", "io.netty.")),
    ("micrometer (metrics, observations)", ("io.micrometer.", "org.springframework.boot.micrometer.")),
    ("logging", ("ch.qos.logback.", "org.slf4j.", "org.apache.logging.")),
    ("tomcat", ("org.apache.coyote.", "org.apache.tomcat.", "org.apache.catalina.")),
    ("spring web mvc", ("org.springframework.web.", "org.springframework.http.")),
    ("spring core and boot", ("org.springframework.",)),
    ("loadlevel", ("io.loadlevel.",)),
]


def component_of(method):
    for name, prefixes in COMPONENTS:
        if method.startswith(prefixes):
            return name
    return None


def read_samples(recording, stack_depth):
    output = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", str(stack_depth), "--events", "jdk.ExecutionSample", recording],
        check=True, capture_output=True, text=True,
    ).stdout
    for event in json.loads(output)["recording"]["events"]:
        values = event["values"]
        thread = (values.get("sampledThread") or {}).get("javaName") or "?"
        frames = [
            frame["method"]["type"]["name"].replace("/", ".") + "." + frame["method"]["name"]
            for frame in (values.get("stackTrace") or {}).get("frames", [])
        ]
        yield thread, frames


def print_table(title, counter, total, top):
    print(f"\n{title}")
    for key, count in counter.most_common(top):
        print(f"  {100.0 * count / total:5.1f}%  {key}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    parser.add_argument("--stack-depth", type=int, default=128, help="frames read per sample (default 128)")
    args = parser.parse_args()

    self_component = collections.Counter()
    inclusive_component = collections.Counter()
    threads = collections.Counter()
    leaf_methods = collections.Counter()
    total = 0
    for thread, frames in read_samples(args.recording, args.stack_depth):
        if not frames:
            continue
        total += 1
        threads[re.sub(r"\d+", "N", thread)] += 1
        leaf_methods[frames[0]] += 1
        charged = next((c for c in map(component_of, frames) if c), "jdk")
        self_component[charged] += 1
        for component in {c for c in map(component_of, frames) if c}:
            inclusive_component[component] += 1
    if total == 0:
        print(f"{args.recording}: no jdk.ExecutionSample events", file=sys.stderr)
        return 1
    print(f"{args.recording}: {total} execution samples")
    print_table("Charged to the nearest component (leaf first)", self_component, total, args.top)
    print_table("Component anywhere on the stack", inclusive_component, total, args.top)
    print_table("Thread groups", threads, total, args.top)
    print_table("Hot leaf methods", leaf_methods, total, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
