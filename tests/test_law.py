"""Property and reference tests of the scaling law and the relative-loss equation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import law

gammas = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)
kappas = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
years = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
computes = st.floats(min_value=1e10, max_value=1e30, allow_nan=False)


@given(c1=computes, c2=computes, kappa=kappas, E=st.floats(0.0, 3.0))
def test_loss_decreases_in_compute_and_stays_above_floor(c1, c2, kappa, E):
    low, high = sorted((c1, c2))
    assert law.loss(high, E, 10.0, kappa) <= law.loss(low, E, 10.0, kappa)
    assert law.loss(high, E, 10.0, kappa) >= E


@given(gamma=gammas, kappa=kappas)
def test_relative_loss_is_one_at_start(gamma, kappa):
    assert law.relative_loss(0.0, gamma, kappa) == 1.0


@given(t1=years, t2=years, gamma=gammas, kappa=kappas)
def test_relative_loss_decreases_in_time(t1, t2, gamma, kappa):
    early, late = sorted((t1, t2))
    assert law.relative_loss(late, gamma, kappa) <= law.relative_loss(early, gamma, kappa)


@given(t=years, g1=gammas, g2=gammas, kappa=kappas)
def test_relative_loss_decreases_in_gamma(t, g1, g2, kappa):
    slow, fast = sorted((g1, g2))
    assert law.relative_loss(t, fast, kappa) <= law.relative_loss(t, slow, kappa) * (1 + 1e-12)


@settings(max_examples=300)
@given(t=st.floats(0.01, 40.0), gamma=gammas, kappa=kappas)
def test_time_to_target_inverts_relative_loss(t, gamma, kappa):
    r = law.relative_loss(t, gamma, kappa)
    if r < 1.0:
        assert law.time_to_target(r, gamma, kappa) == pytest.approx(t, rel=1e-7, abs=1e-9)


@given(r=st.floats(0.05, 1.0), kappa=kappas)
def test_fleet_factor_reaches_target_in_one_year(r, kappa):
    factor = law.fleet_factor(r, kappa)
    assert factor ** (-kappa) == pytest.approx(r, rel=1e-9)


def test_closed_form_reference_values():
    bracket = 1 + (2 ** (0.5 * 20) - 1) / (0.5 * math.log(2))
    assert law.relative_loss(20.0, 0.5, 0.05) == pytest.approx(bracket**-0.05, rel=1e-14)
    assert law.relative_loss(10.0, 0.0, 0.05) == pytest.approx(11.0**-0.05, rel=1e-14)
    assert law.time_to_target(0.68, 0.0, 0.05) == pytest.approx(0.68**-20 - 1, rel=1e-12)
    assert law.time_to_target(0.68 / 0.95, 2.0, 0.05) == pytest.approx(5.0593, abs=1e-4)


@pytest.mark.parametrize("t", [0.5, 5.0, 50.0])
def test_no_cancellation_as_gamma_vanishes(t):
    gamma = 1e-12
    series = 1.0 + t + gamma * math.log(2) * t**2 / 2  # next term is O(gamma^2)
    assert law.compute_growth(t, gamma) == pytest.approx(series, rel=1e-14)
    assert law.relative_loss(t, gamma, 0.05) == pytest.approx(series**-0.05, rel=1e-14)
    target = 0.9
    assert law.time_to_target(target, gamma, 0.05) == pytest.approx(target**-20 - 1, rel=1e-9)


def test_efficiency_integral_matches_quadrature():
    t, dt, gamma = 3.0, 0.25, 1.7
    grid = np.linspace(t, t + dt, 20001)
    numeric = np.trapezoid(2.0 ** (gamma * grid), grid)
    assert law.efficiency_integral(t, dt, gamma) == pytest.approx(numeric, rel=1e-8)
    assert law.efficiency_integral(t, dt, 0.0) == dt


def test_vectorized_broadcasting():
    out = law.relative_loss(np.array([[1.0], [2.0]]), np.array([0.0, 1.0, 2.0]), 0.05)
    assert out.shape == (2, 3)
    assert np.isscalar(law.relative_loss(1.0, 1.0, 0.05))


def test_time_to_target_stays_finite_for_tiny_kappa():
    years_needed = law.time_to_target(0.1, 1.0, 1e-4)
    assert math.isfinite(years_needed)
    assert years_needed == pytest.approx(-math.log2(0.1) / 1e-4, rel=1e-3)


def test_time_to_target_overflows_honestly_at_gamma_zero():
    assert law.time_to_target(0.1, 0.0, 1e-4) == math.inf
    assert law.time_to_target(1.0, 0.0, 1e-4) == 0.0


@given(gamma=st.floats(0.0, 1e-300), kappa=kappas, t=st.floats(0.1, 10.0))
def test_subnormal_gamma_behaves_like_zero(gamma, kappa, t):
    assert law.relative_loss(t, gamma, kappa) == pytest.approx((1 + t) ** -kappa, rel=1e-14)


def test_floor_form():
    x = law.relative_excess_loss(4.0, 1.0, 0.2)
    assert law.loss_at_time(4.0, 1.0, 0.2, L0=3.0, E=1.7) == pytest.approx(1.7 + 1.3 * x)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: law.loss(-1.0, 0.0, 1.0, 0.05), "compute"),
        (lambda: law.loss(1e20, 0.0, 1.0, 0.0), "kappa"),
        (lambda: law.relative_loss(1.0, 1.0, -0.1), "kappa"),
        (lambda: law.relative_loss(float("nan"), 1.0, 0.05), "t"),
        (lambda: law.relative_loss(1.0, -1.0, 0.05), "gamma"),
        (lambda: law.time_to_target(1.2, 1.0, 0.05), "r_target"),
        (lambda: law.time_to_target(0.0, 1.0, 0.05), "r_target"),
        (lambda: law.fleet_factor(0.5, float("nan")), "kappa"),
        (lambda: law.logical_compute(-5, 10), "n_params"),
        (lambda: law.parameter_set("nope"), "params"),
    ],
)
def test_out_of_domain_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_logical_compute_of_llama_405b():
    assert law.logical_compute(405e9, 15.6e12) == pytest.approx(3.79e25, rel=1e-3)


@pytest.mark.parametrize(
    ("name", "tokens_per_param"),
    [("hoffmann2022", 98.0), ("besiroglu2024", 18.0), ("tokens20", 20.0)],
)
def test_compute_optimal_tokens_per_parameter_at_1e24(name, tokens_per_param):
    n, d = law.parameter_set(name).compute_optimal(1e24)
    assert 6 * n * d == pytest.approx(1e24, rel=1e-12)
    assert d / n == pytest.approx(tokens_per_param, rel=0.05)


def test_chinchilla_derivation_matches_the_parametric_fit():
    params = law.parameter_set("besiroglu2024")
    assert params.kappa == pytest.approx(0.178, abs=1e-3)
    for compute in (1e21, 1e24, 1e27):
        assert params.optimal_loss(compute) == pytest.approx(params.loss(compute), rel=1e-12)
    assert law.parameter_set("hoffmann2022").kappa == pytest.approx(0.154, abs=1e-3)


def test_kaplan_set():
    kaplan = law.parameter_set("kaplan")
    assert kaplan.E == 0.0
    assert kaplan.loss(law.KAPLAN_CC_FLOP) == pytest.approx(1.0)
