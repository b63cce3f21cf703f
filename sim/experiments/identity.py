"""What makes two stored runs the same run: a scenario hash and an engine version.

A sweep reuses a stored run only if it is the run it would execute now. Two
things decide that:

- :func:`scenario_hash`: SHA-256 of the fully resolved scenario of the run
  (the base with the run's levers and seed applied, validated, so every
  default is filled in), independent of key order. The scenario's ``name``
  and ``description`` are left out: they label a run, they do not change it.
- :data:`ENGINE_VERSION`: the version of the simulation engine. **Bump it in
  the same commit as any change that changes results for an unchanged
  scenario** (a mechanism, a functional form, the order random numbers are
  drawn in, a default that is not in the schema, a fix that moves numbers).
  Refactors and speed-ups that keep every table bit-identical (the suite's
  pinned outputs pass unchanged) do not bump it. :func:`engine_version` adds
  the package version, so a release also separates results.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sim import __version__

ENGINE_VERSION = 3
"""Bump when a change makes an unchanged scenario give different results (see the module).

2: the array engine (sim.economy), equal to the first engine to 1e-6 but not bit for bit.
3: the chip market's backlog, packaging and server cost (docs/model.md 3.13) and the
   labs' finance (cash buffer, payouts, funding by standing; 3.23).
"""

LABEL_FIELDS = ("name", "description")
"""Scenario fields that name a run but do not change it."""


def engine_version() -> str:
    """The engine identity stored with every run: ``<package version>+engine.<ENGINE_VERSION>``."""
    return f"{__version__}+engine.{ENGINE_VERSION}"


def scenario_hash(scenario: Any) -> str:
    """SHA-256 (hex) of a validated scenario, labels left out, independent of key order.

    Args:
        scenario: a :class:`sim.config.scenario.Scenario` (or any pydantic model of one).
    """
    data = scenario.model_dump(mode="json", exclude=set(LABEL_FIELDS))
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def run_hash(base: dict[str, Any], run: Any, name: str) -> str:
    """The :func:`scenario_hash` of one run of a sweep (its levers and seed applied to ``base``).

    Args:
        base: the experiment's base scenario mapping.
        run: the :class:`sim.experiments.design.RunSpec`.
        name: the experiment's name (the scenario's name; not part of the hash).

    Raises:
        ConfigError: if the run's scenario does not validate.
    """
    from sim.config.scenario import parse_scenario
    from sim.experiments.design import run_scenario_data

    return scenario_hash(parse_scenario(run_scenario_data(base, run, name), run.run_id))
