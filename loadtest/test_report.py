import unittest

import report
import summary
from load_profile import SpikeProfile
from sampling import sum_metric

METRICS = """# HELP loadlevel_processing_processed_total
# TYPE loadlevel_processing_processed_total counter
loadlevel_processing_processed_total{application="consumer-service",outcome="completed",type="order"} 30.0
loadlevel_processing_processed_total{application="consumer-service",outcome="completed",type="payment"} 10.0
loadlevel_processing_processed_total{application="consumer-service",outcome="failed",type="order"} 2.0
loadlevel_processing_duration_seconds_count{application="consumer-service",type="order"} 32.0
"""


def sample(time, accepted, processed, messages):
    row = dict.fromkeys(summary.SAMPLE_COLUMNS)
    row.update(time=time, accepted_total=accepted, processed_total=processed, messages=messages)
    return row


class SumMetricTest(unittest.TestCase):
    def test_sums_all_series(self):
        self.assertEqual(sum_metric(METRICS, "loadlevel_processing_processed_total"), 42)

    def test_filters_by_label(self):
        self.assertEqual(sum_metric(METRICS, "loadlevel_processing_processed_total", outcome="completed"), 40)

    def test_missing_metric_is_none(self):
        self.assertIsNone(sum_metric(METRICS, "loadlevel_ingress_accepted_total"))


class ReportTest(unittest.TestCase):
    def setUp(self):
        # The shape starts at 1000 with 2 s at 5/s, 2 s at 100/s and 2 s at 5/s. The capacity is 10 msg/s.
        self.profile = SpikeProfile(5, 100, 2, 2, 2)
        accepted = [0, 5, 10, 110, 210, 215, 220, 220, 220, 220]
        processed = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80]
        self.samples = [sample(1000 + second, accepted[second], processed[second], None) for second in range(10)]
        self.samples += [sample(1010 + second, 220, min(220, 80 + 10 * (second + 1)), None) for second in range(16)]
        self.latency = {"requests": 220, "failures": 0, "p50_ms": 10, "p95_ms": 40, "p99_ms": 80, "max_ms": 99}
        self.audit = summary.audit(["a", "b"], {"a": "COMPLETED", "b": "COMPLETED"})

    def build(self, audit=None):
        return report.build(self.samples, 1000, self.profile, 10, {202: 220, 503: 3}, self.latency,
                            [(1003, 100.0)], audit or self.audit, None)

    def test_spike_rate_and_drain(self):
        result = self.build()

        self.assertEqual(result["arrival"]["spike_mean_req_per_s"], 100)
        self.assertTrue(result["arrival"]["spike_reached_10x"])
        self.assertEqual(result["queue"]["peak_backlog"], 180)
        # The spike ends at 1004, and its backlog of 180 falls by 10 per second until it reaches 0 at 1023.
        self.assertEqual(result["queue"]["drain_seconds"], 1023 - 1004)
        self.assertEqual(result["processing"]["spike_and_drain_mean_msg_per_s"], 10)

    def test_requests_split_by_status(self):
        result = self.build()

        self.assertEqual(result["requests"]["sent"], 223)
        self.assertEqual(result["requests"]["accepted"], 220)
        self.assertEqual(result["requests"]["rejected_by_status"], {"503": 3})

    def test_exit_code_reflects_loss_then_spike(self):
        lost = summary.audit(["a", "b"], {"a": "COMPLETED", "b": None})

        self.assertEqual(report.exit_code(self.build()), 0)
        self.assertEqual(report.exit_code(self.build(audit=lost)), 1)

    def test_exit_code_when_spike_too_low(self):
        result = report.build(self.samples, 1000, self.profile, 20, {202: 220}, self.latency, [], self.audit, None)

        self.assertFalse(result["arrival"]["spike_reached_10x"])
        self.assertEqual(report.exit_code(result), 3)

    def test_text_names_the_key_figures(self):
        text = report.format_text(self.build())

        self.assertIn("rejected by status 503: 3", text)
        self.assertIn("p50 10 ms, p95 40 ms, p99 80 ms", text)
        self.assertIn("LOST 0", text)
        self.assertIn("producer accepted 220, consumer processed 220, Locust recorded 220", text)
        self.assertNotIn("note", text)

    def test_text_flags_counter_mismatch(self):
        self.samples[-1]["accepted_total"] = 221

        text = report.format_text(self.build())

        self.assertIn("the producer accepted a different number of requests than Locust recorded", text)


if __name__ == "__main__":
    unittest.main()
