"""The measured phases of one benchmark run: PerfTest, the producer at its maximum and half rate, the consumer's
drain rate, leveling under a spike and scaling over instances.

Every load is bounded in requests and time and aimed at 127.0.0.1 only.
"""

import json
import os
import re
import statistics
import subprocess
import threading
import time

from processes import (
    BenchmarkError, Service, SharedCpu, free_port, peek_message_size, purge_queue, queue_depth, delete_queue,
    delete_exchange,
)

BENCH_DIR = os.path.dirname(os.path.realpath(__file__))
WORK_QUEUE = "bench.work"
PERFTEST_QUEUE = "bench.perftest"
TOPOLOGY_ARGUMENTS = [
    f"--loadlevel.topology.work-queue={WORK_QUEUE}",
    "--loadlevel.topology.exchange=bench.requests",
    "--loadlevel.topology.dead-letter-exchange=bench.dlx",
    "--loadlevel.topology.dead-letter-queue=bench.dead",
    # Room for the backlog of the producer phases, which the drain phase consumes. The default is 100000.
    "--loadlevel.topology.max-length=400000",
    # Every Redis key of the run goes under bench:, which the run deletes at its end. Ledger and effect keys under
    # the default prefixes used to stay behind and expire during the next run.
    "--loadlevel.status.key-prefix=bench:status:",
    "--loadlevel.status.ledger-key-prefix=bench:processed:",
    "--loadlevel.status.effect-key-prefix=bench:effect:",
    "--loadlevel.status.ttl=15m",
]
BENCH_KEY_PATTERN = "bench:*"
ORDER_BODY = (
    '{"type":"order","key":"o-{n}","payload":{"orderId":"o-{n}","customerId":"c-1042","currency":"EUR",'
    '"total":45.47,"items":[{"sku":"sku-1001","quantity":2,"unitPrice":19.99},'
    '{"sku":"sku-2002","quantity":1,"unitPrice":5.49}],'
    '"shippingAddress":{"city":"Berlin","postalCode":"10115","country":"DE"}}}'
)
NOTIFICATION_BODY = (
    '{"type":"notification","key":"u-{n}","payload":{"channel":"push","template":"order-shipped","locale":"en"}}'
)
NO_OP_WORK = ["--loadlevel.consumer.work.notification=0ms", "--loadlevel.consumer.work.order=0ms",
              "--loadlevel.consumer.work.payment=0ms"]


def perftest(classpath, java, connections, message_size, seconds, out_dir):
    """Publish persistent messages with `connections` confirms in flight to a quorum queue, then drain it at qos 10.

    The two runs mirror the producer (fills the queue) and the consumer (drains a pre-filled queue).
    """
    base = [java, "-cp", classpath, "com.rabbitmq.perf.PerfTest", "-h", "amqp://guest:guest@127.0.0.1:5672",
            "-u", PERFTEST_QUEUE, "-e", PERFTEST_QUEUE, "-ad", "false", "-i", "1", "-mf", "compact"]
    delete_queue(PERFTEST_QUEUE)
    shared = SharedCpu()
    try:
        before = shared.snapshot()
        publish = run_logged(
            base + ["-qq", "-f", "persistent", "-s", str(message_size), "-c", str(connections), "-x", "1", "-y", "0",
                    "-z", str(seconds), "-C", str(30000 * seconds)],
            os.path.join(out_dir, "perftest-publish.log"), timeout=seconds + 60)
        publish_cpu = shared.since(before)
        before = shared.snapshot()
        consume = run_logged(
            base + ["-p", "-x", "0", "-y", "1", "-q", "10", "-A", "1", "-z", str(seconds)],
            os.path.join(out_dir, "perftest-consume.log"), timeout=seconds + 60)
        consume_cpu = shared.since(before)
    finally:
        delete_queue(PERFTEST_QUEUE)
        delete_exchange(PERFTEST_QUEUE)
    confirm = re.search(r"confirm latency min/median/75th/95th/99th (\d+)/(\d+)/(\d+)/(\d+)/(\d+) µs", publish)
    return {
        "publish_rate": float(re.search(r"sending rate avg: (\d+)", publish).group(1)),
        "confirm_p50_ms": int(confirm.group(2)) / 1000 if confirm else None,
        "confirm_p99_ms": int(confirm.group(5)) / 1000 if confirm else None,
        "consume_rate": float(re.search(r"receiving rate avg: (\d+)", consume).group(1)),
        "connections": connections,
        "message_size": message_size,
        # PerfTest's own start and stop fall into these windows, so the per-message figures are slightly high.
        "publish_shared": publish_cpu,
        "consume_shared": consume_cpu,
        "seconds": seconds,
    }


