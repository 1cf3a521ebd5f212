"""The processes of one fault run: a private RabbitMQ node, a private Redis and the two loadlevel services.

Every process is started here and stopped by the PID recorded at its start, never by name. The broker and Redis
listen on free ports on 127.0.0.1, so the shared RabbitMQ (5672) and Redis (6379) are never touched.
"""

import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

log = logging.getLogger("fault-run")

LOCAL_HOST = "127.0.0.1"
# Called directly instead of the /usr/sbin wrappers, because those switch a root caller to the rabbitmq user, who can
# neither write the node's temporary directory nor read the Erlang cookie the node creates there.
RABBITMQ_SCRIPTS = "/usr/lib/rabbitmq/bin"
RABBITMQ_CREDENTIALS = ("guest", "guest")


class StartupError(RuntimeError):
    """A server or service of the run did not start or did not become ready."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCAL_HOST, 0))
        return probe.getsockname()[1]


def port_accepts(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOCAL_HOST, port)) == 0


def wait_until(check, timeout, what, interval=0.5, alive=None):
    """Call `check` until it returns a true value, raising StartupError after `timeout` seconds.

    When `alive` is given and returns False, the wait fails at once because the process being waited for exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if alive is not None and not alive():
            raise StartupError(f"{what}: the process exited")
        if time.monotonic() > deadline:
            raise StartupError(f"{what}: timed out after {timeout:.0f} s")
        time.sleep(interval)


class PidLedger:
    """The pids.txt file of a run: one line per started process, so a leftover can be found after a crash."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, "pids.txt")

    def record(self, pid, name):
        with open(self.path, "a") as ledger:
            ledger.write(f"{pid} {name} {time.time():.3f}\n")


def stop_process(process, name, timeout=30.0):
    """Send SIGTERM to a process this run started, wait up to `timeout` seconds, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s (pid %d) did not stop within %.0f s after SIGTERM, sending SIGKILL", name, process.pid, timeout)
        process.kill()
        process.wait(timeout=10)


