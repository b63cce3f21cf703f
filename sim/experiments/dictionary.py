"""The registry of every output column: its unit and meaning, declared once.

:data:`OUTPUT_COLUMNS` maps each output table (``labs``, ``markets``, ``edges``,
``economy``, ``ledger``, ``lab_summary``, ``summary`` of ``race run``; ``runs``
of ``race sweep``) to its columns, each with ``(unit, description)``. The
wording follows ``docs/model.md`` section 5 (``tests/test_export.py`` checks the
units agree), so the data dictionary written by ``race export`` cannot drift
from the model documentation. Units follow the parameter reference: ``1`` for
dimensionless numbers and ``-`` for names, labels and switches.

Columns whose names depend on the scenario (``years_to_R<target>``, and the
per-lab and per-region outputs of a sweep's runs such as ``final_loss[lab=cn_hare]``)
are matched by :data:`OUTPUT_PATTERNS` and :func:`describe_output`; the sweep's
bookkeeping columns (``run_id``, ``point``, ...) by :data:`RUN_COLUMNS`; a
sweep's lever columns are described from the scenario parameter they set
(:mod:`sim.analysis.export`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from sim.economy.outputs import LAB_OUTPUTS, RUN_OUTPUTS, TARGET_DESCRIPTION, describe_breakdown
from sim.experiments.design import SUMMARY_OUTPUTS

Entry = tuple[str, str]
"""``(unit, description)`` of one column."""

_STEP: dict[str, Entry] = {
    "step": ("1", "step number (0 = initial state)"),
    "year": ("year", "calendar year at the end of the step, start_year + t"),
    "t": ("yr", "model time at the end of the step"),
}

_LABS: dict[str, Entry] = {
    **_STEP,
    "lab": ("-", "lab name"),
    "region": ("-", "lab region"),
    "strategy": ("-", "strategy name"),
    "loss": ("nats/token", "L(C) of the model the lab serves (its latest finished run)"),
    "relative_excess_loss": (
        "1",
        "(L - E) / (L0 - E): R(t) when E = 0, X(t) otherwise; L0 the initial loss",
    ),
    "compute": ("FLOP", "logical compute of the model the lab serves"),
    "run_compute": ("FLOP", "logical compute of the lab's current (or last) training run"),
    "training_run": ("-", "true while a training run is in progress in the step"),
    "training_compute_added": ("FLOP", "logical compute the step added to the lab's run"),
    "hardware_efficiency": (
        "FLOP per MW-yr",
        "hardware part: running FLOP/s * MFU * s/yr / power_mw (NaN without power)",
    ),
    "software_multiplier": ("1", "software part S at the end of the step"),
    "efficiency": (
        "FLOP per MW-yr",
        "efficiency actually obtained: training_compute_added / (power_mw * dt) "
        "(NaN at step 0 or without power)",
    ),
    "gamma_software": ("doublings/yr", "software gamma in force during the step"),
    "fleet_units": (
        "GPU",
        "GPUs installed at the end of the step (this step's deliveries are installed "
        "at the next step)",
    ),
    "fleet_flops": ("FLOP/s", "peak dense FLOP/s of the installed fleet"),
    "running_units": ("GPU", "GPUs powered in the step"),
    "power_mw": ("MW", "average facility power delivered"),
    "facility_mw": ("MW", "data-centre critical load built by the end of the step"),
    "own_power_mw": ("MW", "part of power_mw from the lab's own generation"),
    "own_generation_mw": ("MW", "the lab's own generation online at the end of the step"),
    "energy_mwh": ("MWh", "energy delivered, power_mw * 8766 * dt"),
    "spend_capex": (
        "USD",
        "paid to chip suppliers for the step's orders, less refunds of cancelled ones (tariffs "
        "excluded)",
    ),
    "spend_tariffs": ("USD", "tariffs paid"),
    "spend_facilities": ("USD", "data-centre facility capex paid for the MW added"),
    "spend_energy": ("USD", "paid to energy suppliers (carbon tax excluded)"),
    "spend_carbon_tax": ("USD", "carbon tax paid (on grid and own generation)"),
    "spend_own_generation": ("USD", "own generation: capex of plants ordered and running cost"),
    "spend_rnd": ("USD", "own R&D spend (subsidy excluded)"),
    "spend_projects": ("USD", "efficiency projects bought"),
    "spend_compliance": ("USD", "compliance cost paid"),
    "funding": ("USD", "outside funding raised (the offer by standing, up to the buffer's need)"),
    "revenue": ("USD", "revenue received (training share of the lab's market share)"),
    "payouts": ("USD", "cash above the lab's buffer returned to investors"),
    "cash": ("USD", "cash at the end of the step"),
    "spending_rate": ("USD/yr", "trailing (about one year) spending rate: the buffer's unit"),
    "market_share": ("1", "logit market share of the step"),
    "chips_ordered": ("GPU", "units ordered"),
    "chips_received": ("GPU", "units delivered"),
    "projects_done": ("1", "number of projects bought so far"),
    "realized_gamma_trailing": (
        "doublings/yr",
        "realized gamma over the trailing year: OLS slope of log2(efficiency) on t over "
        "the last steps_per_year steps (NaN until two usable points)",
    ),
}

_MARKETS: dict[str, Entry] = {
    **_STEP,
    "market": ("-", "supplier name"),
    "kind": ("-", "chips or energy"),
    "region": ("-", "supplier region"),
    "price": (
        "USD/GPU or USD/MWh",
        "chips: list price times the updated price index of the supplier's best FLOP/$ chip "
        "on sale in the step (a reference price, not the price paid); energy: the region's "
        "clearing price of the step, paid per MWh by every buyer of the region (the marginal "
        "supplier's scarcity price plus its carbon tax)",
    ),
    "price_index": (
        "1",
        "chips: price index after this step's update (applies next step); energy: 1",
    ),
    "demand": (
        "GPU or MW",
        "chips: units waiting to start production (the queue with the step's orders); energy: "
        "MW still requested at the supplier's merit-order turn",
    ),
    "supply": (
        "GPU or MW",
        "chips: units the supplier could start (fewer of die and packaging capacity); energy: "
        "MW available (min(capacity, cap))",
    ),
    "sold": ("GPU or MW", "chips: units started in production; energy: MW delivered"),
    "shortage": (
        "GPU or MW",
        "chips: units left queued (demand minus sold); energy: requested minus delivered",
    ),
    "delivered": ("GPU or MW", "chips: units delivered to labs; energy: MW delivered"),
    "backlog": (
        "GPU or MW",
        "chips: units ordered and paid, not yet in production, after the step; energy: MW "
        "ordered and under construction",
    ),
    "lead_time_years": (
        "yr",
        "chips: from an order placed now to its delivery (queue wait + production lead time); "
        "energy: the build lead time",
    ),
    "utilization": (
        "1",
        "chips: sold / capacity; energy: requested over available, capped at 1 (the marginal "
        "supplier's sets the region's price)",
    ),
    "energy_mwh": ("MWh", "chips: 0; energy: energy delivered"),
    "emissions_t": ("tCO2", "chips: 0; energy: energy_mwh * carbon_intensity"),
    "revenue": ("USD", "value sold (tariffs and carbon tax excluded)"),
}

_EDGES: dict[str, Entry] = {
    "step": ("1", "step number"),
    "supplier": ("-", "supplier name"),
    "lab": ("-", "lab name"),
    "kind": ("-", "chips or energy"),
    "tariff": ("1", "ad-valorem tariff on the edge"),
    "max_tpp": ("TPP", "export-control threshold (inf: uncontrolled)"),
    "allowed": ("-", "false when trade is banned"),
    "quantity": ("GPU or MWh", "chips: GPUs ordered in the step; energy: MWh delivered"),
    "value": ("USD", "paid in the step (tariffs and carbon tax excluded)"),
}

_ECONOMY: dict[str, Entry] = {
    **_STEP,
    "leader": ("-", "lab with the lowest loss at the end of the step"),
    "hhi_compute": ("1", "Herfindahl index (0..1 scale) of the served models' compute"),
    "hhi_market_share": ("1", "Herfindahl index of the step's market shares"),
    "total_compute": ("FLOP", "sum of the compute of the models the labs serve"),
    "frontier_model_compute": ("FLOP", "compute of the largest model served"),
    "frontier_run_flop": ("FLOP", "largest training run finished by the end of the step"),
    "energy_mwh": ("MWh", "energy delivered by every energy supplier in the step"),
    "emissions_t": ("tCO2", "emissions of the energy delivered in the step"),
    "market_size": ("USD", "AI-services revenue of the step (0 at step 0)"),
}

_LEDGER: dict[str, Entry] = {
    "step": ("1", "step of the payment (0: opening balances)"),
    "payer": ("-", "account debited"),
    "payee": ("-", "account credited"),
    "category": ("-", "payment category (docs/model.md section 3.19)"),
    "amount": ("USD", "amount, > 0"),
}

_TRAINING_RUNS: dict[str, Entry] = {
    "lab": ("-", "lab name"),
    "region": ("-", "lab region"),
    "start_year": ("year", "calendar year the run started"),
    "end_year": ("year", "calendar year it ended (NaN: still in progress at the end)"),
    "years": ("yr", "its length, end_year - start_year"),
    "chips": ("-", "the chip with most of the lab's fleet FLOP/s at the start"),
    "gpus": ("GPU", "GPUs training at its start"),
    "logical_compute": ("FLOP", "logical compute trained (at the end, or so far)"),
    "training_flop": (
        "FLOP",
        "its GPUs' work at MFU without the software multiplier, "
        "as published estimates of a run's compute count it",
    ),
    "loss": ("nats/token", "L(C) of that compute"),
    "finished": ("-", "whether it ended within the horizon"),
}

_LAB_SUMMARY: dict[str, Entry] = {
    "lab": ("-", "lab name"),
    "region": ("-", "lab region"),
    "strategy": ("-", "strategy name"),
    **{output.name: (output.unit, output.description) for output in LAB_OUTPUTS},
}

_SUMMARY: dict[str, Entry] = {
    "scenario": ("-", "scenario name"),
    "seed": ("1", "seed used"),
    "steps": ("1", "number of steps"),
    "leader": ("-", "lab with the lowest final loss"),
    **{output.name: (output.unit, output.description) for output in RUN_OUTPUTS},
}

RUN_COLUMNS: dict[str, Entry] = {
    "run_id": ("-", "run identifier p<point>-r<replicate> of the sweep"),
    "point": ("1", "design point index (0-based)"),
    "replicate": ("1", "replicate index (0-based); a replicate shares its seed across points"),
    "seed": ("1", "seed of the run, from SeedSequence(master_seed).spawn(replications)"),
    "status": ("-", "ok or failed"),
    "error": ("-", "traceback of a failed run (empty when ok)"),
    "duration_s": ("s", "wall-clock time of the run"),
    "scenario_hash": ("-", "SHA-256 of the run's resolved scenario (sim.experiments.identity)"),
    "engine_version": (
        "-",
        "package version and sim.experiments.identity.ENGINE_VERSION of the run",
    ),
}
"""Bookkeeping columns of a sweep's runs table (``run_id`` also tags its step tables)."""

