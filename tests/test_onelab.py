"""The exact one-lab model reproduces the closed form at every step (permanent test)."""

import pytest

from sim import law
from sim.onelab import OneLabModel, fleet_efficiency, fleet_power_mw

STEP_LENGTHS = [1.0, 1 / 4, 1 / 12, 1 / 52]
GAMMAS = [0.0, 0.5, 1.0, 2.0, 3.0]
HORIZON_YEARS = 20


@pytest.mark.parametrize("dt", STEP_LENGTHS)
@pytest.mark.parametrize("gamma", GAMMAS)
def test_one_lab_matches_closed_form_every_step(gamma, dt):
    model = OneLabModel(gamma=gamma, dt=dt, kappa=0.05)
    for _ in range(round(HORIZON_YEARS / dt)):
        model.step()
        t = model.steps * dt
        expected_compute = model.initial_compute * law.compute_growth(t, gamma)
        expected_r = law.relative_loss(t, gamma, 0.05)
        assert model.lab.compute == pytest.approx(expected_compute, rel=1e-9)
        assert model.relative_loss() == pytest.approx(expected_r, rel=1e-9)


@pytest.mark.parametrize("params", ["hoffmann2022", "besiroglu2024"])
def test_floor_form_matches_excess_loss(params):
    model = OneLabModel(gamma=1.0, dt=1 / 12, params=params, efficiency0=1e24)
    kappa = model.law.kappa
    for _ in range(60):
        model.step()
    assert model.relative_loss() == pytest.approx(
        law.relative_excess_loss(5.0, 1.0, kappa), rel=1e-9
    )
    assert model.current_loss() > model.law.E


@pytest.mark.parametrize(("gamma", "dt"), [(0.5, 1 / 12), (2.0, 1 / 4), (3.0, 1.0)])
def test_run_to_target_finds_the_crossing(gamma, dt):
    model = OneLabModel(gamma=gamma, dt=dt, kappa=0.05)
    expected = law.time_to_target(0.7, gamma, 0.05)
    assert model.run_to_target(0.7) == pytest.approx(expected, rel=1e-9)


def test_run_to_target_gives_up_at_max_years():
    model = OneLabModel(gamma=0.0, dt=1.0, kappa=0.05)
    assert model.run_to_target(0.5, max_years=10) == float("inf")


def test_fleet_helpers_give_h100_cluster_figures():
    power = fleet_power_mw(16_384, 700.0, 1.2)
    assert power == pytest.approx(13.76, rel=1e-3)
    efficiency = fleet_efficiency(989e12, 0.4, 700.0, 1.2)
    assert efficiency * power == pytest.approx(16_384 * 989e12 * 0.4 * law.SECONDS_PER_YEAR)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"gamma": -1.0}, "gamma"),
        ({"gamma": 1.0, "dt": 0.0}, "dt"),
        ({"gamma": 1.0, "power_mw": -5}, "power_mw"),
    ],
)
def test_bad_parameters_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        OneLabModel(**kwargs)
