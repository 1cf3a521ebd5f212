"""The bounded load of a fault run: POST /api/v1/requests at a fixed arrival rate, one history line per request.

Each history line is a JSON object with the client's view of one request:
  seq             position in the schedule, from 0
  idempotencyKey  client-generated UUID, sent as the Idempotency-Key header
  key             the request's `key` field, unique per request, so a status hash in Redis names its request
  type            notification, order or payment
  start, end      wall-clock times in epoch seconds when the request was sent and when the outcome was known
  outcome         ok (202 with an id), failed (any other HTTP status) or indeterminate (timeout, connection error,
                  202 without an id, or a 503 whose problem says "stored": "unknown", with the problem's requestId).
                  The client cannot tell whether the broker stored an indeterminate request.
  status          HTTP status, null when indeterminate without one
  id              the request id of a 202, otherwise null
  error           the exception or the problem detail, otherwise null
"""

import http.client
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("fault-run")

# Share of each request type in the load: notifications are the bulk, payments the fewest.
TYPE_WEIGHTS = (("notification", 6), ("order", 3), ("payment", 1))
TYPE_CYCLE = [name for name, weight in TYPE_WEIGHTS for _ in range(weight)]


class History:
    """The history file, written by many threads: one flushed JSON line per finished request."""

    def __init__(self, path):
        self.path = path
        self._file = open(path, "w")
        self._lock = threading.Lock()
        self.counts = {"ok": 0, "failed": 0, "indeterminate": 0}

    def write(self, record):
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self.counts[record["outcome"]] += 1

    def close(self):
        self._file.close()


class LoadClient:
    """Send `rate` requests per second for `duration` seconds from a pool of `workers` threads.

    The schedule is open-loop: request n is due at n / rate seconds after the start whatever the responses are, as a
    spike of independent clients would arrive. When every worker is busy the next request waits for one, so at most
    `workers` requests are in flight and the total is bounded by rate times duration.
    """

    def __init__(self, host, port, history, rate, duration, workers=64, timeout=15.0, run_id=None):
        self.host = host
        self.port = port
        self.history = history
        self.rate = rate
        self.duration = duration
        self.workers = workers
        self.timeout = timeout
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(workers)
        self.sent = 0
        self.max_lag = 0.0

    def run(self, stop_event):
        total = int(self.rate * self.duration)
        log.info("load: %d requests at %.0f per second over %.0f s, %d workers", total, self.rate, self.duration,
                 self.workers)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="load") as pool:
            for seq in range(total):
                if stop_event.is_set():
                    log.warning("load stopped early after %d requests", seq)
                    break
                delay = started + seq / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._slots.acquire()
                self.max_lag = max(self.max_lag, time.monotonic() - (started + seq / self.rate))
                self.sent += 1
                pool.submit(self._send, seq)
        log.info("load finished: %d sent in %.1f s, largest delay behind schedule %.2f s, outcomes %s",
                 self.sent, time.monotonic() - started, self.max_lag, self.history.counts)

    def _send(self, seq):
        try:
            self.history.write(self._request(seq))
        except Exception:
            log.exception("request %d could not be recorded", seq)
        finally:
            self._slots.release()

    def _request(self, seq):
        request_type = TYPE_CYCLE[seq % len(TYPE_CYCLE)]
        record = {
            "seq": seq,
            "idempotencyKey": str(uuid.uuid4()),
            "key": f"fault-{self.run_id}-{seq}",
            "type": request_type,
            "start": time.time(),
            "end": None,
            "outcome": "indeterminate",
            "status": None,
            "id": None,
            "error": None,
        }
        body = json.dumps({"type": request_type, "key": record["key"], "payload": {"seq": seq}})
        headers = {"Content-Type": "application/json", "Idempotency-Key": record["idempotencyKey"]}
        connection = self._connection()
        try:
            connection.request("POST", "/api/v1/requests", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            # A timeout or a broken connection: the request may or may not have been stored.
            self._drop_connection()
            record.update(end=time.time(), error=f"{type(error).__name__}: {error}")
            return record
        record.update(end=time.time(), status=response.status)
        if response.status == 202:
            request_id = self._id_of(payload)
            if request_id:
                record.update(outcome="ok", id=request_id)
            else:
                record["error"] = "202 without an id in the body: " + payload[:200].decode(errors="replace")
        elif response.status == 503 and self._stored_of(payload) == "unknown":
            # The producer lost the confirm after the publish: the broker may have stored the request.
            record.update(id=self._request_id_of(payload), error=self._problem_of(payload, response))
        else:
            record.update(outcome="failed", error=self._problem_of(payload, response))
        return record

    @staticmethod
    def _stored_of(payload):
        try:
            return json.loads(payload).get("stored")
        except (ValueError, AttributeError):
            return None

    @staticmethod
    def _request_id_of(payload):
        try:
            return json.loads(payload).get("requestId")
        except (ValueError, AttributeError):
            return None

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def _drop_connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    @staticmethod
    def _id_of(payload):
        try:
            return json.loads(payload).get("id")
        except (ValueError, AttributeError):
            return None

    @staticmethod
    def _problem_of(payload, response):
        retry_after = response.getheader("Retry-After")
        try:
            problem = json.loads(payload)
            detail = problem.get("detail") or problem.get("title")
        except (ValueError, AttributeError):
            detail = payload[:200].decode(errors="replace")
        return f"{detail} (Retry-After: {retry_after})" if retry_after else detail
