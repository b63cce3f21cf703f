"""Experiments as data: a base scenario, levers, a design, replications, seeds.

An experiment YAML names a base scenario (a path relative to the experiment
file, or inline), the levers to vary (dotted paths into the scenario, e.g.
``policy.carbon_tax``, ``labs.0.spend_rate``, ``labs.*.funding_per_year``,
``policy.power_caps.us``), a design (``grid``, ``points``, ``lhs``, ``sobol``,
``morris``; the sampled designs come from SALib), replications and a master
seed. :func:`plan_runs` expands it into runs, each with its own seed from
``SeedSequence(master_seed).spawn(replications)``: replicate r has the same
seed at every design point (common random numbers).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.config.overrides import apply_overrides, parse_overrides, set_path
from sim.config.scenario import (
    EXPERIMENT_KEYS,
    NAME_PATTERN,
    SCENARIO_KEYS,
    ConfigError,
    Scenario,
    Strict,
    WrongKindOfFile,
    describe_errors,
    param,
    parse_scenario,
    read_scenario_file,
    read_yaml,
    resolve_extends,
)
from sim.economy.outputs import RUN_OUTPUTS, check_experiment_outputs

LEVER_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_-]+|\*))+$|^[A-Za-z_][A-Za-z0-9_]*$"
SCHEDULER_PATTERN = r"^tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}$"
MAX_RUNS = 1_000_000
EXPERIMENT = "experiment"  # the kind of file in ConfigError headings
SAMPLED_DESIGNS = ("lhs", "sobol", "morris")  # designs that sample levers between bounds
SUMMARY_OUTPUTS = tuple(output.name for output in RUN_OUTPUTS)
MAX_OUTPUTS = 200


LeverValue = float | bool | str
"""A lever value: a number, or a category (a name such as ``hoffmann2022``, or a switch)."""

SCALES = ("linear", "log", "categorical")


class Lever(Strict):
    """One scenario parameter varied by the design.

    A lever takes explicit ``values`` (numbers or categories) or ``low`` and
    ``high`` bounds (``levels`` grid points, or sampled). ``scale: log`` spaces
    grid levels evenly in log10 and samples uniformly in log10 (``low`` > 0);
    ``scale: categorical`` treats numeric values as categories in figures.
    Values that are not numbers (``kaplan``, ``true``) make a categorical lever.
    """

    path: str = Field(pattern=LEVER_PATH, max_length=200, description="dotted scenario path")
    values: list[LeverValue] | None = Field(
        None, min_length=1, max_length=10_000,
        description="explicit values (numbers or categories) for grid and LHS designs",
    )  # fmt: skip
    low: float | None = param(None, "(lever)", "lower bound for sampled designs")
    high: float | None = param(None, "(lever)", "upper bound for sampled designs")
    levels: int | None = param(None, "1", "grid points between low and high", ge=2, le=10_000)
    scale: Literal["linear", "log", "categorical"] | None = Field(
        None,
        description="linear; log (levels and samples even in log10, low > 0); categorical "
        "(values shown as categories); default: categorical for non-numeric values, else linear",
    )

    @model_validator(mode="after")
    def _values_or_bounds(self) -> Lever:
        has_bounds = self.low is not None and self.high is not None
        if self.values is None and not has_bounds:
            raise ValueError("give either values or both low and high")
        if (self.low is None) != (self.high is None):
            raise ValueError("give both low and high")
        if has_bounds and not self.low < self.high:
            raise ValueError(f"low must be < high, got low {self.low} and high {self.high}")
        if self.values is not None:
            self.values = typed_values(self.path, self.values)
        _check_scale(self)
        return self

    @property
    def categorical(self) -> bool:
        """Whether the lever's values are categories (declared, or not all numbers)."""
        return self.scale == "categorical" or not all(map(is_number, self.values or []))

    @property
    def sampled_by_values(self) -> bool:
        """Whether a sampled design (LHS) draws from ``values`` (no bounds given)."""
        return self.low is None

    def grid_values(self) -> list[LeverValue]:
        """The values this lever takes on a grid (evenly spaced in log10 with scale log)."""
        if self.values is not None:
            return list(self.values)
        levels = self.levels or 3
        if self.scale == "log":
            return np.logspace(math.log10(self.low), math.log10(self.high), levels).tolist()
        return np.linspace(self.low, self.high, levels).tolist()

    def sample_bounds(self) -> list[float]:
        """Bounds of the lever in the space a sampled design draws uniformly from.

        log10 of the bounds with scale log; ``[0, k)`` (an index into the ``k``
        values) for a lever given by values.
        """
        if self.sampled_by_values:
            return [0.0, float(len(self.values or []))]
        if self.scale == "log":
            return [math.log10(self.low), math.log10(self.high)]
        return [self.low, self.high]

    def from_sample(self, x: float) -> LeverValue:
        """The lever value of a sample drawn uniformly within :meth:`sample_bounds`."""
        if self.sampled_by_values:
            values = self.values or []
            return values[min(max(int(x), 0), len(values) - 1)]
        if self.scale == "log":
            return float(np.clip(10.0**x, self.low, self.high))
        return float(x)


