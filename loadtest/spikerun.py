"""The spike run: start the services, send a spike of at least ten times the consumer capacity, audit the result.

Entry point: loadtest/spike-run (run it with --help for the options).
"""

import argparse
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

from load_profile import SpikeProfile

log = logging.getLogger("spike-run")

LOADTEST_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(LOADTEST_DIR)
PRODUCER_JAR = os.path.join(REPO_ROOT, "producer-service", "target", "producer-service.jar")
CONSUMER_JAR = os.path.join(REPO_ROOT, "consumer-service", "target", "consumer-service.jar")
PROMETHEUS_CONFIG = os.path.join(REPO_ROOT, "k8s", "monitoring", "prometheus", "prometheus-local.yml")

DEFAULT_PRODUCER_PORT = 8080
DEFAULT_CONSUMER_PORT = 8081
MANAGEMENT_URL = "http://127.0.0.1:15672"
RABBITMQ_CREDENTIALS = ("guest", "guest")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

# Names of the run's own topology, so a run never mixes with the default queues or an earlier run's leftovers.
TOPOLOGY = {
    "exchange": "loadlevel.spike",
    "work-queue": "loadlevel.spike.work",
    "dead-letter-exchange": "loadlevel.spike.dlx",
    "dead-letter-queue": "loadlevel.spike.dead",
}

# Debian package per Python module the run imports, installed with apt-get when missing.
REQUIRED_MODULES = {
    "locust": "python3-locust",
    "matplotlib": "python3-matplotlib",
    "requests": "python3-requests",
    "redis": "python3-redis",
}

# Seconds the processed count must stay unchanged, with an empty queue, before the drain counts as finished.
# It is longer than the management API's 5 s refresh, so a stale "0 messages" cannot end the wait.
QUIET_SECONDS = 7


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="loadtest/spike-run",
        description="Start producer-service and consumer-service, send a baseline-spike-baseline load with Locust, "
        "wait for the queue to drain, then audit in Redis that every accepted request completed. "
        "Exit code 0: nothing lost and the spike reached 10x the capacity. 1: an accepted request was not "
        "completed. 2: the run could not start or finish. 3: nothing lost, but the spike stayed below 10x.",
    )
    parser.add_argument("--capacity", type=float, default=50.0,
                        help="consumer capacity in messages per second, set as its rate limit (default: 50)")
    parser.add_argument("--spike-rate", type=float,
                        help="requests per second during the spike (default: 12 times the capacity)")
    parser.add_argument("--duration", type=float, default=1.0,
                        help="factor applied to every phase length; phases are 20 s, 25 s and 20 s at 1 (default: 1)")
    parser.add_argument("--short", action="store_true", help="10 s per phase, for a smoke check")
    parser.add_argument("--concurrency", type=int, default=4, help="consumer listener threads (default: 4)")
    parser.add_argument("--work-ms", type=int, default=20,
                        help="simulated work per message in milliseconds, for every request type (default: 20)")
    parser.add_argument("--producer-port", type=int, default=DEFAULT_PRODUCER_PORT,
                        help=f"HTTP port of the producer-service the run starts (default: {DEFAULT_PRODUCER_PORT})")
    parser.add_argument("--consumer-port", type=int, default=DEFAULT_CONSUMER_PORT,
                        help=f"HTTP port of the consumer-service the run starts (default: {DEFAULT_CONSUMER_PORT})")
    parser.add_argument("--drain-timeout", type=float,
                        help="maximum seconds to wait for the queue to drain after the load ends "
                        "(default: 120 plus 3 times the backlog divided by the capacity)")
    parser.add_argument("--out", help="output folder (default: loadtest/out/<timestamp>)")
    parser.add_argument("--skip-build", action="store_true", help="never build; fail when a jar is missing")
    parser.add_argument("--no-prometheus", action="store_true", help="do not start a local Prometheus")
    args = parser.parse_args(argv)
    if args.capacity <= 0 or args.duration <= 0 or args.concurrency < 1 or args.work_ms < 0:
        parser.error("--capacity and --duration must be > 0, --concurrency >= 1 and --work-ms >= 0")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    out_dir = os.path.abspath(args.out or os.path.join(LOADTEST_DIR, "out", time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(os.path.join(out_dir, "records"), exist_ok=True)
    configure_logging(out_dir)
    signal.signal(signal.SIGTERM, _raise_system_exit)
    signal.signal(signal.SIGHUP, _raise_system_exit)
    try:
        install_missing_packages()
        import run_steps

        return run_steps.SpikeRun(args, out_dir, profile_for(args)).run()
    except KeyboardInterrupt:
        log.error("interrupted, so the run stopped every process it started")
        return 130
    except SystemExit as stop:
        if isinstance(stop.code, int) and stop.code >= 128:
            log.error("terminated by a signal, so the run stopped every process it started")
        raise
    except Exception as error:
        log.error("the spike run failed: %s", error)
        log.debug("details", exc_info=True)
        return 2


def profile_for(args):
    return SpikeProfile.for_capacity(args.capacity, spike_rate=args.spike_rate, scale=args.duration, short=args.short)


def configure_logging(out_dir):
    logging.basicConfig(
        level=logging.DEBUG,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        handlers=[logging.FileHandler(os.path.join(out_dir, "spike-run.log"))],
    )
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger().addHandler(console)
    for noisy in ("urllib3", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def install_missing_packages():
    """Install with apt-get the Debian packages of the Python modules that the run imports, if missing."""
    missing = [package for module, package in REQUIRED_MODULES.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        raise RuntimeError(f"missing Python modules, install them as root with: apt-get install -y {' '.join(missing)}")
    apt_get_install(missing)
    importlib.invalidate_caches()


def apt_get_install(packages):
    """Run apt-get install, and apt-get update once first when the package lists do not know a package yet."""
    log.info("installing %s with apt-get", " ".join(packages))
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(command, env=environment, stdout=subprocess.DEVNULL).returncode == 0:
        return
    subprocess.run(["apt-get", "update"], env=environment, stdout=subprocess.DEVNULL, check=True)
    subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, check=True)


def drain_timeout(args, backlog, capacity):
    if args.drain_timeout is not None:
        return args.drain_timeout
    return 120.0 + 3.0 * max(0.0, backlog or 0.0) / capacity


def effective_capacity(args):
    """Return the capacity the consumer can reach: its rate limit, or less when the threads cannot keep up."""
    if args.work_ms == 0:
        return args.capacity
    return min(args.capacity, args.concurrency * 1000.0 / args.work_ms)


def _raise_system_exit(signal_number, frame):
    raise SystemExit(128 + signal_number)


if __name__ == "__main__":
    sys.exit(main())