_RUNS: dict[str, Entry] = {
    **RUN_COLUMNS,
    "leader": ("-", "lab with the lowest final loss (empty for a failed run)"),
    **{name: _SUMMARY[name] for name in SUMMARY_OUTPUTS if name in _SUMMARY},
}

OUTPUT_COLUMNS: dict[str, dict[str, Entry]] = {
    "labs": _LABS,
    "markets": _MARKETS,
    "edges": _EDGES,
    "economy": _ECONOMY,
    "ledger": _LEDGER,
    "training_runs": _TRAINING_RUNS,
    "lab_summary": _LAB_SUMMARY,
    "summary": _SUMMARY,
    "runs": _RUNS,
}
"""table -> column -> (unit, description), for every fixed-name output column."""

OUTPUT_PATTERNS: dict[str, list[tuple[re.Pattern[str], Entry]]] = {
    "lab_summary": [
        (
            re.compile(r"^years_to_R(?P<target>[0-9.eE+-]+)$"),
            ("yr", TARGET_DESCRIPTION),
        )
    ],
}
"""table -> (column-name pattern, entry) for columns named after scenario values."""

BREAKDOWN_TABLES = ("runs",)
"""Tables that hold the per-lab and per-region outputs (``final_loss[lab=cn_hare]``,
``min_final_loss[region=cn]``: :func:`sim.economy.outputs.describe_breakdown`)."""


