"""Processes and local endpoints of one benchmark run: the services, the broker's management API and Redis.

Every process is started here and stopped by the PID recorded at its start, never by name.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MANAGEMENT_URL = "http://127.0.0.1:15672/api"
MANAGEMENT_AUTH = "Basic " + base64.b64encode(b"guest:guest").decode()


class BenchmarkError(RuntimeError):
    """A tool or service that the run needs failed, so the run cannot produce its numbers."""


def read_stat(path):
    """Return the name and the user plus system CPU seconds from a /proc stat file of a process or thread."""
    with open(path) as stat:
        text = stat.read()
    # The name may contain spaces and parentheses, so the fields are counted after its last closing parenthesis.
    fields = text.rsplit(")", 1)[1].split()
    return text[text.index("(") + 1:text.rindex(")")], (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_seconds(pid):
    """Return user plus system CPU seconds of a process so far, from /proc/PID/stat."""
    return read_stat(f"/proc/{pid}/stat")[1]


def oldest_pid(pattern):
    """Return the oldest process whose full command line matches `pattern` (pgrep -o -f), or None."""
    result = subprocess.run(["pgrep", "-o", "-f", pattern], capture_output=True, text=True)
    return int(result.stdout.split()[0]) if result.returncode == 0 and result.stdout.split() else None


def extract_with_cds(java, jvm_options, jar, directory, arguments, log_path):
    """Deploy a Spring Boot jar as the Dockerfiles do: extracted, with a CDS archive from a training run.

    Returns the extracted jar and the JVM options that map the archive. The training run uses the same options, so
    the JVM accepts the archive, and it stops once the Spring context is refreshed.
    """
    name = os.path.splitext(os.path.basename(jar))[0]
    subprocess.run([java, "-Djarmode=tools", "-jar", jar, "extract", "--force", "--destination", directory],
                   check=True, capture_output=True)
    extracted = os.path.join(directory, f"{name}.jar")
    archive = os.path.join(directory, f"{name}.jsa")
    with open(log_path, "ab") as log_file:
        result = subprocess.run(
            [java, *jvm_options, f"-XX:ArchiveClassesAtExit={archive}", "-Xlog:cds=off", "-Xlog:cds+dynamic=off",
             "-Dspring.context.exit=onRefresh", "-jar", extracted, "--server.port=0", *arguments],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180)
    if result.returncode != 0 or not os.path.exists(archive):
        raise BenchmarkError(f"the CDS training run of {name} failed; see {log_path}")
    return extracted, [*jvm_options, f"-XX:SharedArchiveFile={archive}"]


class SharedCpu:
    """CPU seconds of the broker and Redis, and the busy share of the whole machine, over measured windows.

    Both servers run on this machine beside the services, so their CPU per message shows what each publish, ack and
    status write costs on the server side, and the busy share shows whether the machine was saturated.
    """

    def __init__(self):
        self.pids = {"broker": oldest_pid("beam.smp"), "redis": oldest_pid("^redis-server 127.0.0.1:6379")}

    def snapshot(self):
        with open("/proc/stat") as stat:
            times = [int(value) for value in stat.readline().split()[1:]]
        idle = times[3] + times[4]
        values = {"machine_total": sum(times) / CLOCK_TICKS, "machine_idle": idle / CLOCK_TICKS}
        for name, pid in self.pids.items():
            values[name] = process_cpu_seconds(pid) if pid else None
        return values

    def since(self, before):
        """Return broker and Redis CPU seconds and the machine's busy share since `before`."""
        after = self.snapshot()
        total = after["machine_total"] - before["machine_total"]
        idle = after["machine_idle"] - before["machine_idle"]
        usage = {"machine_busy": 1 - idle / total if total > 0 else None}
        for name in self.pids:
            usage[f"{name}_cpu_seconds"] = (after[name] - before[name]
                                            if after[name] is not None and before[name] is not None else None)
        return usage


def free_port():
    """Return a TCP port on 127.0.0.1 that no process listens on at the moment of the call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url, timeout=2.0):
    """Return (status, body) of a GET, with status 0 when the server did not respond."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


