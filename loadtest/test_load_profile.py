import unittest

from load_profile import SpikeProfile, users_for_rate


class SpikeProfileTest(unittest.TestCase):
    def setUp(self):
        self.profile = SpikeProfile(baseline_rate=25, spike_rate=600, baseline_seconds=20, spike_seconds=25,
                                    recovery_seconds=20)

    def test_rate_at_each_phase(self):
        cases = [(0, 25), (19.99, 25), (20, 600), (44.99, 600), (45, 25), (64.99, 25)]
        for elapsed, rate in cases:
            with self.subTest(elapsed=elapsed):
                self.assertEqual(self.profile.rate_at(elapsed), rate)

    def test_rate_outside_profile_is_none(self):
        self.assertIsNone(self.profile.rate_at(-0.1))
        self.assertIsNone(self.profile.rate_at(65))

    def test_spike_window_and_total(self):
        self.assertEqual(self.profile.spike_window, (20, 45))
        self.assertEqual(self.profile.total_seconds, 65)

    def test_for_capacity_defaults(self):
        profile = SpikeProfile.for_capacity(50)

        self.assertEqual(profile.baseline_rate, 25)
        self.assertEqual(profile.spike_rate, 600)
        self.assertEqual((profile.baseline_seconds, profile.spike_seconds, profile.recovery_seconds), (20, 25, 20))

    def test_for_capacity_short_and_scaled(self):
        profile = SpikeProfile.for_capacity(50, spike_rate=550, scale=2, short=True)

        self.assertEqual(profile.spike_rate, 550)
        self.assertEqual(profile.total_seconds, 60)

    def test_invalid_profiles_rejected(self):
        with self.assertRaisesRegex(ValueError, "spike_seconds must be > 0, but was 0"):
            SpikeProfile(25, 600, 20, 0, 20)
        with self.assertRaisesRegex(ValueError, "spike_rate must be > baseline_rate"):
            SpikeProfile(25, 25, 20, 25, 20)
        with self.assertRaisesRegex(ValueError, "capacity must be > 0"):
            SpikeProfile.for_capacity(0)


class UsersForRateTest(unittest.TestCase):
    def test_users_cover_rate(self):
        cases = [(25, 2.5, 10), (600, 2.5, 240), (26, 2.5, 11), (0, 2.5, 1), (0.1, 2.5, 1)]
        for rate, throughput, users in cases:
            with self.subTest(rate=rate):
                self.assertEqual(users_for_rate(rate, throughput), users)

    def test_zero_throughput_rejected(self):
        with self.assertRaises(ValueError):
            users_for_rate(10, 0)


if __name__ == "__main__":
    unittest.main()