def describe_output(table: str, column: str) -> Entry | None:
    """The ``(unit, description)`` of an output column, or None if it is not registered.

    Looks up the table's fixed columns, then its name patterns, then the sweep
    bookkeeping columns (so ``run_id`` of a sweep's step tables is covered).

    Args:
        table: the output table (``labs``, ``runs``, ...).
        column: the column name.
    """
    entry = OUTPUT_COLUMNS.get(table, {}).get(column)
    if entry is not None:
        return entry
    for pattern, (unit, description) in OUTPUT_PATTERNS.get(table, []):
        match = pattern.match(column)
        if match:
            return unit, description.format(**match.groupdict())
    if table in BREAKDOWN_TABLES and (breakdown := describe_breakdown(column)) is not None:
        return breakdown
    return RUN_COLUMNS.get(column)


# ------------------------------------------------------------------ levers and whole tables


@functools.cache
def _parameters() -> dict[str, dict[str, str]]:
    from sim.config.paramdoc import parameter_rows

    return {row["path"]: row for row in parameter_rows()}


def parameter_path(lever: str) -> str | None:
    """The documented parameter a lever path sets, e.g. ``labs.*.cash`` -> ``labs[].cash``.

    List indices and ``*`` become ``[]``; a key inside a map or an index into a
    list of numbers (``policy.power_caps.us``, ``law.relative_targets.0``)
    resolves to the map or list parameter itself. None if no parameter matches.
    """
    parts: list[str] = []
    for part in lever.split("."):
        if (part == "*" or part.isdigit()) and parts:
            parts[-1] += "[]"
        else:
            parts.append(part)
    rows = _parameters()
    path = ".".join(parts)
    if path in rows:
        return path
    container = path.removesuffix("[]") if path.endswith("[]") else path.rpartition(".")[0]
    row = rows.get(container)
    if row is not None and row["type"].startswith(("map ", "list ")):
        return container
    return None


