"""Tests of the benchmark's CPU accounting and of the table cells it prints."""

import importlib.util
import os
import shutil
import sys
import unittest

BENCH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench")


def load(name):
    """Import a module of loadtest/bench under a name that does not clash with loadtest's own modules."""
    if BENCH_DIR not in sys.path:
        sys.path.append(BENCH_DIR)
    spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(BENCH_DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


processes = load("processes")
bench_report = load("report")
phases = load("phases")


class SharedCpuTest(unittest.TestCase):

    def test_busy_loop_cpu_and_share(self):
        shared = processes.SharedCpu()
        shared.pids = {"broker": os.getpid(), "redis": None}
        before = shared.snapshot()
        total = 0
        for value in range(3_000_000):
            total += value
        usage = shared.since(before)

        self.assertGreater(usage["broker_cpu_seconds"], 0)
        self.assertIsNone(usage["redis_cpu_seconds"])
        self.assertGreater(usage["machine_busy"], 0)
        self.assertLessEqual(usage["machine_busy"], 1)


class ReadStatTest(unittest.TestCase):

    def test_own_process_name_and_cpu(self):
        name, seconds = processes.read_stat(f"/proc/{os.getpid()}/stat")

        with open(f"/proc/{os.getpid()}/comm") as comm:
            self.assertEqual(name, comm.read().strip())
        self.assertGreater(seconds, 0)


class SharedCellTest(unittest.TestCase):

    def test_per_thousand_messages_and_busy_share(self):
        usage = {"broker_cpu_seconds": 3.0, "redis_cpu_seconds": 0.5, "machine_busy": 0.973}

        self.assertEqual(bench_report.shared_cell(usage, 10_000), "0.30 s / 0.05 s; 97 %")

    def test_missing_process_or_window_is_not_available(self):
        self.assertEqual(bench_report.shared_cell(
            {"broker_cpu_seconds": None, "redis_cpu_seconds": 0.5, "machine_busy": 0.5}, 1000),
            "n/a / 0.50 s; 50 %")
        self.assertEqual(bench_report.shared_cell(None, 1000), "n/a")
        self.assertEqual(bench_report.shared_cell({"machine_busy": 0.5}, 0), "n/a")


class PerSecondRatesTest(unittest.TestCase):

    SAMPLES = [(0.0, 0), (1.0, 0), (2.0, 30), (3.0, 80), (4.0, 130), (5.0, 181), (6.0, 231)]

    def test_window_opens_at_its_start(self):
        self.assertEqual(phases.per_second_rates(self.SAMPLES, 2.5, 6.0), [50.0, 51.0, 50.0])

    def test_window_waits_for_processing(self):
        self.assertEqual(phases.per_second_rates(self.SAMPLES, 0.0, 4.0), [50.0, 50.0])

    def test_rates_use_the_real_interval(self):
        samples = [(0.0, 0), (1.0, 10), (2.2, 70)]

        rates = phases.per_second_rates(samples, 0.0, 3.0)

        self.assertEqual(len(rates), 1)
        self.assertAlmostEqual(rates[0], 50.0)

    def test_no_processing_gives_no_rates(self):
        self.assertEqual(phases.per_second_rates([(0.0, 5), (1.0, 5)], 0.0, 1.0), [])


class WarmUpTest(unittest.TestCase):

    class FakeService:
        def __init__(self, compile_seconds_per_chunk):
            self.chunks = list(compile_seconds_per_chunk)
            self.compiled = 0.0

        def compiler_cpu_seconds(self):
            return self.compiled

        def run_chunk(self, seconds):
            self.compiled += self.chunks.pop(0)

    def test_stops_once_the_jit_settles(self):
        service = self.FakeService([4.0, 2.0, 0.3, 0.1])

        warmup = phases.warm_up(service, service.run_chunk, chunk_seconds=10, max_seconds=80)

        self.assertEqual(warmup["seconds"], 30)
        self.assertAlmostEqual(warmup["last_jit_share"], 0.03)

    def test_stops_at_the_limit(self):
        service = self.FakeService([4.0, 4.0, 4.0])

        warmup = phases.warm_up(service, service.run_chunk, chunk_seconds=5, max_seconds=15)

        self.assertEqual(warmup["seconds"], 15)
        self.assertAlmostEqual(warmup["last_jit_share"], 0.8)

    def test_stops_when_told_to(self):
        service = self.FakeService([4.0, 4.0, 4.0])

        warmup = phases.warm_up(service, service.run_chunk, chunk_seconds=5, max_seconds=15, may_continue=lambda: False)

        self.assertEqual(warmup["seconds"], 5)

    def test_cell_formats_seconds_and_share(self):
        self.assertEqual(bench_report.warmup_cell({"seconds": 30, "last_jit_share": 0.031}), "30 s, 3 %")
        self.assertEqual(bench_report.warmup_cell(None), "n/a")


class FatJarCellTest(unittest.TestCase):

    def test_both_services(self):
        self.assertEqual(bench_report.fat_jar_cell({"producer-service": 6.04, "consumer-service": 7.0}),
                         "6.0 / 7.0 s")

    def test_not_measured(self):
        self.assertEqual(bench_report.fat_jar_cell(None), "n/a")


if __name__ == "__main__":
    unittest.main()


class FixedRateLeadInTest(unittest.TestCase):
    """Runs the compiled load generator against a local HTTP server that responds 202 to every POST."""

    @classmethod
    def setUpClass(cls):
        import http.server
        import tempfile
        import threading

        class Accepting(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Accepting)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.out_dir = tempfile.mkdtemp(prefix="fixed-rate-test-")
        cls.java = shutil.which("java")
        phases.compile_load_generator(cls.java, cls.out_dir)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def run_load(self, lead_in_seconds):
        url = f"http://127.0.0.1:{self.server.server_port}/api/v1/requests"
        return phases.fixed_rate(self.java, url, 100, 1, 2, '{"n":{n}}', os.path.join(self.out_dir, "load.log"),
                                 lead_in_seconds=lead_in_seconds)

    def test_lead_in_requests_are_not_counted(self):
        summary = self.run_load(lead_in_seconds=1)
        self.assertEqual(summary["planned"], 100)
        self.assertEqual(summary["completed"], 100)
        self.assertEqual(summary["statuses"], {"202": 100})

    def test_measured_window_starts_after_the_lead_in(self):
        import time
        started_ms = time.time() * 1000
        summary = self.run_load(lead_in_seconds=1)
        self.assertGreaterEqual(summary["start_epoch_ms"], started_ms + 1000)

    def test_no_lead_in_counts_everything(self):
        summary = self.run_load(lead_in_seconds=0)
        self.assertEqual(summary["planned"], 100)
        self.assertEqual(summary["completed"], 100)
