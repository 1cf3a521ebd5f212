import csv
import os
import tempfile
import unittest

import summary


def sample(time, accepted=None, processed=None, messages=None, publish=None, ack=None):
    row = dict.fromkeys(summary.SAMPLE_COLUMNS)
    row.update(time=time, accepted_total=accepted, processed_total=processed, messages=messages,
               publish_total=publish, ack_total=ack)
    return row


class TimelineTest(unittest.TestCase):
    def test_rates_and_backlog_from_counters(self):
        samples = [sample(100, 0, 0), sample(101, 500, 50), sample(103, 1500, 150)]

        rows = summary.timeline(samples)

        self.assertEqual([row["arrival_rate"] for row in rows], [500, 500])
        self.assertEqual([row["processing_rate"] for row in rows], [50, 50])
        self.assertEqual([row["backlog"] for row in rows], [450, 1350])

    def test_broker_counters_used_when_metrics_missing(self):
        samples = [sample(100, publish=10, ack=5), sample(102, publish=30, ack=15)]

        row = summary.timeline(samples)[0]

        self.assertEqual(row["arrival_rate"], 10)
        self.assertEqual(row["processing_rate"], 5)
        self.assertIsNone(row["backlog"])

    def test_rate_spans_failed_sample(self):
        samples = [sample(100, 0, 0, publish=0), sample(101, None, 50, publish=0), sample(102, 1000, 100, publish=0)]

        rows = summary.timeline(samples)

        self.assertIsNone(rows[0]["arrival_rate"])
        self.assertEqual(rows[1]["arrival_rate"], 500)
        self.assertEqual(rows[1]["processing_rate"], 50)

    def test_repeated_timestamp_skipped(self):
        self.assertEqual(summary.timeline([sample(100, 1, 1), sample(100, 2, 2)]), [])


class RateArithmeticTest(unittest.TestCase):
    def setUp(self):
        self.samples = [sample(100, 0), sample(110, 1000), sample(120, 6000)]

    def test_counter_interpolated_between_samples(self):
        self.assertEqual(summary.counter_at(self.samples, "accepted_total", 105), 500)
        self.assertEqual(summary.counter_at(self.samples, "accepted_total", 130), 6000)
        self.assertIsNone(summary.counter_at(self.samples, "accepted_total", 99))

    def test_mean_rate_over_window(self):
        self.assertEqual(summary.mean_rate(self.samples, "accepted_total", 110, 120), 500)
        self.assertEqual(summary.mean_rate(self.samples, "accepted_total", 105, 115), 300)
        self.assertIsNone(summary.mean_rate(self.samples, "processed_total", 100, 120))

    def test_peak_moving_average(self):
        rows = [{"rate": value} for value in (0, 10, 600, 580, 620, 10)]

        self.assertEqual(summary.peak_moving_average(rows, "rate", 3), 600)
        self.assertIsNone(summary.peak_moving_average(rows, "rate", 7))


class PercentileTest(unittest.TestCase):
    def test_nearest_rank(self):
        values = list(range(1, 101))

        self.assertEqual(summary.percentile(values, 0.5), 50)
        self.assertEqual(summary.percentile(values, 0.95), 95)
        self.assertEqual(summary.percentile(values, 0.99), 99)
        self.assertEqual(summary.percentile(values, 1.0), 100)
        self.assertEqual(summary.percentile(values, 0.0), 1)

    def test_unsorted_with_missing_values(self):
        self.assertEqual(summary.percentile([None, 30, 10, 20], 0.5), 20)
        self.assertIsNone(summary.percentile([None], 0.5))


class DrainTest(unittest.TestCase):
    def test_drain_end_after_spike(self):
        rows = [{"time": time, "backlog": backlog} for time, backlog in
                [(10, 0), (20, 900), (30, 400), (40, 3), (50, 0)]]

        self.assertEqual(summary.drain_end(rows, spike_end=15, threshold=5), 40)
        self.assertIsNone(summary.drain_end(rows, spike_end=15, threshold=-1))

    def test_backlog_before_spike_end_ignored(self):
        rows = [{"time": 10, "backlog": 0}, {"time": 20, "backlog": None}]

        self.assertIsNone(summary.drain_end(rows, spike_end=15, threshold=5))

    def test_threshold_scales_with_capacity(self):
        self.assertEqual(summary.drain_threshold(50), 5)
        self.assertEqual(summary.drain_threshold(5), 2)


class LocustCsvTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def write(self, name, header, rows):
        path = os.path.join(self.folder.name, name)
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def test_latency_from_aggregated_row(self):
        header = ["Type", "Name", "Request Count", "Failure Count", "Max Response Time", "50%", "95%", "99%"]
        path = self.write("stats.csv", header, [
            ["POST", "/api/v1/requests [order]", "10", "0", "90", "5", "9", "9"],
            ["", "Aggregated", "5394", "3", "1566", "160", "970", "1500"],
        ])

        latency = summary.latency_percentiles(path)

        self.assertEqual(latency["requests"], 5394)
        self.assertEqual(latency["failures"], 3)
        self.assertEqual((latency["p50_ms"], latency["p95_ms"], latency["p99_ms"]), (160, 970, 1500))
        self.assertEqual(latency["max_ms"], 1566)

    def test_missing_aggregated_row_rejected(self):
        path = self.write("stats.csv", ["Type", "Name"], [["POST", "/x"]])

        with self.assertRaisesRegex(ValueError, "no Aggregated row"):
            summary.latency_percentiles(path)

    def test_sent_rates_from_history(self):
        header = ["Timestamp", "Name", "Total Request Count"]
        path = self.write("history.csv", header, [
            ["100", "Aggregated", "0"], ["100", "/x", "0"], ["101", "Aggregated", "25"], ["103", "Aggregated", "1225"],
        ])

        self.assertEqual(summary.sent_rates(path), [(101, 25), (103, 600)])


class AuditTest(unittest.TestCase):
    def test_all_completed(self):
        result = summary.audit(["a", "b"], {"a": "COMPLETED", "b": "COMPLETED"})

        self.assertEqual(result["completed"], 2)
        self.assertEqual(result["lost"], 0)

    def test_not_completed_and_missing_count_as_lost(self):
        statuses = {"a": "COMPLETED", "b": "PROCESSING", "c": "DEAD_LETTERED", "d": None}

        result = summary.audit(["a", "b", "c", "d", "e"], statuses)

        self.assertEqual(result["accepted"], 5)
        self.assertEqual(result["completed"], 1)
        self.assertEqual(result["not_completed"], {"DEAD_LETTERED": 1, "PROCESSING": 1})
        self.assertEqual(result["missing"], 2)
        self.assertEqual(result["lost"], 4)

    def test_duplicate_ids_counted_once(self):
        result = summary.audit(["a", "a", "b"], {"a": "COMPLETED", "b": "COMPLETED"})

        self.assertEqual(result["accepted"], 2)
        self.assertEqual(result["duplicate_ids"], 1)
        self.assertEqual(result["lost"], 0)

    def test_status_counts_merged_across_processes(self):
        total = summary.merge_status_counts([{"202": 10, "503": 2}, {"202": 5, "0": 1}])

        self.assertEqual(total, {202: 15, 503: 2, 0: 1})


if __name__ == "__main__":
    unittest.main()
