"""Once-a-second sampler of the queue depth and of the producer's and consumer's counters.

It reads the RabbitMQ management API for the work queue and the two services' /actuator/prometheus
endpoints, and appends one row of summary.SAMPLE_COLUMNS per second to a CSV file.
"""

import csv
import logging
import re
import threading
import time
from urllib.parse import quote

from summary import SAMPLE_COLUMNS

log = logging.getLogger("spike-run")

_SAMPLE_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def sum_metric(text, name, **labels):
    """Sum every sample of metric `name` in Prometheus text format whose labels include `labels`.

    Returns None when the text contains no such sample, so a missing metric is not read as 0.
    """
    total = None
    for line in text.splitlines():
        match = _SAMPLE_LINE.match(line)
        if not match or match["name"] != name:
            continue
        sample_labels = dict(_LABEL.findall(match["labels"] or ""))
        if all(sample_labels.get(key) == value for key, value in labels.items()):
            total = (total or 0.0) + float(match["value"])
    return total


class Sampler(threading.Thread):
    """Background thread that writes one sample per second until stop() is called."""

    def __init__(self, csv_path, queue, producer_url, consumer_url, management_url, credentials):
        super().__init__(name="sampler", daemon=True)
        import requests

        self.csv_path = csv_path
        self.queue_url = f"{management_url}/api/queues/{quote('/', safe='')}/{quote(queue, safe='')}"
        self.producer_metrics_url = f"{producer_url}/actuator/prometheus"
        self.consumer_metrics_url = f"{consumer_url}/actuator/prometheus"
        self.session = requests.Session()
        self.management = requests.Session()
        self.management.auth = credentials
        self.stopped = threading.Event()
        self.latest = {}
        self.errors = 0

    def run(self):
        with open(self.csv_path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=SAMPLE_COLUMNS)
            writer.writeheader()
            next_tick = time.time()
            while not self.stopped.is_set():
                sample = self.sample()
                writer.writerow({key: "" if value is None else value for key, value in sample.items()})
                file.flush()
                self.latest = sample
                next_tick += 1.0
                self.stopped.wait(max(0.0, next_tick - time.time()))

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)

    def sample(self):
        sample = dict.fromkeys(SAMPLE_COLUMNS)
        sample["time"] = round(time.time(), 3)
        sample.update(self.queue_figures())
        producer = self.metrics_text(self.producer_metrics_url)
        if producer is not None:
            sample["accepted_total"] = sum_metric(producer, "loadlevel_ingress_accepted_total")
            sample["rejected_total"] = sum_metric(producer, "loadlevel_ingress_rejected_total")
        consumer = self.metrics_text(self.consumer_metrics_url)
        if consumer is not None:
            sample["processed_total"] = sum_metric(consumer, "loadlevel_processing_processed_total")
            sample["completed_total"] = sum_metric(
                consumer, "loadlevel_processing_processed_total", outcome="completed"
            )
        return sample

    def queue_figures(self):
        body = self.get_json(self.management, self.queue_url)
        if body is None:
            return {}
        stats = body.get("message_stats", {})
        return {
            "messages": body.get("messages"),
            "messages_ready": body.get("messages_ready"),
            "messages_unacknowledged": body.get("messages_unacknowledged"),
            "publish_total": stats.get("publish"),
            "ack_total": stats.get("ack"),
        }

    def metrics_text(self, url):
        try:
            response = self.session.get(url, timeout=0.8)
            response.raise_for_status()
            return response.text
        except Exception as error:
            self.count_error(url, error)
            return None

    def get_json(self, session, url):
        try:
            response = session.get(url, timeout=0.8)
            response.raise_for_status()
            return response.json()
        except Exception as error:
            self.count_error(url, error)
            return None

    def count_error(self, url, error):
        # Logs the first failures and then every hundredth, so a stopped service does not flood the log.
        self.errors += 1
        if self.errors <= 5 or self.errors % 100 == 0:
            log.warning("sampling %s failed (%d failures so far): %s", url, self.errors, error)