def run_logged(command, log_path, timeout):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    with open(log_path, "w") as log_file:
        log_file.write(" ".join(command) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        raise BenchmarkError(f"{command[0]} exited with {result.returncode}; see {log_path}")
    return result.stdout + result.stderr


def wrk(url, connections, seconds, body, log_path):
    """Run wrk closed-loop with one thread and return its summary with the rate of 202 responses per second."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", os.path.join(BENCH_DIR, "post-request.lua"), url, "--", body]
    output = run_logged(command, log_path, timeout=seconds + 60)
    line = next((row for row in output.splitlines() if row.startswith("WRK_SUMMARY ")), None)
    if line is None:
        raise BenchmarkError(f"wrk printed no summary; see {log_path}")
    summary = json.loads(line.split(" ", 1)[1])
    summary["connections"] = connections
    summary["rate"] = summary["accepted"] / (summary["duration_us"] / 1e6)
    summary["accepted_share"] = summary["accepted"] / max(1, summary["requests"])
    return summary


def compile_load_generator(java, out_dir):
    """Compile FixedRateLoad.java once into out_dir, so that no start of the load generator compiles it again.

    The source launcher compiles on every start, which took a CPU second of this 2-core machine just as a spike began.
    """
    global _LOAD_GENERATOR_CLASSES
    javac = os.path.join(os.path.dirname(os.path.realpath(java)), "javac")
    classes = os.path.join(out_dir, "load-generator")
    subprocess.run([javac, "--release", "17", "-d", classes, os.path.join(BENCH_DIR, "FixedRateLoad.java")],
                   check=True, capture_output=True)
    _LOAD_GENERATOR_CLASSES = classes


_LOAD_GENERATOR_CLASSES = None


def fixed_rate(java, url, rate, seconds, connections, body, log_path, lead_in_seconds=0):
    """Run FixedRateLoad (open loop, latency from each request's due time) and return its JSON summary.

    The first lead_in_seconds run the same schedule unrecorded, while the generator's own JVM warms up.
    """
    program = (["-cp", _LOAD_GENERATOR_CLASSES, "FixedRateLoad"] if _LOAD_GENERATOR_CLASSES
               else [os.path.join(BENCH_DIR, "FixedRateLoad.java")])
    command = [java, *program, url, f"{rate:.1f}", str(seconds), str(connections), body, str(lead_in_seconds)]
    output = run_logged(command, log_path, timeout=lead_in_seconds + seconds + 90)
    summary = json.loads(output.strip().splitlines()[-1])
    accepted = summary["statuses"].get("202", 0)
    summary["accepted_share"] = accepted / max(1, summary["planned"])
    summary["rate"] = accepted / summary["elapsed_s"] if summary["elapsed_s"] > 0 else 0.0
    return summary


# The half-rate generator starts in a new JVM, whose class loading and JIT compilation counted as the producer's
# latency: a half-rate p99 of 62 to 155 ms on Temurin 25 without this lead-in, 13 ms with it.
HALF_RATE_LEAD_IN_SECONDS = 5

# Warm-up ends once the JIT compiler threads used less than this share of one core over a chunk.
JIT_SETTLED_SHARE = 0.05


def warm_up(service, run_chunk, chunk_seconds, max_seconds, may_continue=lambda: True):
    """Run load chunks until the JIT has settled, max_seconds have passed or may_continue() is false.

    Returns the warm-up's seconds and the JIT compiler threads' share of a core in its last chunk.

    On this 2-core machine the JVMs were still compiling 30 s into a full load (a quarter to a third of their CPU in
    the compiler threads), so a fixed short warm-up measured the JIT as much as the service.
    """
    elapsed, share = 0, None
    while elapsed < max_seconds:
        before = service.compiler_cpu_seconds()
        run_chunk(chunk_seconds)
        elapsed += chunk_seconds
        share = (service.compiler_cpu_seconds() - before) / chunk_seconds
        if share < JIT_SETTLED_SHARE or not may_continue():
            break
    return {"seconds": elapsed, "last_jit_share": share}


def producer_phases(service, java, connections, seconds, out_dir):
    """Find the producer's maximum sustainable rate with wrk, then measure it open-loop at half that rate."""
    url = f"http://127.0.0.1:{service.port}/api/v1/requests"
    warmup = warm_up(service, lambda chunk: wrk(url, connections, chunk, ORDER_BODY,
                                                 os.path.join(out_dir, "wrk-warmup.log")),
                     chunk_seconds=10, max_seconds=80)
    message_size = peek_message_size(WORK_QUEUE)
    purge_queue(WORK_QUEUE)
    shared = SharedCpu()
    maximum = None
    for attempt_connections in (connections, connections // 2, connections // 4):
        cpu_before, shared_before = service.cpu_seconds(), shared.snapshot()
        run = wrk(url, attempt_connections, seconds, ORDER_BODY, os.path.join(out_dir, "wrk-max.log"))
        run["cpu_seconds"] = service.cpu_seconds() - cpu_before
        run["shared"] = shared.since(shared_before)
        maximum = run
        if run["accepted_share"] >= 0.99:
            break
    half = fixed_rate(java, url, maximum["rate"] / 2, seconds, connections, ORDER_BODY,
                      os.path.join(out_dir, "fixed-half.log"), lead_in_seconds=HALF_RATE_LEAD_IN_SECONDS)
    service.read_peak_rss_mb()
    return {"max": maximum, "half": half, "message_size": message_size, "warmup": warmup}


def profile_producer(service, connections, seconds, out_dir):
    """Record the producer under one more max-rate wrk window, after everything measured and its peak RSS.

    Recording the measured window itself cost Java 17's producer about two thirds of its rate and 40 MB of RSS.
    """
    url = f"http://127.0.0.1:{service.port}/api/v1/requests"
    start_recording(service, seconds, out_dir, "producer")
    wrk(url, connections, seconds + 1, ORDER_BODY, os.path.join(out_dir, "wrk-profile.log"))


def start_recording(service, seconds, out_dir, name):
    """Record a JFR profile of the service for the next `seconds` seconds."""
    path = os.path.join(out_dir, f"{name}-{service.pid}.jfr")
    subprocess.run(["jcmd", str(service.pid), "JFR.start", f"duration={seconds}s", f"filename={path}",
                    "settings=profile"], check=True, capture_output=True)
    return path


def start_consumer(java, jvm_options, jar, out_dir, name, extra):
    return Service(name, java, jvm_options, jar, free_port(), [*TOPOLOGY_ARGUMENTS, *extra],
                   os.path.join(out_dir, f"{name}.log"))


def drain(java, jvm_options, jar, concurrency, seconds_limit, out_dir, profile):
    """Start a no-op consumer on the pre-filled queue and measure its processed rate from its own counter."""
    backlog = queue_depth(WORK_QUEUE)
    consumer = start_consumer(java, jvm_options, jar, out_dir, "consumer-drain",
                              [*NO_OP_WORK, f"--loadlevel.consumer.concurrency={concurrency}"])
    try:
        consumer.wait_ready()
        # The warm-up drains the same backlog, so it stops while at least 60 % of it is left for the measurement. The
        # consumer's own count is current, while the management API's queue depth lags by up to 5 s.
        warmup = warm_up(consumer, time.sleep, chunk_seconds=5, max_seconds=15,
                         may_continue=lambda: consumer.processed_total() < 0.4 * backlog)
        shared = SharedCpu()
        cpu_before, shared_before = consumer.cpu_seconds(), shared.snapshot()
        first_time, first_count = consumer.sample_processed()
        last_time, last_count = first_time, first_count
        while last_time - first_time < seconds_limit:
            time.sleep(0.5)
            now, count = consumer.sample_processed()
            if count == last_count:
                break
            last_time, last_count = now, count
        cpu = consumer.cpu_seconds() - cpu_before
        shared_usage = shared.since(shared_before)
        consumer.read_peak_rss_mb()
        if profile:
            profile_rest_of_drain(consumer, out_dir)
    finally:
        # The recording's own memory must not count as the consumer's peak.
        consumer.stop(read_rss=not profile)
    processed = last_count - first_count
    return {
        "rate": processed / (last_time - first_time) if last_time > first_time else 0.0,
        "concurrency": concurrency,
        "processed": processed,
        "backlog": backlog,
        "window_s": last_time - first_time,
        "cpu_seconds": cpu,
        "shared": shared_usage,
        "warmup": warmup,
        "ready_s": consumer.ready_seconds,
        "peak_rss_mb": consumer.peak_rss_mb,
    }


def profile_rest_of_drain(consumer, out_dir, seconds=10):
    """Record the consumer on what is left of the backlog, after the measured window, if anything is left."""
    _, before = consumer.sample_processed()
    time.sleep(0.5)
    _, after = consumer.sample_processed()
    if after == before:
        print("no backlog left after the drain, so the consumer was not profiled", flush=True)
        return
    start_recording(consumer, seconds, out_dir, "consumer")
    time.sleep(seconds + 1)


def sample_every_second(services, stop_event, samples):
    """Append (monotonic time, summed processed count) once a second, on the second, until stop_event is set."""
    next_tick = time.monotonic()
    while not stop_event.is_set():
        readings = [service.sample_processed() for service in services]
        samples.append((statistics.fmean(at for at, _ in readings), sum(count for _, count in readings)))
        next_tick += 1.0
        stop_event.wait(max(0.0, next_tick - time.monotonic()))


def leveling(java, jvm_options, jar, producer_url, capacity, spike_factor, seconds, out_dir):
    """Send a spike of `spike_factor` times the consumer's rate limit and record its per-second processed rate."""
    purge_queue(WORK_QUEUE)
    consumer = start_consumer(java, jvm_options, jar, out_dir, "consumer-leveling", [
        f"--loadlevel.consumer.rate-limit={capacity}", "--loadlevel.consumer.concurrency=4",
        "--loadlevel.consumer.work.notification=10ms"])
    samples = []
    stop_event = threading.Event()
    try:
        consumer.wait_ready()
        # Runs the consumer at its capacity for 5 s first, so that the spike meets a warmed-up JVM.
        fixed_rate(java, producer_url, capacity, 5, 4, NOTIFICATION_BODY, os.path.join(out_dir, "fixed-warmup.log"))
        sampler = threading.Thread(target=sample_every_second, args=([consumer], stop_event, samples))
        sampler.start()
        spike = fixed_rate(java, producer_url, capacity * spike_factor, seconds, 16, NOTIFICATION_BODY,
                           os.path.join(out_dir, "fixed-spike.log"))
        spike_end = time.monotonic()
        # The first request of the spike was due at start_epoch_ms; the window opens there, after the load
        # generator's own JVM start.
        spike_start = spike["start_epoch_ms"] / 1000 - (time.time() - time.monotonic())
        stop_event.set()
        sampler.join()
        backlog = queue_depth(WORK_QUEUE)
    finally:
        stop_event.set()
        consumer.stop()
        purge_queue(WORK_QUEUE)
    rates = per_second_rates(samples, spike_start, spike_end)
    return {
        "capacity": capacity,
        "offered": capacity * spike_factor,
        "spike_accepted_share": spike["accepted_share"],
        "mean": statistics.fmean(rates) if rates else 0.0,
        "min": min(rates, default=0.0),
        "max": max(rates, default=0.0),
        "seconds": len(rates),
        "per_second": [round(rate, 1) for rate in rates],
        "backlog_after": backlog,
    }


def per_second_rates(samples, window_start, window_end):
    """Return the rates between consecutive samples within [window_start, window_end], once processing has begun."""
    started = next((i for i in range(1, len(samples)) if samples[i][1] > samples[0][1]), None)
    if started is None:
        return []
    started = next((i for i in range(started, len(samples)) if samples[i][0] >= window_start), len(samples))
    rates = []
    for (t0, c0), (t1, c1) in zip(samples[started:], samples[started + 1:]):
        if t1 > window_end:
            break
        rates.append((c1 - c0) / (t1 - t0))
    return rates


def scaling(java, jvm_options, jar, producer_url, fill_rate, instances_list, seconds, out_dir):
    """Pre-fill the queue with orders, then measure the summed processed rate of 1, 2 and 4 consumer instances."""
    purge_queue(WORK_QUEUE)
    fill_count = 18000
    fixed_rate(java, producer_url, fill_rate, fill_count / fill_rate, 32, ORDER_BODY,
               os.path.join(out_dir, "fixed-fill.log"))
    work = ["--loadlevel.consumer.work.order=50ms", "--loadlevel.consumer.concurrency=4",
            "--loadlevel.consumer.prefetch=10"]
    results = {}
    for count in instances_list:
        consumers = [start_consumer(java, jvm_options, jar, out_dir, f"consumer-scale{count}-{i + 1}", work)
                     for i in range(count)]
        try:
            ready = [consumer.wait_ready() for consumer in consumers]
            # Lets the instances finish their start-up JIT work before the window opens.
            time.sleep(5.0)
            t0, c0 = time.monotonic(), sum(consumer.processed_total() for consumer in consumers)
            time.sleep(seconds)
            t1, c1 = time.monotonic(), sum(consumer.processed_total() for consumer in consumers)
            left = queue_depth(WORK_QUEUE)
        finally:
            for consumer in consumers:
                consumer.stop()
        results[count] = {
            "rate": (c1 - c0) / (t1 - t0),
            "max_ready_s": max(ready),
            "queue_left": left,
            "peak_rss_mb": max(consumer.peak_rss_mb or 0 for consumer in consumers),
        }
        if left == 0:
            results[count]["note"] = "the queue ran dry, so this rate is a lower bound"
    purge_queue(WORK_QUEUE)
    return results
