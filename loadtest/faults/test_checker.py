"""Unit tests of the fault-run checker's arithmetic, which need no Redis.

Run from the repository root: python3 -m unittest discover -s loadtest -p 'test_*.py'
"""

import contextlib
import io
import json
import os
import tempfile
import unittest

from . import checker


def record(seq, outcome, request_id=None, status=None):
    status = status if status is not None else {"ok": 202, "failed": 503, "indeterminate": None}[outcome]
    return {"seq": seq, "idempotencyKey": f"idem-{seq}", "key": f"key-{seq}", "type": "order", "start": 1.0,
            "end": 2.0, "outcome": outcome, "status": status, "id": request_id, "error": None}


def status_hash(seq, status, attempts=1):
    return {"status": status, "key": f"key-{seq}", "type": "order", "attempts": str(attempts)}


class EvaluateTests(unittest.TestCase):

    def test_all_completed_passes(self):
        history = [record(0, "ok", "a"), record(1, "ok", "b")]
        statuses = {"a": status_hash(0, "COMPLETED"), "b": status_hash(1, "DEAD_LETTERED")}

        result = checker.evaluate(history, statuses, {})

        self.assertEqual(result["lost"], [])
        self.assertEqual(result["unexpected"], [])
        self.assertEqual(result["terminal"], {"COMPLETED": 1, "DEAD_LETTERED": 1})
        self.assertTrue(checker.passed(result))

    def test_ok_without_terminal_status_is_lost(self):
        history = [record(0, "ok", "a"), record(1, "ok", "b"), record(2, "ok", "c"), record(3, "ok", "d")]
        statuses = {"a": status_hash(0, "COMPLETED"), "b": status_hash(1, "PROCESSING"),
                    "c": status_hash(2, "ACCEPTED")}

        result = checker.evaluate(history, statuses, {})

        self.assertEqual(result["lost"], ["b", "c", "d"])
        self.assertEqual(result["statuses_of_ok"], {"ACCEPTED": 1, "COMPLETED": 1, "MISSING": 1, "PROCESSING": 1})
        self.assertFalse(checker.passed(result))

    def test_processed_indeterminate_is_expected(self):
        history = [record(0, "ok", "a"), record(1, "indeterminate")]
        statuses = {"a": status_hash(0, "COMPLETED"), "x": status_hash(1, "COMPLETED")}

        result = checker.evaluate(history, statuses, {})

        self.assertEqual(result["unexpected"], [])
        self.assertEqual(result["indeterminate"], 1)
        self.assertEqual(result["indeterminate_processed"], 1)
        self.assertTrue(checker.passed(result))

    def test_processed_failed_request_is_unexpected(self):
        history = [record(0, "failed"), record(1, "failed", status=400)]
        statuses = {"x": status_hash(0, "COMPLETED")}

        result = checker.evaluate(history, statuses, {})

        self.assertEqual(result["unexpected"], ["x"])
        self.assertEqual(result["unexpected_outcomes"], {"failed": 1})
        self.assertEqual(result["failed_by_status"], {"400": 1, "503": 1})
        self.assertFalse(checker.passed(result))

    def test_terminal_status_of_unknown_key_is_unexpected(self):
        statuses = {"y": {"status": "DEAD_LETTERED", "key": "someone-else"}}

        result = checker.evaluate([record(0, "ok", "a")], dict(statuses, a=status_hash(0, "COMPLETED")), {})

        self.assertEqual(result["unexpected"], ["y"])
        self.assertEqual(result["unexpected_outcomes"], {"unknown": 1})

    def test_unknown_non_terminal_status_is_ignored(self):
        statuses = {"a": status_hash(0, "COMPLETED"), "z": status_hash(9, "ACCEPTED")}

        result = checker.evaluate([record(0, "ok", "a")], statuses, {})

        self.assertEqual(result["unexpected"], [])

    def test_effect_counter_above_one_is_duplicated(self):
        history = [record(0, "ok", "a"), record(1, "ok", "b")]
        statuses = {"a": status_hash(0, "COMPLETED"), "b": status_hash(1, "COMPLETED")}

        result = checker.evaluate(history, statuses, {"a": 1, "b": 2})

        self.assertEqual(result["duplicated"], ["b"])
        self.assertFalse(checker.passed(result))

    def test_missing_effect_counters_are_not_measurable(self):
        result = checker.evaluate([record(0, "ok", "a")], {"a": status_hash(0, "COMPLETED")}, {})

        self.assertIsNone(result["duplicated"])
        self.assertIn("not measurable (no effect counter)", checker.format_report(result))

    def test_redeliveries_count_repeated_attempts(self):
        history = [record(0, "ok", "a"), record(1, "ok", "b"), record(2, "ok", "c")]
        statuses = {"a": status_hash(0, "COMPLETED", attempts=1), "b": status_hash(1, "COMPLETED", attempts=3),
                    "c": status_hash(2, "COMPLETED", attempts=2)}

        result = checker.evaluate(history, statuses, {})

        self.assertEqual(result["redelivered"], 2)
        self.assertEqual(result["max_attempts"], 3)

    def test_counts_by_outcome(self):
        history = [record(0, "ok", "a"), record(1, "failed"), record(2, "failed"), record(3, "indeterminate")]

        result = checker.evaluate(history, {"a": status_hash(0, "COMPLETED")}, {})

        self.assertEqual(result["sent"], 4)
        self.assertEqual(result["ok"], 1)
        self.assertEqual(result["failed_by_status"], {"503": 2})
        self.assertEqual(result["indeterminate"], 1)

    def test_same_id_returned_twice_is_counted(self):
        history = [record(0, "ok", "a"), record(1, "ok", "a")]

        result = checker.evaluate(history, {"a": status_hash(0, "COMPLETED")}, {})

        self.assertEqual(result["ok_ids_repeated"], 1)
        self.assertIn("ok ids returned twice", checker.format_report(result))

    def test_report_lists_faults_with_offsets(self):
        result = checker.evaluate([record(0, "ok", "a")], {"a": status_hash(0, "COMPLETED")}, {"a": 1})
        faults = [{"fault": "consumer-kill", "at": 1000.25, "t": 5.04, "detail": "SIGKILL pid 42"}]

        report = checker.format_report(result, faults)

        self.assertIn("faults injected         1", report)
        self.assertIn("t=   5.0 s", report)
        self.assertIn("consumer-kill   SIGKILL pid 42", report)
        self.assertIn("duplicated effects      0", report)


class MainTests(unittest.TestCase):

    def test_snapshot_with_lost_request_exits_one(self):
        with tempfile.TemporaryDirectory() as directory:
            history = os.path.join(directory, "history.jsonl")
            snapshot = os.path.join(directory, "redis-snapshot.json")
            with open(history, "w") as history_file:
                history_file.write(json.dumps(record(0, "ok", "a")) + "\n")
            with open(snapshot, "w") as snapshot_file:
                json.dump({"statuses": {"a": status_hash(0, "PROCESSING")}, "effects": {}}, snapshot_file)

            with contextlib.redirect_stdout(io.StringIO()):
                exit_code = checker.main([history, "--snapshot", snapshot, "--json", os.devnull])

        self.assertEqual(exit_code, 1)

    def test_unreadable_history_exits_two(self):
        with contextlib.redirect_stderr(io.StringIO()):
            exit_code = checker.main([os.path.join(tempfile.gettempdir(), "no-such-history.jsonl"),
                                      "--snapshot", os.devnull])

        self.assertEqual(exit_code, 2)


if __name__ == "__main__":
    unittest.main()