def is_number(value: Any) -> bool:
    """Whether a lever value is a number (``True`` and ``False`` are switches, not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def typed_values(path: str, values: list[LeverValue]) -> list[LeverValue]:
    """Lever values as the scenario field at ``path`` takes them.

    A numeric field takes numbers: a number written as text (YAML reads
    ``1e7`` as text) becomes a float; anything else is refused. Other fields
    (names, switches) keep the values as given, for the scenario to check.

    Raises:
        ValueError: naming the path and the values that are not numbers.
    """
    if lever_field_type(path) not in (int, float):
        return values
    typed, bad = [], []
    for value in values:
        number = _as_number(value)
        (bad if number is None else typed).append(value if number is None else number)
    if bad:
        shown = ", ".join(repr(v) for v in bad[:5])
        raise ValueError(f"{path} takes numbers, got {shown}")
    return typed


def _as_number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _check_scale(lever: Lever) -> None:
    """Refuse a scale the lever's values or bounds cannot have.

    Raises:
        ValueError: log with a bound or value <= 0, linear or log with categories,
            categorical without values.
    """
    numbers = all(map(is_number, lever.values or []))
    if lever.scale in ("linear", "log") and not numbers:
        raise ValueError(
            f"scale {lever.scale} needs numbers, but values {lever.values} are categories; "
            "leave scale out or set scale: categorical"
        )
    if lever.scale == "categorical" and lever.values is None:
        raise ValueError("scale categorical needs a values list")
    if lever.scale != "log":
        return
    if lever.low is not None and lever.low <= 0:
        raise ValueError(
            f"scale log needs low > 0 (log10 of {lever.low:g} is undefined), got low "
            f"{lever.low:g}; use scale linear, or a positive low"
        )
    if any(v <= 0 for v in lever.values or []):
        raise ValueError(
            f"scale log needs values > 0, got {lever.values}; values spanning orders of "
            "magnitude with a 0 can be scale: categorical"
        )


class Experiment(Strict):
    """A sweep of one scenario over levers, with replications and a master seed."""

    name: str = Field(pattern=NAME_PATTERN, description="experiment name (its results folder)")
    description: str = Field("", max_length=4000, description="what the experiment asks")
    base: str | dict[str, Any] = Field(
        description="base scenario: a YAML path relative to this file, or the scenario inline"
    )
    levers: list[Lever] = Field(default_factory=list, max_length=50)
    design: Literal["grid", "points", "lhs", "sobol", "morris"] = Field(
        "grid", description="how design points are chosen"
    )
    points: list[dict[str, LeverValue]] | None = Field(
        None, max_length=100_000, description="explicit design points (design: points)"
    )
    point_names: list[str] | None = Field(
        None, max_length=100_000, description="a name per design point (design: points), "
        "the point_name column of points.csv",
    )  # fmt: skip
    samples: int = param(
        8, "1", "LHS points, Sobol base N, or Morris trajectories", ge=1, le=100_000
    )
    second_order: bool = Field(False, description="Sobol: also sample second-order indices")
    morris_levels: int = param(4, "1", "Morris grid levels", ge=2, le=100)
    replications: int = param(
        1, "1", "runs per design point (seeds shared across points)", ge=1, le=10_000
    )
    master_seed: int = param(0, "1", "root of every run's seed", ge=0, le=2**63 - 1)
    outputs: list[str] = Field(
        default_factory=lambda: ["mean_final_loss", "hhi_compute", "total_emissions_t"],
        min_length=1,
        max_length=MAX_OUTPUTS,
        description="run outputs analysed by compare, sensitivity and figures: a run output, "
        "QUANTITY[lab=LAB] or AGG_QUANTITY[region=REGION] (sim.economy.outputs)",
    )
    record_steps: bool = Field(False, description="also store the step-level tables of every run")
    backend: Literal["serial", "processes", "dask"] = Field(
        "processes", description="where runs execute"
    )
    workers: int | None = param(None, "1", "worker processes (null: all cores)", ge=1, le=1024)
    scheduler: str | None = Field(
        None, pattern=SCHEDULER_PATTERN, description="existing Dask scheduler"
    )

    @field_validator("outputs")
    @classmethod
    def _known_outputs(cls, outputs: list[str], info: ValidationInfo) -> list[str]:
        return check_experiment_outputs(outputs, info.data.get("base"))

    @field_validator("point_names")
    @classmethod
    def _one_name_per_point(cls, names: list[str] | None, info: ValidationInfo) -> list[str] | None:
        points = info.data.get("points") or []
        if names is not None and (info.data.get("design") != "points" or len(names) != len(points)):
            raise ValueError(f"give one name per entry of points (design points), got {len(names)}")
        return names

    @model_validator(mode="after")
    def _design_needs(self) -> Experiment:
        sampled = self.design in SAMPLED_DESIGNS
        if sampled and not self.levers:
            raise ValueError(f"design {self.design} needs at least one lever")
        for i, lever in enumerate(self.levers):
            if sampled:
                _check_sampled(i, lever, self.design)
        _unique_paths([lever.path for lever in self.levers])
        if self.design == "points":
            if not self.points:
                raise ValueError("design points needs a non-empty points list")
            paths = {lever.path for lever in self.levers} or set(self.points[0])
            for j, point in enumerate(self.points):
                if set(point) != paths:
                    raise ValueError(f"points.{j}: must set exactly {sorted(paths)}")
            self.points = [_typed_point(j, point) for j, point in enumerate(self.points)]
        total = design_size(self) * self.replications
        if total > MAX_RUNS:
            raise ValueError(f"the design asks for {total} runs; at most {MAX_RUNS} are allowed")
        return self


def _check_sampled(i: int, lever: Lever, design: str) -> None:
    """Refuse a lever a sampled design cannot draw: LHS takes bounds or values, Sobol
    and Morris numeric bounds only (their indices need a continuous range).

    Raises:
        ValueError: naming the lever and what the design needs.
    """
    where = f"levers.{i} ({lever.path})"
    if lever.low is not None or (design == "lhs" and lever.values is not None):
        return
    if design == "lhs":
        raise ValueError(f"{where}: design lhs needs low and high, or values")
    kind = "categories" if lever.categorical else "a values list"
    raise ValueError(
        f"{where}: design {design} samples each lever between low and high and cannot "
        f"take {kind} ({lever.values}); give low and high (scale: log for ranges over "
        "orders of magnitude), or vary it with design grid, points or lhs"
    )


def _typed_point(j: int, point: dict[str, LeverValue]) -> dict[str, LeverValue]:
    """A design point with each value as its scenario field takes it (see :func:`typed_values`)."""
    try:
        return {path: typed_values(path, [value])[0] for path, value in point.items()}
    except ValueError as error:
        raise ValueError(f"points.{j}: {error}") from None


def _unique_paths(paths: list[str]) -> None:
    if len(set(paths)) != len(paths):
        raise ValueError(f"levers: each path may appear once, got {paths}")


def design_size(experiment: Experiment) -> int:
    """Number of design points (before replication) without generating them."""
    levers, n = experiment.levers, experiment.samples
    if experiment.design == "grid":
        return math.prod(len(lever.grid_values()) for lever in levers) if levers else 1
    if experiment.design == "points":
        return len(experiment.points or [])
    if experiment.design == "lhs":
        return n
    if experiment.design == "sobol":
        k = len(levers)
        return n * (2 * k + 2 if experiment.second_order else k + 2)
    return n * (len(levers) + 1)


# ---------------------------------------------------------------- design


def design_points(experiment: Experiment) -> list[dict[str, float]]:
    """The design's points: one mapping of lever path to value per point."""
    levers = experiment.levers
    paths = [lever.path for lever in levers]
    if experiment.design == "grid":
        grids = [lever.grid_values() for lever in levers]
        return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*grids)]
    if experiment.design == "points":
        return [dict(point) for point in experiment.points or []]
    matrix = sample_matrix(experiment)
    return [dict(zip(paths, map(_plain, row), strict=True)) for row in matrix]


