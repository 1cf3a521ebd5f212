import collections
import unittest
from decimal import Decimal

import payloads


class PayloadsTest(unittest.TestCase):
    def setUp(self):
        self.rng = payloads.new_rng(7)

    def test_mix_follows_weights(self):
        counts = collections.Counter(payloads.random_request(self.rng)["type"] for _ in range(10_000))

        self.assertAlmostEqual(counts["notification"] / 10_000, 0.6, delta=0.02)
        self.assertAlmostEqual(counts["order"] / 10_000, 0.3, delta=0.02)
        self.assertAlmostEqual(counts["payment"] / 10_000, 0.1, delta=0.02)

    def test_notification_keyed_by_recipient(self):
        body = payloads.notification(self.rng)

        self.assertEqual(body["key"], body["payload"]["recipient"])
        self.assertIn(body["payload"]["channel"], payloads.CHANNELS)
        self.assertEqual(set(body["payload"]["variables"]), set(payloads.TEMPLATES[body["payload"]["template"]]))

    def test_order_total_matches_lines(self):
        body = payloads.order(self.rng)
        lines = body["payload"]["lines"]
        expected = sum(Decimal(line["unitPrice"]) * line["quantity"] for line in lines)

        self.assertEqual(body["key"], body["payload"]["orderId"])
        self.assertTrue(1 <= len(lines) <= 5)
        self.assertEqual(Decimal(body["payload"]["total"]), expected)

    def test_payment_has_valid_iban(self):
        body = payloads.payment(self.rng)

        self.assertEqual(body["key"], body["payload"]["accountId"])
        self.assertTrue(body["payload"]["creditorIban"].startswith("DE"))
        self.assertEqual(len(body["payload"]["creditorIban"]), 22)
        self.assertTrue(payloads.is_valid_iban(body["payload"]["creditorIban"]))

    def test_iban_check_digits_of_known_iban(self):
        # DE89 3704 0044 0532 0130 00 is the example IBAN of the German banking industry.
        self.assertEqual(payloads.iban_check_digits("DE", "370400440532013000"), "89")
        self.assertFalse(payloads.is_valid_iban("DE88370400440532013000"))

    def test_keys_within_contract_limit(self):
        for _ in range(1_000):
            body = payloads.random_request(self.rng)
            self.assertTrue(0 < len(body["key"]) <= 256)


if __name__ == "__main__":
    unittest.main()
