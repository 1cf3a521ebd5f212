"""Start, watch and stop the processes of one spike run, and the HTTP checks that wait for them.

Every process is started here and stopped by the PID recorded at its start, never by name.
"""

import logging
import os
import signal
import socket
import subprocess
import time

log = logging.getLogger("spike-run")


class StartupError(RuntimeError):
    """A service or tool that the run needs did not start or did not become ready."""


class Processes:
    """The background processes of one run, stopped in reverse start order by stop_all()."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.started = []

    def start(self, name, command, log_name, cwd=None):
        log_path = os.path.join(self.out_dir, log_name)
        log_file = open(log_path, "ab")
        process = subprocess.Popen(
            command, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log_file.close()
        self.started.append((name, process, log_path))
        with open(os.path.join(self.out_dir, "pids.txt"), "a") as pids:
            pids.write(f"{process.pid} {name}\n")
        log.info("started %s (pid %d), log %s", name, process.pid, log_path)
        return process

    def stop(self, name, process, timeout=45.0):
        """Send SIGTERM, wait up to `timeout` seconds for a graceful stop, then SIGKILL."""
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
            log.info("stopped %s (pid %d), exit code %s", name, process.pid, process.returncode)
        except subprocess.TimeoutExpired:
            log.warning("%s (pid %d) did not stop within %.0f s after SIGTERM, sending SIGKILL", name, process.pid, timeout)
            process.kill()
            process.wait(timeout=10)

    def stop_all(self):
        for name, process, _ in reversed(self.started):
            try:
                self.stop(name, process)
            except Exception as error:
                log.error("stopping %s (pid %d) failed: %s", name, process.pid, error)

    def log_path(self, process):
        return next(path for _, started, path in self.started if started is process)


def wait_until(check, timeout, what, process=None, processes=None, interval=0.5):
    """Call `check` until it returns a true value and return it, raising StartupError after `timeout` seconds.

    When `process` exits before `check` succeeds, the error contains the tail of its log.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if process is not None and process.poll() is not None:
            tail = log_tail(processes.log_path(process)) if processes else ""
            raise StartupError(f"{what}: the process exited with code {process.returncode}\n{tail}")
        if time.monotonic() > deadline:
            raise StartupError(f"{what}: timed out after {timeout:.0f} s")
        time.sleep(interval)


def http_ok(session, url, predicate=lambda response: True, timeout=2.0):
    """Return whether GET `url` returns a 2xx status and a response that satisfies `predicate`, False on any error."""
    try:
        response = session.get(url, timeout=timeout)
        return response.ok and predicate(response)
    except Exception:
        return False


def readiness_up(response):
    try:
        return response.json().get("status") == "UP"
    except ValueError:
        return False


def port_in_use(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def log_tail(path, lines=30):
    try:
        with open(path, errors="replace") as file:
            return "".join(file.readlines()[-lines:])
    except OSError as error:
        return f"(log {path} not readable: {error})"
