"""The fault run: load the services while the consumer, the broker and Redis fail, then check nothing was lost.

Entry point: loadtest/faults/fault-run, whose --help lists the options. docs/fault-run.md explains the output.
"""

import argparse
import glob
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import checker
from injection import FaultInjector, FaultLog, plan_restarts
from load import History, LoadClient
from servers import LOCAL_HOST, PidLedger, PrivateBroker, PrivateRedis, ServiceProcess, StartupError, free_port

log = logging.getLogger("fault-run")

FAULTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(FAULTS_DIR))
PRODUCER_JAR = os.path.join(REPO_ROOT, "producer-service", "target", "producer-service.jar")
CONSUMER_JAR = os.path.join(REPO_ROOT, "consumer-service", "target", "consumer-service.jar")
DEAD_LETTER_QUEUE = "loadlevel.requests.dead"
PROCESSED_METRIC = "loadlevel_processing_processed_total"
# Seconds with no pending message and an unchanged processed count before the drain counts as finished. The
# management API refreshes its figures every second on the private node.
QUIET_SECONDS = 5
EXIT_PASSED, EXIT_CHECK_FAILED, EXIT_RUN_FAILED = 0, 1, 2


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="loadtest/faults/fault-run",
        description="Start a private RabbitMQ node, a private Redis, producer-service and consumer-service; send a "
        "bounded load while the consumer is killed with SIGKILL, the broker restarts and Redis restarts; wait for "
        "the queues to drain and check every accepted request against Redis. Exit code 0: nothing lost, "
        "duplicated or unexpected. 1: the check failed. 2: the run could not start or finish.")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (default: 50)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default: 60)")
    parser.add_argument("--short", action="store_true",
                        help="20 s of load with a kill every 5 s, for a quick check")
    parser.add_argument("--kill-interval", type=float, default=8.0,
                        help="seconds between SIGKILLs of the consumer (default: 8)")
    parser.add_argument("--broker-down", type=float, default=5.0,
                        help="seconds the broker stays stopped during its restart (default: 5)")
    parser.add_argument("--redis-down", type=float, default=3.0,
                        help="seconds Redis stays stopped during its restart (default: 3)")
    parser.add_argument("--consumer-concurrency", type=int, default=2,
                        help="consumer listener threads (default: 2)")
    parser.add_argument("--prefetch", type=int, default=10, help="consumer prefetch per listener (default: 10)")
    parser.add_argument("--workers", type=int, default=64,
                        help="client threads, so the maximum number of requests in flight (default: 64)")
    parser.add_argument("--request-timeout", type=float, default=15.0,
                        help="seconds before a request counts as indeterminate (default: 15)")
    parser.add_argument("--drain-timeout", type=float, default=300.0,
                        help="maximum seconds to wait for the queues to drain after the load (default: 300)")
    parser.add_argument("--out", help="output folder (default: loadtest/faults/out/<timestamp>)")
    arguments = parser.parse_args(argv)
    if arguments.short:
        arguments.duration = 20.0
        arguments.kill_interval = 5.0
    if arguments.rate <= 0 or arguments.duration <= 0 or arguments.kill_interval <= 0:
        parser.error("--rate, --duration and --kill-interval must be positive")
    return arguments


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    run_dir = arguments.out or os.path.join(FAULTS_DIR, "out", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(run_dir, exist_ok=True)
    configure_logging(run_dir)
    # SIGINT too, because a shell starts a background job with SIGINT ignored and Python then never raises for it.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_interrupt)
    run = FaultRun(arguments, run_dir)
    try:
        return run.execute()
    except KeyboardInterrupt:
        log.warning("interrupted; stopping everything this run started")
        return EXIT_RUN_FAILED
    except StartupError as error:
        log.error("%s", error)
        return EXIT_RUN_FAILED
    finally:
        run.cleanup()
        log.info("output in %s", run_dir)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def configure_logging(run_dir):
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(os.path.join(run_dir, "fault-run.log"))):
        handler.setFormatter(formatter)
        log.addHandler(handler)
    log.setLevel(logging.INFO)


