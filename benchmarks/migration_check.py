"""Migration check for the array engine: per-run summaries before and after.

Issue 11 rebuilds the economy as arrays and must not change its economics.
Before the rebuild, ``save`` ran the first engine on the shipped scenarios and
on a set of generated lever settings and wrote every per-run summary output
(``summary`` and ``lab_summary``) to ``benchmarks/migration_reference.json``
with the commit that produced them. ``check`` runs the engine of the current
tree on the same cases and lists every value that differs by more than 1e-6
relative, or 1e-12 absolute for values that are zero up to rounding (NaN equals NaN)::

    python benchmarks/migration_check.py save     # once, on the old engine
    python benchmarks/migration_check.py check    # after each step of the rebuild

This is a migration aid, not a golden-number test: it goes when the next issue
changes the economics on purpose.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.config.scenario import Scenario, load_scenario  # noqa: E402
from sim.experiments.runs import run_scenario  # noqa: E402

REFERENCE = ROOT / "benchmarks" / "migration_reference.json"
RTOL = 1e-6
ATOL = 1e-12
"""Absolute slack for values that are zero up to rounding (a realized gamma of 0 read as -2e-32)."""
SHIPPED = ("baseline.yaml", "baseline_export_controls.yaml", "table2_onelab.yaml")
GENERATED_CASES = 24


def _scenario_data(name: str) -> dict[str, Any]:
    """The shipped scenario as validated data (``extends`` resolved)."""
    return load_scenario(ROOT / "experiments" / name).model_dump()


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node = data
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


def _generated(rng: np.random.Generator) -> dict[str, Any]:
    """One baseline variant with several levers and parameters drawn at random."""
    changes = {
        "policy.carbon_tax": float(rng.uniform(0, 200)),
        "policy.power_caps": {"us": float(rng.uniform(3000, 30000))},
        "policy.rd_subsidy_rate": float(rng.uniform(0, 1)),
        "policy.spillover_strength": float(rng.uniform(0, 0.5)),
        "policy.capital_availability": float(rng.uniform(0.5, 2)),
        "policy.grid_buildout_multiplier": float(rng.uniform(0.5, 3)),
        "policy.tariffs": {"cn": float(rng.uniform(0, 0.5))},
        "market.temperature": float(rng.uniform(0.02, 0.2)),
        "hardware.mfu": float(rng.uniform(0.3, 0.5)),
        "steps_per_year": int(rng.choice([4, 12, 52])),
    }
    if rng.random() < 0.5:
        changes["policy.export_controls"] = {
            "restricted_regions": ["cn"],
            "max_tpp": float(rng.choice([0, 4800, 16000])),
        }
    if rng.random() < 0.5:
        changes["policy.supply_shock"] = {
            "supplier": "us_gpu_vendor",
            "start_year": 2027.0,
            "duration_years": float(rng.uniform(0.5, 2)),
            "fraction_lost": float(rng.uniform(0.2, 0.9)),
        }
    if rng.random() < 0.5:
        changes["policy.compute_threshold"] = {
            "flop": float(10 ** rng.uniform(26, 28)),
            "compliance_cost": 1e8,
            "cap": bool(rng.random() < 0.5),
        }
    data = _scenario_data("baseline.yaml")
    for path, value in changes.items():
        _set(data, path, value)
    return data


def cases() -> dict[str, tuple[dict[str, Any], int]]:
    """Every case: name -> (scenario data, seed)."""
    result = {}
    for file in SHIPPED:
        for seed in (0, 1, 2):
            result[f"{Path(file).stem}_seed{seed}"] = (_scenario_data(file), seed)
    rng = np.random.default_rng(20261201)
    for index in range(GENERATED_CASES):
        result[f"generated_{index:02d}"] = (_generated(rng), int(rng.integers(0, 2**31)))
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def summaries(data: dict[str, Any], seed: int) -> dict[str, Any]:
    """The per-run summary outputs of one case as plain JSON values."""
    result = run_scenario(Scenario.model_validate(copy.deepcopy(data)), seed)
    labs = result.lab_summary.to_dict(orient="records")
    return {
        "summary": {key: _plain(value) for key, value in result.summary.items()},
        "lab_summary": [{key: _plain(value) for key, value in row.items()} for row in labs],
    }


def _commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def save() -> None:
    """Write the reference file from the engine of the current tree."""
    reference = {"commit": _commit(), "rtol": RTOL, "cases": {}}
    for name, (data, seed) in cases().items():
        reference["cases"][name] = summaries(data, seed)
        print(f"saved {name}")
    REFERENCE.write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")


def _number(value: Any) -> float | None:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _differs(expected: Any, actual: Any) -> bool:
    left, right = _number(expected), _number(actual)
    if left is None or right is None:
        return expected != actual
    if math.isnan(left) or math.isnan(right):
        return math.isnan(left) != math.isnan(right)
    return not math.isclose(left, right, rel_tol=RTOL, abs_tol=ATOL)


def _compare(where: str, expected: dict, actual: dict) -> list[str]:
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual or key not in expected:
            problems.append(f"{where}.{key}: only in {'reference' if key in expected else 'new'}")
        elif _differs(expected[key], actual[key]):
            problems.append(f"{where}.{key}: {expected[key]!r} -> {actual[key]!r}")
    return problems


def check() -> int:
    """Compare the current engine with the reference; return the number of differences."""
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    problems = []
    for name, (data, seed) in cases().items():
        expected = reference["cases"][name]
        actual = json.loads(json.dumps(summaries(data, seed)))
        problems += _compare(f"{name}.summary", expected["summary"], actual["summary"])
        for index, (old, new) in enumerate(
            zip(expected["lab_summary"], actual["lab_summary"], strict=True)
        ):
            problems += _compare(f"{name}.lab_summary[{index}]", old, new)
    for line in problems:
        print(line)
    total = len(reference["cases"])
    print(f"{len(problems)} differences over {total} cases (rtol {RTOL}), "
          f"reference from {reference['commit'][:10]}")
    return len(problems)


def main() -> None:
    """Parse the command line and save or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "check"))
    args = parser.parse_args()
    if args.action == "save":
        save()
    else:
        sys.exit(1 if check() else 0)


if __name__ == "__main__":
    main()
