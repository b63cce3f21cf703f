"""The closed form survives the economy: the degenerate scenario matches R(t) to 1e-9."""

import pytest

from sim import law
from sim.analysis.trajectories import realized_gamma
from sim.economy.model import RaceModel
from tests.builders import build, closed_form_dict


@pytest.mark.parametrize("steps_per_year", [1, 4, 12, 52])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_full_economy_matches_relative_loss_every_step(gamma, steps_per_year):
    model = RaceModel(build(closed_form_dict(gamma, steps_per_year)))
    lab = model.labs[0]
    initial_compute = lab.compute
    initial_loss = model.initial_loss["solo"]
    for _ in range(model.scenario.n_steps):
        model.step()
        t = model.t
        assert lab.compute == pytest.approx(
            initial_compute * law.compute_growth(t, gamma), rel=1e-9
        )
        assert model.loss_of(lab.compute) / initial_loss == pytest.approx(
            law.relative_loss(t, gamma, 0.05), rel=1e-9
        )


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_realized_gamma_recovers_the_exogenous_rate(gamma):
    model = RaceModel(build(closed_form_dict(gamma, years=5))).run()
    labs = model.tables()["labs"].iloc[1:]
    assert realized_gamma(labs["t"], labs["efficiency"]) == pytest.approx(gamma, abs=1e-9)


def test_closed_form_lab_spends_only_on_power():
    model = RaceModel(build(closed_form_dict(1.0, years=2))).run()
    labs = model.tables()["labs"]
    for column in ("spend_capex", "spend_rnd", "spend_projects", "spend_carbon_tax"):
        assert labs[column].sum() == 0.0
    assert (labs["running_units"].iloc[1:] == 100_000).all()
