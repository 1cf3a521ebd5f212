"""The faults of a run: SIGKILL of the consumer every few seconds, one broker restart and one Redis restart."""

import json
import logging
import threading
import time

log = logging.getLogger("fault-run")

CONSUMER_KILL = "consumer-kill"
BROKER_RESTART = "broker-restart"
REDIS_RESTART = "redis-restart"


class FaultLog:
    """The faults file: one JSON line per fault event, with its wall-clock time `at` and the offset `t` in seconds
    from the start of the load."""

    def __init__(self, path, started_at):
        self.path = path
        self.started_at = started_at
        self.entries = []
        self._lock = threading.Lock()

    def record(self, fault, detail=""):
        now = time.time()
        entry = {"fault": fault, "at": now, "t": round(now - self.started_at, 3), "detail": detail}
        with self._lock:
            self.entries.append(entry)
            with open(self.path, "a") as faults_file:
                faults_file.write(json.dumps(entry) + "\n")
        log.info("fault t=%.1f s: %s %s", entry["t"], fault, detail)


def plan_restarts(duration):
    """Return the (offset in seconds, fault) pairs of the restarts for a load of `duration` seconds.

    The broker restarts at 40 % of the load and Redis at 70 %, so each restart finds a backlog and consumers at work.
    """
    return [(duration * 0.4, BROKER_RESTART), (duration * 0.7, REDIS_RESTART)]


class FaultInjector:
    """Kills the consumer on one thread and restarts the broker and Redis on another, so the faults overlap.

    Setting `abort` stops both threads at their next wait, and a stopped server is then not started again.
    """

    def __init__(self, consumer, broker, redis, fault_log, abort, broker_down=5.0, redis_down=3.0,
                 restart_delay=1.0, consumer_uptime=3.0):
        self.consumer = consumer
        self.abort = abort
        self.broker = broker
        self.redis = redis
        self.fault_log = fault_log
        self.broker_down = broker_down
        self.redis_down = redis_down
        self.restart_delay = restart_delay
        self.consumer_uptime = consumer_uptime
        self.errors = []

    def kill_consumers(self, interval, started_monotonic, load_done):
        """SIGKILL the consumer every `interval` seconds until the load is done, then leave the last one running.

        A kill waits until the consumer has been ready for `consumer_uptime` seconds, so every consumer takes
        messages before it dies. On a busy machine a JVM start takes longer than the interval, and the kills are
        then as frequent as the starts allow.
        """
        next_kill = started_monotonic + min(interval, 2.0)
        try:
            while not load_done.wait(max(0.0, next_kill - time.monotonic())):
                if not self._await_consumer_uptime(load_done):
                    return
                self._kill_consumer()
                next_kill = max(next_kill + interval, time.monotonic())
        except Exception as error:
            self._fail(error)

    def _await_consumer_uptime(self, load_done):
        while not self.consumer.ready():
            if load_done.wait(0.25):
                return False
            if not self.consumer.running():
                self.consumer.start()
        return not load_done.wait(self.consumer_uptime)

    def _kill_consumer(self):
        pid = self.consumer.process.pid
        self.consumer.kill()
        self.fault_log.record(CONSUMER_KILL, f"SIGKILL pid {pid}")
        if self.abort.wait(self.restart_delay):
            return
        self.consumer.start()
        self.fault_log.record("consumer-start", f"pid {self.consumer.process.pid}")

    def restart_servers(self, schedule, started_monotonic):
        """Run the restarts of `schedule` at their offsets; they finish even when the load ended first."""
        actions = {BROKER_RESTART: self.restart_broker, REDIS_RESTART: self.restart_redis}
        try:
            for offset, fault in schedule:
                if self.abort.wait(max(0.0, started_monotonic + offset - time.monotonic())):
                    return
                actions[fault]()
        except Exception as error:
            self._fail(error)

    def _fail(self, error):
        self.errors.append(error)
        log.exception("injecting faults failed; no further faults of this kind")
        self.fault_log.record("fault-error", str(error))

    def restart_broker(self):
        self.fault_log.record("broker-stop", f"rabbitmqctl shutdown of {self.broker.node}")
        self.broker.stop()
        self.fault_log.record("broker-down", f"AMQP port {self.broker.amqp_port} closed for {self.broker_down:.0f} s")
        if self.abort.wait(self.broker_down):
            return
        self.broker.start()
        self.fault_log.record("broker-up", "await_startup succeeded")

    def restart_redis(self):
        self.fault_log.record("redis-stop", f"SIGTERM to redis-server pid {self.redis.process.pid}")
        self.redis.stop()
        if self.abort.wait(self.redis_down):
            return
        self.redis.start()
        self.fault_log.record("redis-up", f"pid {self.redis.process.pid} replies to PING")
