"""Small scenario builders shared by the economy tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.config.scenario import Scenario, parse_scenario

H100 = {"name": "H100", "year": 2022, "flops": 989e12, "watts": 700, "price": 27500}


def closed_form_dict(gamma: float, steps_per_year: int = 12, years: float = 20) -> dict[str, Any]:
    """One lab, fixed fleet and power, no market friction, exogenous gamma (a fresh copy).

    Its one training run spans the horizon, continues the starting model, uses
    every gain made while in progress and is deployed every step: the paper's
    continuous case.
    """
    return copy.deepcopy(
        {
            "name": "closed-form",
            "years": years,
            "steps_per_year": steps_per_year,
            "law": {"params": "kaplan"},
            "hardware": {"lifetime_years": 30, "chips": [H100], "server_overhead": 1.0},
            "chip_suppliers": [{"name": "vendor", "region": "us", "chips": ["H100"]}],
            "energy_suppliers": [
                {
                    "name": "grid",
                    "region": "us",
                    "capacity_mw": 1e6,
                    "build_rate_mw_per_year": 0,
                    "scarcity_slope": 0,
                    "carbon_intensity": 0,
                }
            ],
            "labs": [
                {
                    "name": "solo",
                    "region": "us",
                    "strategy": "static",
                    "cash": 1e12,
                    "funding_per_year": 1e12,
                    "software_gamma": gamma,
                    "buys_projects": False,
                    "fleet": [{"chip": "H100", "units": 100_000}],
                    "training": {
                        "usable_share": 1.0, "warm_start": True, "deploy_checkpoints": True,
                    },
                }
            ],
        }
    )


def small_economy_dict() -> dict[str, Any]:
    """Four labs in two regions, two chip and three energy suppliers, 3 years monthly (a copy)."""
    return copy.deepcopy({
        "name": "small",
        "years": 3,
        "steps_per_year": 12,
        "seed": 7,
        "hardware": {"chips": [H100, {**H100, "name": "B200", "year": 2025, "flops": 2250e12,
                                      "watts": 1000, "price": 35000}]},
        "chip_suppliers": [
            {"name": "west", "region": "us", "capacity_per_year": 3e5},
            {"name": "east", "region": "cn", "capacity_per_year": 1e5, "chips": ["H100"],
             "extrapolate": False},
        ],
        "energy_suppliers": [
            {"name": "us_grid", "region": "us", "capacity_mw": 600, "lead_time_years": 1},
            {"name": "us_solar", "region": "us", "capacity_mw": 300, "base_price": 60,
             "carbon_intensity": 0.02, "lead_time_years": 1},
            {"name": "cn_grid", "region": "cn", "capacity_mw": 500, "base_price": 88,
             "carbon_intensity": 0.55},
        ],
        "labs": [
            {"name": "us_hare", "region": "us", "strategy": "hare", "cash": 1e10,
             "funding_per_year": 8e9, "fleet": [{"chip": "H100", "units": 100_000}]},
            {"name": "us_turtle", "region": "us", "strategy": "turtle", "cash": 3e9,
             "funding_per_year": 3e9, "fleet": [{"chip": "H100", "units": 20_000}]},
            {"name": "cn_base", "region": "cn", "strategy": "baseline", "cash": 3e9,
             "funding_per_year": 3e9, "fleet": [{"chip": "H100", "units": 30_000}]},
            {"name": "cn_adapt", "region": "cn", "strategy": "adaptive", "cash": 3e9,
             "funding_per_year": 3e9, "fleet": [{"chip": "H100", "units": 30_000}]},
        ],
        "rnd": {"noise": 0.1},
    })  # fmt: skip


def build(data: dict[str, Any], **changes: Any) -> Scenario:
    """Validate ``data`` after applying dotted-path ``changes`` (``policy__carbon_tax=50``)."""
    data = copy.deepcopy(data)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return parse_scenario(data)


def tiny_experiment(folder: Path, years: float = 0.25, **changes: Any) -> Path:
    """Write a 2 x 2 serial sweep of the small economy into ``folder``; return its path.

    A carbon-tax lever of two values, two replications, master seed 42,
    ``years`` of the small economy; ``changes`` set or override experiment fields.
    """
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": years},
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 100.0]}],
        "replications": 2,
        "master_seed": 42,
        "backend": "serial",
        **changes,
    }
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def sweep_quietly(experiment: str | Path, results: str | Path, *extra: str) -> int:
    """``race sweep`` without progress bar or figures (tests that need only the dataset).

    Returns:
        The command's exit code.
    """
    from sim.cli.main import main

    argv = ["sweep", str(experiment), "--results", str(results), "--quiet", "--no-figures"]
    return main([*argv, *extra])
