"""A run's results do not depend on the batch it is stepped in (issue 11, randomness per run).

The engine steps many runs at once; each run has its own generator from its
own seed and its own parameters, so a scenario run alone and the same
scenario inside a batch of 257 mixed runs (other levers, other seeds, R&D
noise on) must agree on every recorded series and every output.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.economy.engine import run_batch
from sim.economy.outputs import lab_outputs, run_outputs
from tests.builders import build, small_economy_dict

RTOL = 1e-12


def _variant(rng: np.random.Generator) -> dict:
    """The small economy with noise on and several levers and parameters drawn at random."""
    data = small_economy_dict()
    data["rnd"]["noise"] = float(rng.uniform(0.0, 0.4))
    data["policy"] = dict(
        carbon_tax=float(rng.uniform(0, 200)),
        rd_subsidy_rate=float(rng.uniform(0, 1)),
        spillover_strength=float(rng.uniform(0, 0.5)),
        capital_availability=float(rng.uniform(0.2, 3)),
        power_caps={"us": float(rng.uniform(100, 2000))},
        tariffs={"cn": float(rng.uniform(0, 0.5))},
    )
    data["chip_suppliers"][0]["allocation"] = str(rng.choice(["pro_rata", "by_bid"]))
    data["market"] = {"temperature": float(rng.uniform(0.02, 0.5))}
    return data


def _close(alone: np.ndarray, together: np.ndarray) -> bool:
    return bool(np.allclose(alone, together, rtol=RTOL, atol=0.0, equal_nan=True))


@pytest.fixture(scope="module")
def runs():
    """The subject run alone, and the batch of 257 with the subject at position 100."""
    rng = np.random.default_rng(2026)
    others = [build(_variant(rng)) for _ in range(256)]
    seeds = [int(seed) for seed in rng.integers(0, 2**31, size=256)]
    subject, seed = build(_variant(rng)), 12345
    alone = run_batch([subject], [seed])
    scenarios = [*others[:100], subject, *others[100:]]
    together = run_batch(scenarios, [*seeds[:100], seed, *seeds[100:]])
    return alone, together, 100


def test_every_series_is_the_same_alone_and_in_a_batch(runs):
    alone, together, index = runs
    for table, series in alone.trace.series.items():
        for name, values in series.items():
            batched = together.trace.series[table][name][index]
            assert _close(values[0], batched), (table, name)
    for name, values in alone.trace.payments.items():
        assert _close(values[0], together.trace.payments[name][index]), name


def test_every_output_is_the_same_alone_and_in_a_batch(runs):
    alone, together, index = runs
    for compute in (lab_outputs, run_outputs):
        single, batched = compute(alone), compute(together)
        for name, values in single.items():
            assert _close(values[0], batched[name][index]), name


def test_the_batch_is_not_trivially_uniform(runs):
    """The other runs really differ from the subject (else the test would prove nothing)."""
    alone, together, index = runs
    losses = together.trace.series["labs"]["loss"][:, -1]
    assert not np.allclose(losses, losses[index])
    assert alone.trace.series["labs"]["loss"].shape[0] == 1