class Service:
    """One service JVM: started with `java -jar`, ready when its readiness probe returns 200."""

    def __init__(self, name, java, jvm_options, jar, port, arguments, log_path):
        self.name = name
        self.port = port
        self.log_path = log_path
        # The metrics endpoint serves the processed count that the measurements poll.
        command = [java, *jvm_options, "-jar", jar, f"--server.port={port}",
                   "--management.endpoints.web.exposure.include=health,info,prometheus,metrics", *arguments]
        with open(log_path, "ab") as log_file:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.ready_seconds = None
        self.peak_rss_mb = None

    @property
    def pid(self):
        return self.process.pid

    def wait_ready(self, timeout=60.0):
        """Poll /actuator/health/readiness every 50 ms and return the seconds from process start to the first 200."""
        url = f"http://127.0.0.1:{self.port}/actuator/health/readiness"
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(f"{self.name} exited with code {self.process.returncode}; see {self.log_path}")
            status, _ = http_get(url, timeout=1.0)
            if status == 200:
                self.ready_seconds = time.monotonic() - self.started_at
                return self.ready_seconds
            time.sleep(0.05)
        raise BenchmarkError(f"{self.name} was not ready within {timeout:.0f} s; see {self.log_path}")

    def cpu_seconds(self):
        """Return user plus system CPU seconds of the JVM so far."""
        return process_cpu_seconds(self.pid)

    def compiler_cpu_seconds(self):
        """Return the CPU seconds of the JVM's JIT compiler threads so far, from /proc/PID/task/*/stat."""
        total = 0.0
        for task in os.listdir(f"/proc/{self.pid}/task"):
            try:
                name, seconds = read_stat(f"/proc/{self.pid}/task/{task}/stat")
            except FileNotFoundError:
                # The thread ended between the listing and the read.
                continue
            # Linux cuts thread names to 15 characters: "C2 CompilerThread0" reads "C2 CompilerThre".
            if "CompilerThre" in name:
                total += seconds
        return total

    def read_peak_rss_mb(self):
        """Return VmHWM, the peak resident set size, in MiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    self.peak_rss_mb = int(line.split()[1]) / 1024
                    return self.peak_rss_mb
        raise BenchmarkError(f"/proc/{self.pid}/status of {self.name} has no VmHWM line")

    def processed_total(self):
        """Return the count of loadlevel.processing.processed{outcome=completed}, summed over all types.

        It reads the one meter from /actuator/metrics rather than the whole Prometheus page, whose rendering of every
        histogram costs the service far more CPU when polled during a measured window.
        """
        url = (f"http://127.0.0.1:{self.port}/actuator/metrics/loadlevel.processing.processed"
               "?tag=outcome:completed")
        status, body = http_get(url, timeout=2.0)
        if status != 200:
            raise BenchmarkError(f"{self.name}: {url} returned {status}")
        return sum(measurement["value"] for measurement in json.loads(body)["measurements"]
                   if measurement["statistic"] == "COUNT")

    def sample_processed(self):
        """Return (time, processed count), the time taken halfway through the read, so its latency adds no error."""
        before = time.monotonic()
        count = self.processed_total()
        return (before + time.monotonic()) / 2, count

    def stop(self, timeout=40.0, read_rss=True):
        """Read the peak RSS unless read_rss is false, send SIGTERM, and SIGKILL after `timeout` seconds."""
        if self.process.poll() is not None:
            return
        if read_rss:
            self.read_peak_rss_mb()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def management(method, path, body=None):
    """Call the RabbitMQ management API on 127.0.0.1 and return the decoded JSON response, or None when it is empty."""
    request = urllib.request.Request(
        MANAGEMENT_URL + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": MANAGEMENT_AUTH, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404 and method == "DELETE":
            return None
        raise BenchmarkError(f"management API {method} {path} returned {error.code}: {error.read()[:200]!r}")
    except urllib.error.URLError as error:
        raise BenchmarkError(
            f"the management API at {MANAGEMENT_URL} did not respond ({error.reason}); "
            "run `rabbitmq-plugins enable rabbitmq_management`"
        )
    return json.loads(payload) if payload else None


def queue_path(queue):
    return "/queues/%2F/" + urllib.parse.quote(queue, safe="")


def queue_depth(queue):
    """Return the broker's message count of the queue (ready plus unacked), as the management API last sampled it."""
    return (management("GET", queue_path(queue)) or {}).get("messages", 0)


def purge_queue(queue):
    management("DELETE", queue_path(queue) + "/contents")


def delete_queue(queue):
    management("DELETE", queue_path(queue))


def delete_exchange(exchange):
    management("DELETE", "/exchanges/%2F/" + urllib.parse.quote(exchange, safe=""))


def peek_message_size(queue):
    """Return the body size in bytes of the message at the head of the queue, which stays in the queue."""
    messages = management(
        "POST", queue_path(queue) + "/get", {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"},
    )
    if not messages:
        raise BenchmarkError(f"queue {queue} is empty, so the message size cannot be measured")
    return messages[0]["payload_bytes"]


def delete_redis_keys(pattern):
    """Delete the Redis keys on 127.0.0.1:6379 that match `pattern`, in batches, and return how many there were."""
    scan = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "--scan", "--pattern", pattern],
        check=True, capture_output=True, text=True,
    )
    keys = scan.stdout.split()
    for start in range(0, len(keys), 1000):
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "unlink", *keys[start:start + 1000]],
            check=True, capture_output=True,
        )
    return len(keys)
