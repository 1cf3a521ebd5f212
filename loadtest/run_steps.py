"""The steps of one spike run, in order: broker, services, Prometheus, sampler, Locust, drain, audit, report.

Imported by spikerun.main() once the Debian packages are installed, because it needs requests and redis.
"""

import csv
import glob
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from urllib.parse import quote

import redis
import requests

import report
import summary
from sampling import Sampler
from services import Processes, StartupError, free_port, http_ok, log_tail, port_in_use, readiness_up, wait_until
from spikerun import (
    CONSUMER_JAR,
    DEFAULT_CONSUMER_PORT,
    DEFAULT_PRODUCER_PORT,
    LOADTEST_DIR,
    MANAGEMENT_URL,
    PRODUCER_JAR,
    PROMETHEUS_CONFIG,
    QUIET_SECONDS,
    RABBITMQ_CREDENTIALS,
    REDIS_HOST,
    REDIS_PORT,
    REPO_ROOT,
    TOPOLOGY,
    apt_get_install,
    drain_timeout,
    effective_capacity,
)

log = logging.getLogger("spike-run")

JAVA_OPTIONS = ["-Xms256m", "-Xmx512m"]
# Status hashes of a spike run only need to outlive the audit, so they expire sooner than the 24 h default.
STATUS_TTL = "2h"