def describe_lever(lever: str) -> Entry | None:
    """``(unit, description)`` of a lever column from the parameter it sets, or None."""
    path = parameter_path(lever)
    if path is None:
        return None
    row = _parameters()[path]
    return row["unit"], f"lever {lever} (scenario parameter {path}): {row['description']}"


POINT_COLUMNS: dict[str, Entry] = {
    "point": ("1", "design point index (0-based)"),
    "point_name": ("-", "the design point's name (the experiment's point_names)"),
    "runs_ok": ("1", "replicates of the point that finished ok (the outputs are their mean)"),
}
"""Fixed columns of a sweep's ``points`` table (one row per design point)."""


def describe_point_column(column: str) -> Entry | None:
    """``(unit, description)`` of a ``points`` column: fixed, or the mean of a run output."""
    if column in POINT_COLUMNS:
        return POINT_COLUMNS[column]
    entry = describe_output("runs", column)
    if entry is None or column in RUN_COLUMNS:
        return None
    return entry[0], f"mean over the point's ok replicates of: {entry[1]}"


@functools.lru_cache(maxsize=65536)
def describe_any(table: str, column: str) -> Entry | None:
    """``(unit, description)`` of a column of any written table, None if undocumented.

    Registered outputs first (:func:`describe_output`); in a sweep's ``runs``
    and ``points`` tables, any other column is a lever, described from the
    scenario parameter it sets (:func:`describe_lever`).
    """
    entry = describe_point_column(column) if table == "points" else describe_output(table, column)
    if entry is None and table in ("runs", "points"):
        entry = describe_lever(column)
    return entry


def column_entries(table: str, columns: Iterable[str]) -> dict[str, Entry]:
    """Column -> ``(unit, description)`` for each documented column (Parquet field metadata)."""
    return {c: entry for c in columns if (entry := describe_any(table, str(c))) is not None}
