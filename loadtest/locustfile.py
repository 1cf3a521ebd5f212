"""Spike test of the producer's ingress: baseline, a spike of at least ten times the consumer capacity, baseline.

Run it through the spike runner, which also starts the services, samples the queue and audits Redis:

    loadtest/spike-run

or on its own against a running producer (Debian's python3-locust 2.12, which installs for /usr/bin/python3):

    /usr/bin/python3 -m locust -f loadtest/locustfile.py --headless --host http://127.0.0.1:8080 \
        --spike-rate 600 --baseline-rate 25 --record-dir /tmp/spike --stop-timeout 10

Each Locust process writes the id of every 202 response to <record-dir>/accepted-ids-<pid>.txt and a count
of responses by HTTP status to <record-dir>/status-counts-<pid>.json, so processes never share a file.
Status 0 counts requests that got no HTTP response.
"""

import collections
import json
import os
import time

from locust import FastHttpUser, LoadTestShape, events, task
from locust.user.users import LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING
from locust.user.wait_time import constant_throughput

import payloads
from load_profile import USER_THROUGHPUT, SpikeProfile, users_for_rate

REQUESTS_PATH = "/api/v1/requests"

status_counts = collections.Counter()
# Opened at the first 202 and written line by line, so the ids survive a Locust process that is killed.
accepted_ids_file = None


@events.init_command_line_parser.add_listener
def add_profile_arguments(parser):
    parser.add_argument("--baseline-rate", type=float, default=25.0, help="Baseline requests per second")
    parser.add_argument("--spike-rate", type=float, default=600.0, help="Requests per second during the spike")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="Seconds of baseline before the spike")
    parser.add_argument("--spike-seconds", type=float, default=25.0, help="Seconds of spike")
    parser.add_argument("--recovery-seconds", type=float, default=20.0, help="Seconds of baseline after the spike")
    parser.add_argument(
        "--record-dir", default=".", help="Folder for the accepted ids, the status counts and the shape start time"
    )


class IngressUser(FastHttpUser):
    """Client that submits notification, order and payment requests in a 60/30/10 mix."""

    wait_time = constant_throughput(USER_THROUGHPUT)
    # Bounds every request, so a stalled producer fails requests instead of holding users forever.
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self):
        self.rng = payloads.new_rng()

    def stop(self, force=False):
        """Stop after the current wait or request instead of killing a waiting user at once.

        Locust 2.12 kills a user that is in wait_time, but gevent delivers the kill one event-loop turn later.
        Under a spike the throughput wait is often 0 s, so the user may have sent its next request by then, and
        the producer accepts a request whose id never reaches the id file (21 of 5415 at one ramp-down).
        """
        if not force and self._state == LOCUST_STATE_WAITING:
            self._state = LOCUST_STATE_STOPPING
            return False
        return super().stop(force=force)

    @task(payloads.TYPE_WEIGHTS["notification"])
    def submit_notification(self):
        self.submit(payloads.notification(self.rng))

    @task(payloads.TYPE_WEIGHTS["order"])
    def submit_order(self):
        self.submit(payloads.order(self.rng))

    @task(payloads.TYPE_WEIGHTS["payment"])
    def submit_payment(self):
        self.submit(payloads.payment(self.rng))

    def submit(self, body):
        name = f"{REQUESTS_PATH} [{body['type']}]"
        with self.client.post(REQUESTS_PATH, json=body, name=name, catch_response=True) as response:
            status_counts[response.status_code] += 1
            failure = accepted_failure(response)
            if failure is None:
                record_accepted_id(self.environment, response.json()["id"])
                response.success()
            else:
                response.failure(failure)


def accepted_failure(response):
    """Return why the response is not a valid 202 Accepted, or None when it is one."""
    if response.status_code == 0:
        return f"expected 202 Accepted, but got no response: {getattr(response, 'error', None)!r}"
    if response.status_code != 202:
        retry_after = response.headers.get("Retry-After") if response.headers else None
        suffix = f" (Retry-After: {retry_after})" if retry_after else ""
        return f"expected 202 Accepted, but got {response.status_code}{suffix}"
    try:
        body = response.json()
    except ValueError:
        return f"expected a JSON body with 202, but got {response.text[:120]!r}"
    if not body.get("id") or body.get("status") != "ACCEPTED":
        return f"expected id and status ACCEPTED in the 202 body, but got {body!r}"
    location = response.headers.get("Location", "")
    if not location.endswith(f"{REQUESTS_PATH}/{body['id']}"):
        return f"expected Location ending in {REQUESTS_PATH}/{body['id']}, but got {location!r}"
    return None


class SpikeShape(LoadTestShape):
    """Sets the user count so that users times USER_THROUGHPUT follows the spike profile."""

    profile = None

    def tick(self):
        if self.profile is None:
            self.profile = profile_from_options(self.runner.environment.parsed_options)
            record_shape_start(self.runner.environment.parsed_options, time.time() - self.get_run_time())
        rate = self.profile.rate_at(self.get_run_time())
        if rate is None:
            return None
        # Starts or stops every missing user within about one second, so each phase begins at its rate.
        spawn_rate = users_for_rate(self.profile.spike_rate)
        return users_for_rate(rate), spawn_rate


def profile_from_options(options):
    return SpikeProfile(
        baseline_rate=options.baseline_rate,
        spike_rate=options.spike_rate,
        baseline_seconds=options.baseline_seconds,
        spike_seconds=options.spike_seconds,
        recovery_seconds=options.recovery_seconds,
    )


def record_shape_start(options, started_at):
    """Write the wall-clock start of the shape, so the runner can place the phases on its own samples."""
    with open(os.path.join(options.record_dir, "shape-start.json"), "w") as file:
        json.dump({"started_at": started_at, "profile": profile_from_options(options).to_dict()}, file)


def record_dir(environment):
    return environment.parsed_options.record_dir if environment.parsed_options else "."


def record_accepted_id(environment, request_id):
    global accepted_ids_file
    if accepted_ids_file is None:
        path = os.path.join(record_dir(environment), f"accepted-ids-{os.getpid()}.txt")
        accepted_ids_file = open(path, "a", buffering=1)
    accepted_ids_file.write(f"{request_id}\n")


@events.test_stop.add_listener
@events.quitting.add_listener
def write_status_counts(environment, **kwargs):
    if accepted_ids_file is not None:
        accepted_ids_file.flush()
    path = os.path.join(record_dir(environment), f"status-counts-{os.getpid()}.json")
    with open(path, "w") as file:
        json.dump({str(status): count for status, count in sorted(status_counts.items())}, file)