class SpikeRun:
    """One run: every process it starts is stopped in run()'s finally block."""

    def __init__(self, args, out_dir, profile):
        self.args = args
        self.out_dir = out_dir
        self.records_dir = os.path.join(out_dir, "records")
        self.profile = profile
        self.capacity = effective_capacity(args)
        self.processes = Processes(out_dir)
        self.http = requests.Session()
        self.management = requests.Session()
        self.management.auth = RABBITMQ_CREDENTIALS
        self.sampler = None
        self.cleanups = []
        self.locust_cpu_bound = False
        self.producer_url = f"http://127.0.0.1:{args.producer_port}"
        self.consumer_url = f"http://127.0.0.1:{args.consumer_port}"

    def run(self):
        try:
            self.log_plan()
            self.prepare_broker()
            self.build_jars()
            self.start_services()
            self.start_prometheus()
            self.sampler = Sampler(os.path.join(self.out_dir, "samples.csv"), TOPOLOGY["work-queue"],
                                   self.producer_url, self.consumer_url, MANAGEMENT_URL, RABBITMQ_CREDENTIALS)
            self.sampler.start()
            self.run_locust()
            drained_at = self.wait_for_drain()
            time.sleep(3)
            self.sampler.stop()
            return self.write_report(drained_at)
        finally:
            if self.sampler is not None:
                self.sampler.stop()
            self.processes.stop_all()
            for cleanup in self.cleanups:
                cleanup()

    def log_plan(self):
        profile = self.profile
        log.info("output folder %s", self.out_dir)
        log.info("consumer capacity %g msg/s (rate limit %g, %d threads, %d ms work per message)",
                 self.capacity, self.args.capacity, self.args.concurrency, self.args.work_ms)
        if self.capacity < self.args.capacity:
            log.warning("%d threads at %d ms per message cannot reach the rate limit %g msg/s, so the capacity is %g",
                        self.args.concurrency, self.args.work_ms, self.args.capacity, self.capacity)
        log.info("load: %g req/s for %g s, %g req/s for %g s, %g req/s for %g s", profile.baseline_rate,
                 profile.baseline_seconds, profile.spike_rate, profile.spike_seconds, profile.baseline_rate,
                 profile.recovery_seconds)

    def prepare_broker(self):
        """Enable the management and Prometheus plugins and delete the run's queues and exchanges."""
        subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_management", "rabbitmq_prometheus"],
                       check=True, stdout=subprocess.DEVNULL)
        wait_until(lambda: http_ok(self.management, f"{MANAGEMENT_URL}/api/overview"), 60,
                   f"RabbitMQ management API at {MANAGEMENT_URL}")
        vhost = quote("/", safe="")
        for kind, name in (("queues", TOPOLOGY["work-queue"]), ("queues", TOPOLOGY["dead-letter-queue"]),
                           ("exchanges", TOPOLOGY["exchange"]), ("exchanges", TOPOLOGY["dead-letter-exchange"])):
            response = self.management.delete(f"{MANAGEMENT_URL}/api/{kind}/{vhost}/{quote(name, safe='')}",
                                              timeout=10)
            if response.status_code not in (204, 404):
                raise StartupError(f"deleting {kind[:-1]} {name} failed: HTTP {response.status_code} {response.text}")
        log.info("deleted the run's queues and exchanges left from an earlier run, if any")

    def build_jars(self):
        missing = [jar for jar in (PRODUCER_JAR, CONSUMER_JAR) if not os.path.exists(jar)]
        if not missing:
            return
        if self.args.skip_build:
            raise StartupError(f"missing {', '.join(missing)} and --skip-build is set. Build the jars with "
                               "./mvnw -B -q package -DskipTests")
        wrapper = os.path.join(REPO_ROOT, "mvnw")
        maven = [wrapper] if os.access(wrapper, os.X_OK) else ["mvn"]
        log.info("building the jars with %s -B -q package -DskipTests", maven[0])
        with open(os.path.join(self.out_dir, "build.log"), "wb") as build_log:
            result = subprocess.run([*maven, "-B", "-q", "package", "-DskipTests"], cwd=REPO_ROOT,
                                    stdout=build_log, stderr=subprocess.STDOUT)
        still_missing = [jar for jar in (PRODUCER_JAR, CONSUMER_JAR) if not os.path.exists(jar)]
        if result.returncode != 0 or still_missing:
            raise StartupError(f"the build failed (exit code {result.returncode}), see "
                               f"{os.path.join(self.out_dir, 'build.log')}")

    def start_services(self):
        for option, port in (("--producer-port", self.args.producer_port), ("--consumer-port", self.args.consumer_port)):
            if port_in_use(port):
                raise StartupError(f"port {port} is already in use: stop the process that listens there "
                                   f"(ss -ltnp 'sport = :{port}') or choose another port with {option}")
        producer_jar, consumer_jar = self.snapshot_jars()
        topology = [f"--loadlevel.topology.{key}={value}" for key, value in TOPOLOGY.items()]
        common = [*topology, f"--loadlevel.status.ttl={STATUS_TTL}"]
        work = [f"--loadlevel.consumer.work.{kind}={self.args.work_ms}ms" for kind in ("notification", "order", "payment")]
        consumer = self.processes.start("consumer-service", [
            "java", *JAVA_OPTIONS, "-jar", consumer_jar, f"--server.port={self.args.consumer_port}", *common,
            f"--loadlevel.consumer.concurrency={self.args.concurrency}",
            f"--loadlevel.consumer.rate-limit={self.args.capacity:g}", "--loadlevel.consumer.prefetch=10", *work,
        ], "consumer-service.log", cwd=REPO_ROOT)
        producer = self.processes.start("producer-service", [
            "java", *JAVA_OPTIONS, "-jar", producer_jar, f"--server.port={self.args.producer_port}", *common,
        ], "producer-service.log", cwd=REPO_ROOT)
        for name, url, process in (("producer-service", self.producer_url, producer),
                                   ("consumer-service", self.consumer_url, consumer)):
            wait_until(lambda: http_ok(self.http, f"{url}/actuator/health/readiness", readiness_up), 120,
                       f"{name} readiness at {url}/actuator/health/readiness", process, self.processes)
            log.info("%s is ready", name)
        queue_url = f"{MANAGEMENT_URL}/api/queues/{quote('/', safe='')}/{quote(TOPOLOGY['work-queue'], safe='')}"
        wait_until(lambda: http_ok(self.management, queue_url), 30, f"work queue {TOPOLOGY['work-queue']}")
        queue = self.management.get(queue_url, timeout=5).json()
        log.info("work queue %s declared, type %s", queue["name"], queue.get("type"))

    def snapshot_jars(self):
        """Copy the jars into the output folder, so a rebuild during the run cannot change the running code."""
        jars_dir = os.path.join(self.out_dir, "jars")
        os.makedirs(jars_dir, exist_ok=True)
        copies = [shutil.copy2(jar, jars_dir) for jar in (PRODUCER_JAR, CONSUMER_JAR)]
        self.cleanups.append(lambda: shutil.rmtree(jars_dir, ignore_errors=True))
        return copies

    def start_prometheus(self):
        """Start a local Prometheus on a free port with its storage in the output folder, if its configuration exists."""
        if self.args.no_prometheus:
            return
        if not os.path.exists(PROMETHEUS_CONFIG):
            log.info("no %s, so no local Prometheus; the runner samples the endpoints itself",
                     os.path.relpath(PROMETHEUS_CONFIG, REPO_ROOT))
            return
        if shutil.which("prometheus") is None:
            try:
                apt_get_install(["prometheus"])
            except subprocess.CalledProcessError as error:
                log.warning("installing prometheus failed (%s), so the run goes on without it", error)
                return
        port = free_port()
        process = self.processes.start("prometheus", [
            "prometheus", f"--config.file={self.prometheus_config()}",
            f"--storage.tsdb.path={os.path.join(self.out_dir, 'prometheus')}",
            f"--web.listen-address=127.0.0.1:{port}",
        ], "prometheus.log")
        try:
            wait_until(lambda: http_ok(self.http, f"http://127.0.0.1:{port}/-/ready"), 30,
                       "local Prometheus", process, self.processes)
            log.info("local Prometheus at http://127.0.0.1:%d", port)
            self.prometheus_port = port
        except StartupError as error:
            log.warning("%s, so the run goes on without Prometheus", error)
            self.processes.stop("prometheus", process)

    def prometheus_config(self):
        """Return the local Prometheus configuration, rewritten into the output folder for non-default ports."""
        ports = {DEFAULT_PRODUCER_PORT: self.args.producer_port, DEFAULT_CONSUMER_PORT: self.args.consumer_port}
        if all(default == port for default, port in ports.items()):
            return PROMETHEUS_CONFIG
        with open(PROMETHEUS_CONFIG) as file:
            text = file.read()
        for default, port in ports.items():
            text = re.sub(rf"\b(127\.0\.0\.1|localhost):{default}\b", rf"\g<1>:{port}", text)
        config_dir = os.path.dirname(PROMETHEUS_CONFIG)
        # Relative rule file paths resolve against the configuration's folder, so they become absolute.
        text = re.sub(r"^(\s*-\s*)([\"']?)([^/\s\"'][^\s\"']*\.ya?ml)\2\s*$",
                      lambda match: f"{match[1]}{os.path.join(config_dir, match[3])}", text, flags=re.MULTILINE)
        path = os.path.join(self.out_dir, "prometheus.yml")
        with open(path, "w") as file:
            file.write(text)
        return path

    def run_locust(self):
        """Run Locust headless with the spike shape and wait for it, at most 90 s longer than the profile lasts."""
        locust = [sys.executable, "-m", "locust", "-f", os.path.join(LOADTEST_DIR, "locustfile.py")]
        profile = self.profile
        profile_options = [
            "--baseline-rate", f"{profile.baseline_rate:g}", "--spike-rate", f"{profile.spike_rate:g}",
            "--baseline-seconds", f"{profile.baseline_seconds:g}", "--spike-seconds", f"{profile.spike_seconds:g}",
            "--recovery-seconds", f"{profile.recovery_seconds:g}", "--record-dir", self.records_dir,
        ]
        command = [
            *locust, "--headless", "--host", self.producer_url, "--csv", os.path.join(self.out_dir, "locust"),
            "--csv-full-history", "--html", os.path.join(self.out_dir, "locust-report.html"),
            "--stop-timeout", "10", "--only-summary", "--logfile", os.path.join(self.out_dir, "locust.log"),
            *profile_options,
        ]

        # NOTE: Locust runs as one process. Debian's python3-locust 2.12.1 ships an empty version string, and its
        # master rejects every worker as "old (pre 2.0)", so --master and --worker do not work with that package.
        log.info("Locust starts: %g s of load", profile.total_seconds)
        process = self.processes.start("locust", command, "locust-stdout.txt", cwd=LOADTEST_DIR)

        limit = profile.total_seconds + 90
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            raise StartupError(f"Locust did not finish within {limit:.0f} s, see {self.out_dir}/locust.log")
        if not os.path.exists(os.path.join(self.out_dir, "locust_stats.csv")):
            raise StartupError(f"Locust exited with code {process.returncode} and wrote no stats:\n"
                               f"{log_tail(os.path.join(self.out_dir, 'locust-stdout.txt'))}")
        log.info("Locust finished (exit code %d, non-zero when any request failed)", process.returncode)

        with open(os.path.join(self.out_dir, "locust.log"), errors="replace") as file:
            self.locust_cpu_bound = any("CPU usage above" in line for line in file)
        if self.locust_cpu_bound:
            log.warning("Locust reported CPU usage above 90%%, so the load generator may have limited the spike")

    def wait_for_drain(self):
        """Wait until the queue is empty and the processed count has stopped growing.

        Returns the epoch second of that sample, or None when the drain timeout passed first.
        """
        backlog = summary.backlog(self.sampler.latest)
        timeout = drain_timeout(self.args, backlog, self.capacity)
        log.info("waiting up to %.0f s for the queue to drain (backlog %s)", timeout, _count(backlog))
        deadline = time.monotonic() + timeout
        processed_history = []
        last_report = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(1)
            sample = self.sampler.latest
            processed_history.append(sample.get("processed_total"))
            recent = processed_history[-QUIET_SECONDS:]
            quiet = len(recent) == QUIET_SECONDS and None not in recent and len(set(recent)) == 1
            if sample.get("messages") == 0 and quiet:
                log.info("queue drained: 0 messages, processed count steady at %s", _count(recent[-1]))
                return sample["time"]
            if time.monotonic() - last_report >= 15:
                log.info("draining: %s messages in the queue, %s processed", _count(sample.get("messages")),
                         _count(sample.get("processed_total")))
                last_report = time.monotonic()
        log.warning("the queue did not drain within %.0f s", timeout)
        return None

    def write_report(self, drained_at):
        samples = summary.read_samples(os.path.join(self.out_dir, "samples.csv"))
        with open(os.path.join(self.records_dir, "shape-start.json")) as file:
            shape_start = json.load(file)["started_at"]
        accepted_ids = read_accepted_ids(self.records_dir)
        status_counts = summary.merge_status_counts(read_status_counts(self.records_dir))
        audit_result = summary.audit(accepted_ids, read_statuses(accepted_ids))
        latency = summary.latency_percentiles(os.path.join(self.out_dir, "locust_stats.csv"))
        sent = summary.sent_rates(os.path.join(self.out_dir, "locust_stats_history.csv"))
        result = report.build(samples, shape_start, self.profile, self.capacity, status_counts, latency, sent,
                              audit_result, drained_at)
        result["prometheus_port"] = getattr(self, "prometheus_port", None)
        result["locust_cpu_bound"] = self.locust_cpu_bound
        rows = summary.timeline(samples)
        write_timeline(os.path.join(self.out_dir, "timeline.csv"), rows, shape_start)
        text = report.format_text(result)
        with open(os.path.join(self.out_dir, "summary.json"), "w") as file:
            json.dump(result, file, indent=2)
        with open(os.path.join(self.out_dir, "summary.txt"), "w") as file:
            file.write(text + "\n")
        self.plot(rows, shape_start, result, sent)
        print(text, flush=True)
        print(f"\noutput: {self.out_dir} (chart.png, summary.txt, summary.json, locust-report.html, timeline.csv)",
              flush=True)
        return report.exit_code(result)

    def plot(self, rows, shape_start, result, sent):
        import chart

        window = result["window"]
        spike_mean = result["arrival"]["spike_mean_req_per_s"] or 0.0
        title = (f"spike of {spike_mean:.0f} accepted req/s on average = {spike_mean / self.capacity:.1f}x the "
                 f"consumer capacity of {self.capacity:g} msg/s. Lost: {result['audit']['lost']} of "
                 f"{result['audit']['accepted']} accepted requests")
        chart.plot_run(os.path.join(self.out_dir, "chart.png"), rows, shape_start,
                       (window["spike_start"], window["spike_end"]), self.capacity, sent=sent,
                       drain_end=window["drain_end"], title=title)