class PrivateBroker:
    """A RabbitMQ 3.10 node from the Debian installation with the management plugin, private to one run.

    Data, logs, configuration and the Erlang cookie live in a temporary directory that close() deletes. HOME points
    at that directory, so the node and `rabbitmqctl -n NODE` share the cookie the node creates there.
    """

    def __init__(self, run_dir, pids):
        suffix = uuid.uuid4().hex[:8]
        self.node = f"loadlevel-fault-{suffix}@localhost"
        self.amqp_port = free_port()
        self.management_port = free_port()
        self.distribution_port = free_port()
        self.directory = tempfile.mkdtemp(prefix=f"loadlevel-broker-{suffix}-")
        self.run_dir = run_dir
        self.pids = pids
        self.process = None
        self._write_configuration()

    def _write_configuration(self):
        with open(self._path("rabbitmq.conf"), "w") as config:
            config.write(f"management.tcp.ip = {LOCAL_HOST}\n")
            config.write(f"management.tcp.port = {self.management_port}\n")
            # Queue figures in the management API refresh every second instead of every 5 s.
            config.write("collect_statistics_interval = 1000\n")
        with open(self._path("enabled_plugins"), "w") as plugins:
            plugins.write("[rabbitmq_management].\n")
        # Read instead of /etc/rabbitmq/rabbitmq-env.conf, which names the shared node.
        with open(self._path("rabbitmq-env.conf"), "w") as env_file:
            env_file.write("# private fault-run node: settings come from the environment\n")

    def _path(self, name):
        return os.path.join(self.directory, name)

    def _environment(self):
        environment = {name: value for name, value in os.environ.items() if not name.startswith("RABBITMQ_")}
        environment.update({
            "HOME": self.directory,
            "RABBITMQ_CONF_ENV_FILE": self._path("rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": LOCAL_HOST,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.distribution_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": LOCAL_HOST,
            "RABBITMQ_CONFIG_FILE": self._path("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self._path("advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": self._path("enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": self._path("mnesia"),
            "RABBITMQ_LOG_BASE": self._path("log"),
            "RABBITMQ_PID_FILE": self._path("node.pid"),
        })
        return environment

    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self, timeout=90.0):
        """Start the node (again, with the same data) and wait until `rabbitmqctl await_startup` succeeds."""
        if self.running():
            raise RuntimeError(f"broker node {self.node} is already running")
        with open(os.path.join(self.run_dir, "broker-server.log"), "ab") as output:
            self.process = subprocess.Popen(
                [os.path.join(RABBITMQ_SCRIPTS, "rabbitmq-server")], cwd=self.directory, env=self._environment(),
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pids.record(self.process.pid, "rabbitmq-server")
        log.info("started broker node %s (pid %d), AMQP port %d, management port %d",
                 self.node, self.process.pid, self.amqp_port, self.management_port)
        wait_until(lambda: self.rabbitmqctl("await_startup", "--timeout", "10", timeout=20).returncode == 0,
                   timeout, f"broker node {self.node} startup", interval=1.0, alive=self.running)

    def stop(self, timeout=30.0):
        """Stop the node and its Erlang runtime, then wait until the AMQP port no longer accepts connections."""
        if not self.running():
            return
        result = self.rabbitmqctl("shutdown", timeout=timeout)
        if result.returncode != 0:
            log.warning("rabbitmqctl shutdown of %s failed (exit code %d): %s",
                        self.node, result.returncode, result.stdout.strip())
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("broker node %s did not exit within %.0f s, sending SIGKILL", self.node, timeout)
            self._kill()
        wait_until(lambda: not port_accepts(self.amqp_port), timeout, f"AMQP port {self.amqp_port} closed")
        log.info("stopped broker node %s", self.node)

    def rabbitmqctl(self, *arguments, timeout=60.0):
        command = [os.path.join(RABBITMQ_SCRIPTS, "rabbitmqctl"), "-n", self.node, *arguments]
        try:
            return subprocess.run(command, cwd=self.directory, env=self._environment(), capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            return subprocess.CompletedProcess(command, -1, stdout=f"timed out after {timeout:.0f} s: {error}")

    def _kill(self):
        """SIGKILL the Erlang VM, whose PID the node wrote to its pid file, and the start script this run started."""
        try:
            with open(self._path("node.pid")) as pid_file:
                os.kill(int(pid_file.read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def queues(self):
        """Return the node's queues from the management API: name, messages, ready and unacknowledged counts."""
        request = urllib.request.Request(
            f"http://{LOCAL_HOST}:{self.management_port}/api/queues/%2F"
            "?columns=name,messages,messages_ready,messages_unacknowledged")
        token = base64.b64encode(":".join(RABBITMQ_CREDENTIALS).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def close(self):
        """Stop the node if it runs, keep its log in the run folder and delete its directory."""
        try:
            self.stop()
        except Exception as error:
            log.error("stopping broker node %s failed: %s", self.node, error)
            if self.running():
                self._kill()
        node_log = os.path.join(self.directory, "log", f"{self.node}.log")
        if os.path.isfile(node_log):
            shutil.copyfile(node_log, os.path.join(self.run_dir, "broker.log"))
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    """A redis-server child process on a free port, private to one run.

    It writes an append-only file with an fsync before every reply, in the run folder, so a restart keeps the status
    hashes: the fault is Redis being down, not Redis losing data, which no status store survives.
    """

    def __init__(self, run_dir, pids):
        self.port = free_port()
        self.data_dir = os.path.join(run_dir, "redis-data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.run_dir = run_dir
        self.pids = pids
        self.process = None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self, timeout=20.0):
        if self.running():
            raise RuntimeError(f"Redis on port {self.port} is already running")
        command = ["redis-server", "--port", str(self.port), "--bind", LOCAL_HOST, "--save", "",
                   "--appendonly", "yes", "--appendfsync", "always", "--dir", self.data_dir, "--daemonize", "no"]
        with open(os.path.join(self.run_dir, "redis.log"), "ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.pids.record(self.process.pid, "redis-server")
        wait_until(self.replies, timeout, f"Redis on port {self.port} startup", interval=0.1, alive=self.running)
        log.info("started Redis (pid %d) on port %d", self.process.pid, self.port)

    def stop(self):
        if not self.running():
            return
        stop_process(self.process, "redis-server", timeout=10)
        wait_until(lambda: not port_accepts(self.port), 10, f"Redis port {self.port} closed", interval=0.1)
        log.info("stopped Redis on port %d", self.port)

    def replies(self):
        try:
            with socket.create_connection((LOCAL_HOST, self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def close(self):
        try:
            self.stop()
        except Exception as error:
            log.error("stopping Redis on port %d failed: %s", self.port, error)
            if self.running():
                self.process.kill()


class ServiceProcess:
    """producer-service or consumer-service started with `java -jar`; each start writes its own log file.

    The JVM uses the client compiler only and the serial collector, which start faster on a machine with few cores,
    so a killed consumer is back sooner. The run measures loss, not throughput.
    """

    def __init__(self, name, jar, port, arguments, run_dir, pids):
        self.name = name
        self.jar = jar
        self.port = port
        self.arguments = arguments
        self.run_dir = run_dir
        self.pids = pids
        self.process = None
        self.starts = 0
        self.logs = []

    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self):
        self.starts += 1
        log_path = os.path.join(self.run_dir, f"{self.name}-{self.starts}.log")
        command = ["java", "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", self.jar, f"--server.port={self.port}", *self.arguments]
        with open(log_path, "ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.logs.append(log_path)
        self.pids.record(self.process.pid, self.name)
        log.info("started %s (pid %d) on port %d, log %s", self.name, self.process.pid, self.port, log_path)

    def wait_ready(self, timeout=90.0):
        wait_until(self.ready, timeout, f"{self.name} readiness on port {self.port}", interval=0.25,
                   alive=self.running)

    def ready(self):
        try:
            url = f"http://{LOCAL_HOST}:{self.port}/actuator/health/readiness"
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200 and json.load(response).get("status") == "UP"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def kill(self):
        """Send SIGKILL, which gives the service no chance to finish or acknowledge anything."""
        if self.running():
            self.process.kill()
            self.process.wait(timeout=10)
            log.info("killed %s (pid %d) with SIGKILL", self.name, self.process.pid)

    def metric_sum(self, name):
        """Return the sum of all series of a Prometheus counter from /actuator/prometheus, None when unreachable."""
        try:
            url = f"http://{LOCAL_HOST}:{self.port}/actuator/prometheus"
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except (OSError, urllib.error.URLError):
            return None
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def close(self):
        stop_process(self.process, self.name, timeout=40)