def _plain(value: Any) -> LeverValue:
    """A sampled value as a Python float, or the category it is."""
    return float(value) if is_number(value) or isinstance(value, np.floating) else value


def salib_problem(experiment: Experiment) -> dict[str, Any]:
    """The SALib problem of a sampled design: lever names and the bounds it samples within.

    A log-scale lever is sampled uniformly in log10 (its bounds are log10 of
    low and high); an LHS lever given by values, as an index into them.
    """
    return {
        "num_vars": len(experiment.levers),
        "names": [lever.path for lever in experiment.levers],
        "bounds": [lever.sample_bounds() for lever in experiment.levers],
    }


def sample_matrix(experiment: Experiment) -> np.ndarray:
    """LHS, Sobol (Saltelli) or Morris samples in lever values, seeded by the master seed.

    SALib samples within :func:`salib_problem`'s bounds; each column is then
    mapped to the lever's values (10**x for a log-scale lever, the chosen
    category for an LHS lever given by values), so the matrix is of dtype
    object when a lever is categorical.
    """
    samples = _salib_samples(experiment)
    columns = [
        [lever.from_sample(x) for x in samples[:, i]] for i, lever in enumerate(experiment.levers)
    ]
    numeric = not any(lever.categorical for lever in experiment.levers)
    return np.array(columns, dtype=float if numeric else object).T