def read_accepted_ids(records_dir):
    ids = []
    for path in sorted(glob.glob(os.path.join(records_dir, "accepted-ids-*.txt"))):
        with open(path) as file:
            ids.extend(line.strip() for line in file if line.strip())
    return ids


def read_status_counts(records_dir):
    counts = []
    for path in sorted(glob.glob(os.path.join(records_dir, "status-counts-*.json"))):
        with open(path) as file:
            counts.append(json.load(file))
    return counts


def read_statuses(request_ids, batch=1000):
    """Read the status field of loadlevel:status:<id> for every id, None where the hash does not exist."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, decode_responses=True, socket_timeout=10)
    statuses = {}
    unique_ids = sorted(set(request_ids))
    for start in range(0, len(unique_ids), batch):
        chunk = unique_ids[start : start + batch]
        pipeline = client.pipeline(transaction=False)
        for request_id in chunk:
            pipeline.hget(f"loadlevel:status:{request_id}", "status")
        statuses.update(zip(chunk, pipeline.execute()))
    return statuses


def write_timeline(path, rows, shape_start):
    columns = ["elapsed", "arrival_rate", "processing_rate", "backlog", "messages", "messages_ready",
               "messages_unacknowledged"]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for row in rows:
            values = [row["time"] - shape_start] + [row[column] for column in columns[1:]]
            writer.writerow(["" if value is None else round(value, 3) for value in values])


def _count(value):
    return "unknown" if value is None else f"{value:.0f}"