class FaultRun:
    def __init__(self, arguments, run_dir):
        self.arguments = arguments
        self.run_dir = run_dir
        self.pids = PidLedger(run_dir)
        self.stop_event = threading.Event()
        self.threads = []
        self.broker = None
        self.redis = None
        self.producer = None
        self.consumer = None
        self.fault_log = None
        self.jars = []

    def execute(self):
        self.jars = self.prepare_jars()
        producer_jar, consumer_jar = self.jars
        self.broker = PrivateBroker(self.run_dir, self.pids)
        self.broker.start()
        self.redis = PrivateRedis(self.run_dir, self.pids)
        self.redis.start()
        connection = [f"--spring.rabbitmq.host={LOCAL_HOST}", f"--spring.rabbitmq.port={self.broker.amqp_port}",
                      f"--spring.data.redis.host={LOCAL_HOST}", f"--spring.data.redis.port={self.redis.port}"]
        self.producer = ServiceProcess("producer", producer_jar, free_port(), connection, self.run_dir, self.pids)
        consumer_settings = [f"--loadlevel.consumer.concurrency={self.arguments.consumer_concurrency}",
                             f"--loadlevel.consumer.prefetch={self.arguments.prefetch}"]
        self.consumer = ServiceProcess("consumer", consumer_jar, free_port(), connection + consumer_settings,
                                       self.run_dir, self.pids)
        self.producer.start()
        self.consumer.start()
        self.producer.wait_ready()
        self.consumer.wait_ready()
        self.write_run_description()
        injector = self.load_with_faults()
        drained = self.drain()
        return self.check(drained, injector)

    def prepare_jars(self):
        """Build the jars when missing, then copy them, so a rebuild during the run cannot change a restart."""
        if not (os.path.isfile(PRODUCER_JAR) and os.path.isfile(CONSUMER_JAR)):
            log.info("building the jars: ./mvnw -B -q package -DskipTests")
            subprocess.run(["./mvnw", "-B", "-q", "package", "-DskipTests"], cwd=REPO_ROOT, check=True)
        jar_dir = os.path.join(self.run_dir, "jars")
        os.makedirs(jar_dir, exist_ok=True)
        copies = []
        for jar in (PRODUCER_JAR, CONSUMER_JAR):
            copy = os.path.join(jar_dir, os.path.basename(jar))
            shutil.copy2(jar, copy)
            copies.append(copy)
        return copies

    def write_run_description(self):
        jars = {os.path.basename(jar): {"built": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(jar))),
                                        "sha256": sha256_of(jar)}
                for jar in self.jars}
        description = dict(vars(self.arguments), broker_node=self.broker.node, amqp_port=self.broker.amqp_port,
                           management_port=self.broker.management_port, redis_port=self.redis.port,
                           producer_port=self.producer.port, consumer_port=self.consumer.port, jars=jars)
        with open(os.path.join(self.run_dir, "run.json"), "w") as run_file:
            json.dump(description, run_file, indent=2)

    def load_with_faults(self):
        history = History(os.path.join(self.run_dir, "history.jsonl"))
        client = LoadClient(LOCAL_HOST, self.producer.port, history, self.arguments.rate, self.arguments.duration,
                            workers=self.arguments.workers, timeout=self.arguments.request_timeout)
        started_at, started = time.time(), time.monotonic()
        fault_log = FaultLog(os.path.join(self.run_dir, "faults.jsonl"), started_at)
        injector = FaultInjector(self.consumer, self.broker, self.redis, fault_log, self.stop_event,
                                 broker_down=self.arguments.broker_down, redis_down=self.arguments.redis_down)
        load_done = threading.Event()
        self.threads = [
            threading.Thread(target=self._load, args=(client, load_done), name="load", daemon=True),
            threading.Thread(target=injector.kill_consumers, name="consumer-kills", daemon=True,
                             args=(self.arguments.kill_interval, started, load_done)),
            threading.Thread(target=injector.restart_servers, name="restarts", daemon=True,
                             args=(plan_restarts(self.arguments.duration), started)),
        ]
        for thread in self.threads:
            thread.start()
        # Join with a timeout in a loop, so SIGINT and SIGTERM still reach the main thread.
        while any(thread.is_alive() for thread in self.threads):
            for thread in self.threads:
                thread.join(timeout=0.5)
        history.close()
        self.fault_log = fault_log
        return injector

    def _load(self, client, load_done):
        try:
            client.run(self.stop_event)
        finally:
            load_done.set()

    def drain(self):
        """Wait until no message is pending outside the dead-letter queue and the consumer stopped processing."""
        if not self.broker.running():
            self.broker.start()
        if not self.redis.running():
            self.redis.start()
        if not self.consumer.running():
            self.consumer.start()
        self.consumer.wait_ready()
        deadline = time.monotonic() + self.arguments.drain_timeout
        quiet, last_processed, last_report = 0, None, 0.0
        while time.monotonic() < deadline:
            pending = self.pending_messages()
            processed = self.consumer.metric_sum(PROCESSED_METRIC)
            quiet = quiet + 1 if pending == 0 and processed is not None and processed == last_processed else 0
            last_processed = processed
            if quiet >= QUIET_SECONDS:
                log.info("drained: no message pending, %s processed by the last consumer", processed)
                return True
            if time.monotonic() - last_report >= 5:
                log.info("draining: %s messages pending, %s processed by the last consumer", pending, processed)
                last_report = time.monotonic()
            time.sleep(1)
        log.error("the queues did not drain within %.0f s; checking what is there", self.arguments.drain_timeout)
        return False

    def pending_messages(self):
        try:
            return sum(queue.get("messages", 0) for queue in self.broker.queues()
                       if queue["name"] != DEAD_LETTER_QUEUE)
        except (OSError, ValueError) as error:
            log.warning("reading the queues from the management API failed: %s", error)
            return None

    def check(self, drained, injector):
        statuses, effects = checker.read_redis(self.redis.port)
        with open(os.path.join(self.run_dir, "redis-snapshot.json"), "w") as snapshot:
            json.dump({"statuses": statuses, "effects": effects}, snapshot)
        history = checker.read_jsonl(os.path.join(self.run_dir, "history.jsonl"))
        result = checker.evaluate(history, statuses, effects)
        result["drained"] = drained
        result["dead_letter_queue"] = self.dead_letter_depth()
        result["faults"] = self.fault_log.entries
        with open(os.path.join(self.run_dir, "result.json"), "w") as result_file:
            json.dump(result, result_file, indent=2)
        print(checker.format_report(result, self.fault_log.entries))
        print(f"drained                 {'yes' if drained else 'no (timed out)'}, "
              f"dead-letter queue holds {result['dead_letter_queue']}")
        if result["lost"] or result["unexpected"]:
            self.write_evidence(result["lost"] + result["unexpected"], history, statuses)
        for error in injector.errors:
            log.error("the fault injection failed: %s", error)
        if not checker.passed(result):
            return EXIT_CHECK_FAILED
        return EXIT_PASSED if drained and not injector.errors else EXIT_RUN_FAILED

    def dead_letter_depth(self):
        try:
            return next((queue.get("messages", 0) for queue in self.broker.queues()
                         if queue["name"] == DEAD_LETTER_QUEUE), 0)
        except (OSError, ValueError):
            return None

    def write_evidence(self, ids, history, statuses, listed=10):
        """Write every service log line that names a lost or unexpected id to evidence.txt, with its history line."""
        by_id = {record["id"]: record for record in history if record["id"]}
        by_key = {record["key"]: record for record in history}
        logs = sorted(glob.glob(os.path.join(self.run_dir, "producer-*.log"))
                      + glob.glob(os.path.join(self.run_dir, "consumer-*.log")))
        path = os.path.join(self.run_dir, "evidence.txt")
        with open(path, "w") as evidence:
            for request_id in ids:
                key = (statuses.get(request_id) or {}).get("key")
                record = by_id.get(request_id) or by_key.get(key)
                evidence.write(f"== {request_id}\nhistory: {json.dumps(record)}\n"
                               f"status:  {json.dumps(statuses.get(request_id))}\n")
                for log_path in logs:
                    with open(log_path, errors="replace") as service_log:
                        for line in service_log:
                            if request_id in line:
                                evidence.write(f"{os.path.basename(log_path)}: {line}")
        log.error("log lines of the first %d of %d lost or unexpected ids are in %s", min(listed, len(ids)), len(ids),
                  path)

    def cleanup(self):
        """Stop everything this run started, by the PIDs recorded at start, and delete the broker's directory."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=60)
            if thread.is_alive():
                log.warning("thread %s is still running after 60 s; stopping the servers anyway", thread.name)
        for server in (self.consumer, self.producer, self.broker, self.redis):
            if server is None:
                continue
            try:
                server.close()
            except Exception as error:
                log.error("stopping %s failed: %s", type(server).__name__, error)
        # The copies are only needed while services may restart; run.json keeps their SHA-256.
        shutil.rmtree(os.path.join(self.run_dir, "jars"), ignore_errors=True)