def _salib_samples(experiment: Experiment) -> np.ndarray:
    """LHS, Sobol (Saltelli) or Morris samples from SALib within the problem's bounds."""
    from SALib.sample import latin, morris
    from SALib.sample import sobol as saltelli

    problem, n = salib_problem(experiment), experiment.samples
    seed = int(experiment.master_seed % (2**32))
    if experiment.design == "lhs":
        return latin.sample(problem, n, seed=seed)
    if experiment.design == "sobol":
        return saltelli.sample(problem, n, calc_second_order=experiment.second_order, seed=seed)
    return morris.sample(problem, n, num_levels=experiment.morris_levels, seed=seed)


def replicate_seeds(master_seed: int, replications: int) -> list[int]:
    """One seed per replicate from ``SeedSequence(master_seed).spawn``, each below 2**63."""
    children = np.random.SeedSequence(master_seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: which design point, which replicate, which seed."""

    run_id: str
    point: int
    replicate: int
    seed: int
    levers: tuple[tuple[str, LeverValue], ...]


def plan_runs(experiment: Experiment) -> list[RunSpec]:
    """Every run of the experiment, in run-id order."""
    seeds = replicate_seeds(experiment.master_seed, experiment.replications)
    runs = []
    for i, point in enumerate(design_points(experiment)):
        for r, seed in enumerate(seeds):
            runs.append(RunSpec(f"p{i:06d}-r{r:04d}", i, r, seed, tuple(point.items())))
    return runs


def run_scenario_data(base: dict[str, Any], run: RunSpec, name: str) -> dict[str, Any]:
    """The scenario mapping of one run: the base with the run's levers and seed applied."""
    data = copy.deepcopy(base)
    for path, value in run.levers:
        set_path(data, path, value)
    data["seed"] = run.seed
    data["name"] = name
    return data


# ---------------------------------------------------------------- loading


def load_experiment(
    path: str | Path, overrides: list[str] | None = None
) -> tuple[Experiment, dict]:
    """Load an experiment and resolve its base scenario to a mapping.

    ``--set`` overrides are routed by :func:`route_overrides`: experiment fields
    (``replications=5``) to the experiment, any other path
    (``policy.carbon_tax=50``, or ``base.policy.carbon_tax=50``) to the base
    scenario, whether the base is a path or inline; a base path that a lever
    varies is refused. Every design point's scenario is validated before
    anything runs.

    Returns:
        The validated experiment and its base scenario mapping.

    Raises:
        ConfigError: listing every problem with its field path.
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ConfigError as error:
        raise ConfigError(str(path), error.problems, EXPERIMENT) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), ["(top level): expected a mapping"], EXPERIMENT)
    if "base" not in data and SCENARIO_KEYS & data.keys():
        raise WrongKindOfFile(str(path), "scenario", EXPERIMENT, "race run")
    _inline_base(data, path)
    own, to_base = route_overrides(overrides or [])
    apply_overrides(data, own, str(path), EXPERIMENT)
    if isinstance(data.get("base"), dict):
        apply_overrides(data["base"], [f"{p}={v}" for p, v in to_base], str(path), EXPERIMENT)
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as error:
        raise ConfigError(str(path), describe_errors(error), EXPERIMENT) from None
    _refuse_overridden_levers(experiment, [p for p, _ in to_base], str(path))
    base = experiment.base if isinstance(experiment.base, dict) else {}
    check_design(experiment, base, str(path))
    return experiment, base


def _inline_base(data: dict[str, Any], path: Path) -> None:
    """Replace the experiment's ``base`` by its scenario mapping, ``extends`` resolved.

    A path is relative to the experiment file, as is an inline base's ``extends``.

    Raises:
        ConfigError: unreadable base, an experiment as the base, a bad ``extends``.
    """
    base = data.get("base")
    if isinstance(base, str):
        base_path = (path.parent / base).resolve()
        if EXPERIMENT_KEYS & _mapping_keys(read_yaml(base_path)):
            raise WrongKindOfFile(str(base_path), EXPERIMENT, "scenario",
                                  f"a scenario as the base of {path}")  # fmt: skip
        data["base"] = read_scenario_file(base_path)
    elif isinstance(base, dict):
        data["base"] = resolve_extends(base, path)


def _mapping_keys(data: Any) -> set[str]:
    return set(data) if isinstance(data, dict) else set()


BASE_PREFIX = "base."
"""``--set base.policy.carbon_tax=50`` names a field of the base scenario explicitly."""

SET_PER_RUN = {
    "seed": "every run's seed comes from the experiment's master_seed: use --set master_seed=N",
    "name": "every run is named after the experiment: use --set name=NAME",
}
"""Base fields each run overwrites, so a --set of them would have no effect."""


def route_overrides(assignments: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Split an experiment's ``--set`` assignments into its own and its base scenario's.

    A path whose first part is an experiment field (``levers.0.values``,
    ``replications``, ``name``) sets the experiment; any other path
    (``policy.carbon_tax``) sets the base scenario, as does an explicit
    ``base.`` prefix (``base.description``, for a field both have).

    Returns:
        The experiment's assignments as given, and the base's as (path, raw value).

    Raises:
        ConfigError: for a malformed assignment or a base field every run overwrites.
    """
    parse_overrides(assignments)  # malformed assignments are reported first, all at once
    own, to_base, problems = [], [], []
    for text in assignments:
        field_path, _, raw = text.partition("=")
        field_path = field_path.strip()
        if field_path.startswith(BASE_PREFIX):
            base_path = field_path.removeprefix(BASE_PREFIX)
        elif field_path.split(".")[0] in Experiment.model_fields:
            own.append(text)
            continue
        else:
            base_path = field_path
        if base_path in SET_PER_RUN:
            problems.append(f"--set {text!r}: {SET_PER_RUN[base_path]}")
        to_base.append((base_path, raw))
    if problems:
        raise ConfigError("--set", problems, "override")
    return own, to_base


def _refuse_overridden_levers(experiment: Experiment, paths: list[str], source: str) -> None:
    """Refuse a --set on the base that a lever (or design point) would overwrite in every run.

    Raises:
        ConfigError: naming the --set path and the lever.
    """
    varied = [(f"levers.{i}", lever.path) for i, lever in enumerate(experiment.levers)]
    if not varied:
        keys = sorted({key for point in experiment.points or [] for key in point})
        varied = [("a key of the design's points", key) for key in keys]
    problems = [
        f"--set {path}: {lever} ({where}) is varied by the design, so every run would "
        f"overwrite it; change the design instead"
        + (f" (e.g. --set {where}.values=[...])" if where.startswith("levers.") else "")
        for path in paths
        for where, lever in varied
        if paths_overlap(path, lever)
    ]
    if problems:
        raise ConfigError(source, problems, EXPERIMENT)


def paths_overlap(first: str, second: str) -> bool:
    """Whether two dotted paths set a common field: one leads into the other.

    ``*`` matches any list index: ``labs.*.cash`` overlaps ``labs.0`` and
    ``labs.0.cash`` but not ``labs.0.spend_rate``.
    """
    return all(
        a == b or "*" in (a, b) for a, b in zip(first.split("."), second.split("."), strict=False)
    )


def check_design(experiment: Experiment, base: dict[str, Any], source: str) -> None:
    """Validate the base scenario, each lever's extremes and every explicit design point.

    Raises:
        ConfigError: naming the lever or point and the scenario field that rejects it.
    """
    parse_scenario(base, f"{source}: base")
    problems = _point_problems(experiment, base) + _integer_lever_problems(experiment)
    if problems:
        raise ConfigError(source, problems, EXPERIMENT)
    for i, lever in enumerate(experiment.levers):
        problems += _lever_problems(i, lever, base)
    if problems:
        raise ConfigError(source, problems, EXPERIMENT)


def _lever_problems(i: int, lever: Lever, base: dict[str, Any]) -> list[str]:
    """Problems of the base with lever ``i`` at its lowest and at its highest value.

    A problem both extremes share (an unknown region in the path) is listed once.
    """
    problems: list[str] = []
    seen: set[str] = set()
    for value in checked_values(lever):
        data = copy.deepcopy(base)
        try:
            set_path(data, lever.path, value)
            parse_scenario(data)
        except ConfigError as error:
            fresh = [p for p in error.problems if p not in seen]
            seen.update(fresh)
            shown = value_text(value)
            problems.extend(f"levers.{i} ({lever.path}={shown}): {p}" for p in fresh)
        except ValueError as error:
            return [f"levers.{i}: {error}"]
    return problems


def checked_values(lever: Lever) -> list[LeverValue]:
    """The values a scenario check must try: every distinct category, else the extremes."""
    if lever.values is None:
        return [lever.low, lever.high]
    if not all(map(is_number, lever.values)):
        return list(dict.fromkeys(lever.values))
    return sorted({min(lever.values), max(lever.values)})


def value_text(value: Any) -> str:
    """A lever value as text: ``4800``, ``1e+07``, ``0.25``, ``hoffmann2022``, ``True``."""
    return f"{value:g}" if is_number(value) else str(value)


def _integer_lever_problems(experiment: Experiment) -> list[str]:
    """Levers on integer fields that the design would give fractional values."""
    problems = []
    for i, lever in enumerate(experiment.levers):
        if lever_field_type(lever.path) is not int:
            continue
        where = f"levers.{i} ({lever.path})"
        if experiment.design in SAMPLED_DESIGNS and not lever.sampled_by_values:
            problems.append(
                f"{where}: takes whole numbers, but design {experiment.design} samples "
                "fractional values; vary it with design grid (values, or low/high/levels "
                "giving whole numbers) or points"
            )
            continue
        fractional = [v for v in lever.grid_values() if not float(v).is_integer()]
        if experiment.design in ("grid", "lhs") and fractional:
            shown = ", ".join(f"{v:g}" for v in fractional[:5])
            problems.append(
                f"{where}: takes whole numbers, but the grid has {shown}; "
                "list whole values or choose levels that give them"
            )
    return problems


def lever_field_type(path: str) -> Any:
    """The type of the scenario field a dotted lever path sets (None if not found).

    ``labs.*.fleet.0.units`` is ``float``, ``steps_per_year`` is ``int``; list
    indices, ``*`` and mapping keys step into the item type.
    """
    node: Any = Scenario
    for part in path.split("."):
        node = _without_none(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part)
            if field is None:
                return None
            node = field.annotation
        elif get_origin(node) in (list, dict):
            node = get_args(node)[-1]
        else:
            return None
    return _without_none(node)


def _without_none(annotation: Any) -> Any:
    """``X`` for ``X | None``; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


EXECUTION_FIELDS = {"backend", "workers", "scheduler", "description", "outputs"}
"""Fields that do not change what runs produce: every run stores every summary
output, so ``outputs`` only picks what compare, sensitivity and figures analyse."""


def _point_problems(experiment: Experiment, base: dict[str, Any]) -> list[str]:
    """Problems of the explicit points of a ``points`` design (other designs: none)."""
    problems = []
    for j, point in enumerate(experiment.points or [] if experiment.design == "points" else []):
        data = copy.deepcopy(base)
        try:
            for path, value in point.items():
                set_path(data, path, value)
            parse_scenario(data)
        except ConfigError as error:
            problems.extend(f"points.{j}: {p}" for p in error.problems)
        except ValueError as error:
            problems.append(f"points.{j}: {error}")
    return problems


def config_hash(experiment: Experiment) -> str:
    """SHA-256 of what determines results (base inlined), independent of key order.

    Where runs execute (backend, workers, scheduler), the description and the
    outputs chosen for analysis do not change results, so they are left out: a
    sweep may resume on another backend or with other outputs analysed.
    """
    payload = json.dumps(
        experiment.model_dump(mode="json", exclude=EXECUTION_FIELDS), sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def experiment_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Experiment`."""
    return Experiment.model_json_schema()
