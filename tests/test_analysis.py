"""Derived outputs: realized gamma (whole run and trailing), time to target, summaries."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.trajectories import realized_gamma, time_to_target
from sim.economy.outputs import rolling_slopes


def _reference_rolling(t, efficiency, window):
    return np.array(
        [
            realized_gamma(
                t[max(0, i - window + 1) : i + 1], efficiency[max(0, i - window + 1) : i + 1]
            )
            for i in range(len(t))
        ]
    )


@settings(max_examples=60, deadline=None)
@given(
    gamma=st.floats(0.0, 4.0),
    noise=st.lists(st.floats(-0.3, 0.3), min_size=30, max_size=30),
    window=st.integers(2, 15),
    holes=st.lists(st.integers(0, 29), max_size=5),
)
def test_rolling_slopes_equal_the_windowed_ols(gamma, noise, window, holes):
    t = np.arange(30) / 12.0
    efficiency = 2.0 ** (gamma * t + np.array(noise))
    efficiency[holes] = np.nan
    np.testing.assert_allclose(
        rolling_slopes(t, efficiency, window), _reference_rolling(t, efficiency, window),
        rtol=1e-7, atol=1e-9,
    )  # fmt: skip


def test_realized_gamma_of_an_exact_exponential():
    t = np.linspace(0, 5, 61)
    assert realized_gamma(t, 3e20 * 2 ** (1.7 * t)) == pytest.approx(1.7, abs=1e-12)
    assert math.isnan(realized_gamma(t[:1], np.ones(1)))


def test_time_to_target_interpolates_in_log_relative_loss():
    t = np.array([0.0, 1.0, 2.0])
    relative = np.array([1.0, 0.9, 0.81])
    assert time_to_target(t, relative, 0.9) == pytest.approx(1.0)
    assert time_to_target(t, relative, 0.9**1.5) == pytest.approx(1.5)
    assert math.isnan(time_to_target(t, relative, 0.5))
