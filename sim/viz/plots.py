"""Figures from result tables: one style, units on every axis, PNG and SVG files.

Every figure function takes DataFrames (the tables of ``race run`` or of a
``race sweep`` store, never a model) and returns a Matplotlib
:class:`~matplotlib.figure.Figure`, so the same code draws the files of a run,
of a sweep and the figures embedded in ``race report``. Figures are built
without pyplot (no global figure registry, nothing to close, no display) and
drawn inside one style context: seaborn "whitegrid", the colour-blind-safe
"colorblind" palette (viridis for heatmaps), every axis labelled with its unit
from the output registry (:mod:`sim.experiments.dictionary`). :func:`save_figures` writes each
figure as PNG and SVG, atomically (:mod:`sim.experiments.io`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.analysis.trajectories import realized_gamma, time_to_target
from sim.economy.outputs import target_column
from sim.experiments.dictionary import describe_output
from sim.experiments.io import atomic_save_figure
from sim.law import parameter_set, relative_loss

PALETTE = "colorblind"
HEATMAP_COLORMAP = "viridis"
FIGSIZE = (8.0, 4.8)
IMAGE_FORMATS = ("png", "svg")
CLOSED_FORM_LABEL = "closed form (realized gamma)"
BAND = (0.05, 0.95)
MAX_LEVELS = 12
"""A lever with more distinct values than this (a sampled design) is binned for plots."""

F = TypeVar("F", bound=Callable[..., Figure])


# ------------------------------------------------------------------ style and labels


@functools.cache
def style_rc() -> dict[str, Any]:
    """The rc parameters of every figure: seaborn whitegrid, notebook context, colorblind."""
    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=0.85)}
    rc["axes.prop_cycle"] = cycler(color=sns.color_palette(PALETTE))
    rc["svg.hashsalt"] = "race"  # stable SVG element ids: identical inputs, identical files
    return rc


def styled(draw: F) -> F:
    """Run a figure function inside the shared style, without touching global rcParams."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(style_rc()):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(rows: int = 1, height: float = FIGSIZE[1], sharex: bool = True) -> Figure:
    """A constrained-layout figure with ``rows`` stacked axes (call inside the style)."""
    figure = Figure(figsize=(FIGSIZE[0], height), layout="constrained")
    figure.subplots(rows, 1, sharex=sharex, squeeze=False)
    return figure


def with_unit(text: str, unit: str) -> str:
    """``"text (unit)"``, or the text alone for names and unknown units."""
    return f"{text} ({unit})" if unit and unit not in ("-", text) else text


def column_label(table: str, column: str, text: str | None = None) -> str:
    """Axis label of an output column with its registered unit, e.g. ``loss (nats/token)``."""
    entry = describe_output(table, column)
    return with_unit(text or column.replace("_", " "), entry[0] if entry else "")


def lever_label(lever: str) -> str:
    """Axis label of a sweep lever: its path and the unit of the parameter it sets."""
    from sim.analysis.export import describe_lever

    entry = describe_lever(lever)
    return with_unit(lever, entry[0] if entry else "")


def names(frame: pd.DataFrame, column: str) -> list[str]:
    """Distinct values of a column in order of appearance (unused categories dropped)."""
    return [str(v) for v in pd.unique(frame[column].astype(str))]


def palette(keys: Sequence[str]) -> dict[str, Any]:
    """One colour-blind-safe colour per key, stable for a given order."""
    return dict(zip(keys, sns.color_palette(PALETTE, len(keys)), strict=True))


def line_handles(colours: Mapping[str, Any]) -> list[Line2D]:
    """Legend handles: a solid line per key."""
    return [Line2D([], [], color=colour, label=key) for key, colour in colours.items()]


def _lines(axes: Axes, frame: pd.DataFrame, y: str, hue: str, colours: Mapping[str, Any]) -> None:
    """One line per hue value of ``y`` against year."""
    for key, colour in colours.items():
        rows = frame[frame[hue].astype(str) == key].sort_values("year")
        axes.plot(rows["year"], rows[y], color=colour, linewidth=1.6)


# ------------------------------------------------------------------ one run


def law_constants(scenario: Any) -> tuple[float, float]:
    """``(kappa, E)`` of a scenario's shared law (the override of kappa included)."""
    params = parameter_set(scenario.law.params)
    return float(scenario.law.kappa or params.kappa), float(params.E)


def closed_form_loss(
    t: np.ndarray, initial_loss: float, gamma: float | None, kappa: float, floor: float = 0.0
) -> np.ndarray | None:
    """The relative-loss equation scaled to a lab: ``E + (L0 - E) X(t)`` (``L0 R(t)`` at E 0).

    A negative realized gamma is clamped to 0 (the closed form needs gamma >= 0);
    returns None when gamma is missing or L0 is not above the floor.
    """
    if gamma is None or not math.isfinite(gamma) or not initial_loss > floor:
        return None
    years = np.clip(np.asarray(t, dtype=float), 0.0, None)
    return floor + (initial_loss - floor) * relative_loss(years, max(gamma, 0.0), kappa)


def lab_gammas(labs: pd.DataFrame, lab_summary: pd.DataFrame | None = None) -> dict[str, float]:
    """Realized gamma per lab: from the lab summary, else fitted on the labs table."""
    if lab_summary is not None and "realized_gamma" in lab_summary:
        return dict(zip(lab_summary["lab"].astype(str), lab_summary["realized_gamma"], strict=True))
    fitted = {}
    for lab, rows in labs[labs["step"] > 0].groupby("lab", observed=True):
        fitted[str(lab)] = realized_gamma(rows["t"].to_numpy(), rows["efficiency"].to_numpy())
    return fitted


@styled
def loss_figure(
    labs: pd.DataFrame,
    lab_summary: pd.DataFrame | None = None,
    kappa: float | None = None,
    floor: float = 0.0,
) -> Figure:
    """Loss per lab over time, each with its closed-form curve (dashed) when kappa is known.

    The closed form is the race-to-efficiency relative-loss equation with the
    lab's realized gamma and the law's kappa, started from the lab's initial
    loss: how the lab would have done at constant power and steady gamma.
    """
    figure = new_figure()
    axes = figure.axes[0]
    colours = palette(names(labs, "lab"))
    _lines(axes, labs, "loss", "lab", colours)
    handles: list[Any] = line_handles(colours)
    if kappa is not None and _closed_forms(axes, labs, lab_summary, kappa, floor, colours):
        handles.append(Line2D([], [], color="0.35", linestyle="--", label=CLOSED_FORM_LABEL))
    axes.legend(handles=handles, title="lab", fontsize="small", ncol=2)
    axes.set(title="Loss along the shared law", xlabel=column_label("labs", "year"))
    axes.set_ylabel(column_label("labs", "loss", "loss L(C)"))
    return figure


def _closed_forms(axes, labs, lab_summary, kappa, floor, colours) -> bool:
    """Draw each lab's dashed closed-form curve; True if any was drawn."""
    gammas = lab_gammas(labs, lab_summary)
    drawn = False
    for lab, colour in colours.items():
        rows = labs[labs["lab"].astype(str) == lab].sort_values("step")
        curve = closed_form_loss(rows["t"], rows["loss"].iloc[0], gammas.get(lab), kappa, floor)
        if curve is not None:
            axes.plot(rows["year"], curve, color=colour, linestyle="--", linewidth=1.1)
            drawn = True
    return drawn


def _lab_lines(labs: pd.DataFrame, column: str, title: str, ylabel: str) -> Figure:
    """One line per lab of a labs-table column against year, with a lab legend."""
    figure = new_figure()
    axes = figure.axes[0]
    colours = palette(names(labs, "lab"))
    _lines(axes, labs, column, "lab", colours)
    axes.legend(handles=line_handles(colours), title="lab", fontsize="small", ncol=2)
    axes.set(title=title, xlabel=column_label("labs", "year"), ylabel=ylabel)
    return figure


@styled
def share_figure(labs: pd.DataFrame) -> Figure:
    """AI-services market share per lab over time (from step 1: step 0 has no market)."""
    ylabel = column_label("labs", "market_share", "market share (fraction of revenue)")
    return _lab_lines(labs[labs["step"] > 0], "market_share", "AI-services market share", ylabel)


@styled
def compute_figure(labs: pd.DataFrame) -> Figure:
    """Cumulative logical compute per lab on a log scale."""
    figure = _lab_lines(
        labs, "compute", "Cumulative logical compute", "cumulative compute (FLOP, log scale)"
    )
    figure.axes[0].set_yscale("log")
    return figure


def market_rows(markets: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rows of one market kind (``chips`` or ``energy``) after step 0."""
    return markets[(markets["kind"].astype(str) == kind) & (markets["step"] > 0)]


def per_year(rows: pd.DataFrame, column: str) -> pd.Series:
    """A flow over each step (MWh, tCO2, GPUs unfilled) as a rate per year.

    Steps are equal, so a step lasts ``t / step`` years (``t`` the model time
    at its end); NaN at step 0, which has no flow.
    """
    step_years = rows["t"] / rows["step"].where(rows["step"] > 0)
    return rows[column] / step_years


def _market_panels(rows: pd.DataFrame, title: str, panels: Sequence[tuple[str, str]]) -> Figure:
    """Stacked panels per supplier over time: ``(column, y label)`` per panel."""
    figure = new_figure(len(panels), height=2.3 * len(panels) + 0.6)
    colours = palette(names(rows, "market"))
    for axes, (column, ylabel) in zip(figure.axes, panels, strict=True):
        _lines(axes, rows, column, "market", colours)
        axes.set_ylabel(ylabel)
    figure.axes[0].set_title(title)
    figure.axes[0].legend(handles=line_handles(colours), title="supplier", fontsize="small")
    figure.axes[-1].set_xlabel(column_label("markets", "year"))
    return figure


@styled
def chip_market_figure(markets: pd.DataFrame) -> Figure:
    """Chip prices (USD and index) and unfilled orders per supplier (GPUs a year)."""
    rows = market_rows(markets, "chips")
    return _market_panels(
        rows.assign(unfilled_per_yr=per_year(rows, "shortage")),
        "Chip market",
        [
            ("price", "price (USD/GPU)"),
            ("price_index", "price index (1 = list)"),
            ("unfilled_per_yr", "unfilled (GPU/yr)"),
        ],
    )


@styled
def energy_figure(markets: pd.DataFrame) -> Figure:
    """Energy price, unmet demand, energy delivered and emissions per supplier (a year)."""
    rows = market_rows(markets, "energy")
    rows = rows.assign(
        energy_per_yr=per_year(rows, "energy_mwh"), emissions_per_yr=per_year(rows, "emissions_t")
    )
    return _market_panels(
        rows,
        "Energy market, use and emissions",
        [
            ("price", "price (USD/MWh)"),
            ("shortage", "unmet demand (MW)"),
            ("energy_per_yr", "energy (MWh/yr)"),
            ("emissions_per_yr", "emissions (tCO2/yr)"),
        ],
    )


# ------------------------------------------------------------------ supply network

NODE_KINDS = ("chip_supplier", "lab", "energy_supplier")
NODE_TITLES = {"chip_supplier": "chip supplier", "lab": "lab", "energy_supplier": "energy supplier"}


def network_nodes(labs: pd.DataFrame, markets: pd.DataFrame) -> pd.DataFrame:
    """One row per agent of the supply network: name, kind, region."""
    lab_rows = labs[["lab", "region"]].astype(str).drop_duplicates()
    lab_rows = lab_rows.rename(columns={"lab": "name"}).assign(kind="lab")
    suppliers = markets[["market", "kind", "region"]].astype(str).drop_duplicates()
    suppliers = suppliers.rename(columns={"market": "name"})
    suppliers["kind"] = suppliers["kind"].map(
        {"chips": "chip_supplier", "energy": "energy_supplier"}
    )
    return pd.concat([lab_rows, suppliers], ignore_index=True)[["name", "kind", "region"]]


def network_edges(edges: pd.DataFrame) -> pd.DataFrame:
    """One row per edge: cumulative trade value (USD) and whether it was ever restricted.

    Restricted means an export-control threshold (finite ``max_tpp``) or a ban
    (``allowed`` false) at some step of the run.
    """
    frame = edges.assign(
        supplier=edges["supplier"].astype(str),
        lab=edges["lab"].astype(str),
        kind=edges["kind"].astype(str),
        restricted=~edges["allowed"].astype(bool) | np.isfinite(edges["max_tpp"]),
    )
    grouped = frame.groupby(["supplier", "lab", "kind"], sort=False)
    return grouped.agg(value=("value", "sum"), restricted=("restricted", "any")).reset_index()


def network_layout(nodes: pd.DataFrame) -> tuple[dict[str, tuple[float, float]], list]:
    """Columns chip suppliers | labs | energy suppliers; rows grouped in region bands.

    Returns:
        Node name -> (x, y), and ``(region, y_low, y_high)`` per band.
    """
    positions, bands, top = {}, [], 0.0
    for region in names(nodes, "region"):
        members = nodes[nodes["region"] == region]
        height = max((members["kind"] == kind).sum() for kind in NODE_KINDS)
        for x, kind in enumerate(NODE_KINDS):
            column = members[members["kind"] == kind]["name"].tolist()
            offset = (height - len(column)) / 2
            for i, name in enumerate(column):
                positions[name] = (float(x), -(top + offset + i + 0.5))
        bands.append((region, -(top + height), -top))
        top += height + 0.4
    return positions, bands


@styled
def network_figure(edges: pd.DataFrame, labs: pd.DataFrame, markets: pd.DataFrame) -> Figure:
    """The supply network with each edge's width proportional to its cumulative trade value.

    Nodes are coloured by kind and grouped in region bands; restricted edges
    (export control or ban) are dashed.
    """
    nodes, flows = network_nodes(labs, markets), network_edges(edges)
    graph = nx.DiGraph()
    graph.add_nodes_from((row.name, {"kind": row.kind}) for row in nodes.itertuples(index=False))
    positions, bands = network_layout(nodes)
    figure = new_figure(height=max(4.8, 0.9 * -bands[-1][1] + 1.0))
    axes = figure.axes[0]
    _region_bands(axes, bands)
    colours = palette(list(NODE_KINDS))
    top_value = float(flows["value"].max()) if len(flows) else 0.0
    _network_edges(axes, graph, positions, flows, colours, top_value)
    nx.draw_networkx_nodes(
        graph, positions, ax=axes, node_size=420,
        node_color=[colours[graph.nodes[n]["kind"]] for n in graph.nodes],
    )  # fmt: skip
    labels = {name: (x, y - 0.3) for name, (x, y) in positions.items()}
    nx.draw_networkx_labels(graph, labels, ax=axes, font_size=8)
    axes.legend(handles=_network_handles(colours, top_value), fontsize="small", loc="upper left",
                bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    axes.set_title("Supply network: cumulative trade over the run")
    axes.set_xlim(-0.5, 2.5)
    axes.set_xticks(range(3), [NODE_TITLES[k] for k in NODE_KINDS])
    axes.set_yticks([])
    axes.tick_params(labelbottom=True)  # networkx hides tick labels
    axes.grid(False)
    return figure


def _region_bands(axes: Axes, bands: list) -> None:
    """Shade alternate region bands and name each region at the left."""
    for i, (region, low, high) in enumerate(bands):
        axes.axhspan(low, high, color="0.93" if i % 2 == 0 else "0.97", zorder=0)
        axes.text(-0.48, high - 0.1, f"region {region}", va="top", fontsize=8, color="0.3")
    axes.set_ylim(bands[-1][1] - 0.2, 0.2)


def _network_edges(axes, graph, positions, flows, colours, top_value) -> None:
    """Draw the edges: width by cumulative value, colour by kind, dashed if restricted."""
    kind_colour = {"chips": colours["chip_supplier"], "energy": colours["energy_supplier"]}
    for restricted, rows in flows.groupby("restricted"):
        widths = [0.6 + 7.0 * v / top_value if top_value > 0 else 0.6 for v in rows["value"]]
        pairs = list(zip(rows["supplier"], rows["lab"], strict=True))
        nx.draw_networkx_edges(
            graph, positions, ax=axes, edgelist=pairs,
            width=widths, edge_color=[kind_colour.get(k, "0.5") for k in rows["kind"]],
            style="--" if restricted else "-", alpha=0.75, arrows=True, arrowstyle="-|>",
            node_size=420,
        )  # fmt: skip


def _network_handles(colours: Mapping[str, Any], top_value: float) -> list[Any]:
    """Legend: node kinds, edge kinds, restriction and the width scale."""
    handles: list[Any] = [
        Line2D([], [], marker="o", linestyle="", color=colours[k], label=NODE_TITLES[k])
        for k in NODE_KINDS
    ]
    handles += [
        Line2D([], [], color=colours["chip_supplier"], linewidth=3, label="chip trade"),
        Line2D([], [], color=colours["energy_supplier"], linewidth=3, label="energy trade"),
        Line2D([], [], color="0.4", linestyle="--", label="restricted (export control)"),
        Line2D([], [], color="0.4", linewidth=7.6, label=f"width: {top_value:.3g} USD (max)"),
    ]
    return handles


# ------------------------------------------------------------------ several runs


def stack_runs(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One step table from several runs, tagged with a ``run_id`` column (the mapping keys)."""
    frames = [frame.assign(run_id=str(run_id)) for run_id, frame in tables.items()]
    stacked = pd.concat(frames, ignore_index=True)
    for column in stacked.select_dtypes("category"):
        stacked[column] = stacked[column].astype(str)
    return stacked


def fan_bands(
    steps: pd.DataFrame,
    value: str,
    hue: str | None = None,
    band: tuple[float, float] = BAND,
    x: str = "year",
) -> pd.DataFrame:
    """Median and quantile band across runs of a per-step quantity.

    Rows sharing ``(run_id, step, hue)`` are averaged first (so with ``hue``
    the design point and a labs table, each run contributes its mean over labs).

    Returns:
        Columns ``step``, hue (if any), ``x``, ``median``, ``low``, ``high``, ``runs``.
    """
    keys = ["run_id", "step", *([hue] if hue else [])]
    frame = steps.assign(**{hue: steps[hue].astype(str)}) if hue else steps
    per_run = frame.groupby(keys, sort=True).agg(v=(value, "mean"), x=(x, "first")).reset_index()
    grouped = per_run.groupby(keys[1:], sort=True)
    out = grouped.agg(x=("x", "median"), median=("v", "median"), runs=("v", "size"))
    out["low"] = grouped["v"].quantile(band[0])
    out["high"] = grouped["v"].quantile(band[1])
    return out.reset_index()


@styled
def fan_chart(
    steps: pd.DataFrame,
    value: str,
    hue: str | None = None,
    table: str = "labs",
    band: tuple[float, float] = BAND,
    hue_labels: Mapping[str, str] | None = None,
    quantity: tuple[str, str] | None = None,
) -> Figure:
    """Fan chart across seeds: the median line and a 5-95% band of a per-step quantity.

    Args:
        steps: step rows of several runs with ``run_id``, ``step``, ``year`` and ``value``.
        value: the column to show, e.g. ``loss``.
        hue: one fan per value of this column (``lab``, ``point``); None for one fan.
        table: the output table ``value`` comes from (for its unit).
        band: the lower and upper quantiles of the band.
        hue_labels: legend text per hue value (e.g. a design point's lever values).
        quantity: ``(text, unit)`` of ``value`` when it is not a registered column
            (e.g. a flow per year); default the column's name and registered unit.
    """
    bands = fan_bands(steps, value, hue, band)
    keys = names(bands, hue) if hue else ["median"]
    colours = palette(keys)
    figure = new_figure()
    axes = figure.axes[0]
    for key, colour in colours.items():
        rows = bands[bands[hue] == key] if hue else bands
        axes.fill_between(rows["x"], rows["low"], rows["high"], color=colour, alpha=0.22, lw=0)
        axes.plot(rows["x"], rows["median"], color=colour, linewidth=1.6)
    labelled = {(hue_labels or {}).get(k, k): c for k, c in colours.items()}
    handles: list[Any] = line_handles(labelled)
    runs = int(bands["runs"].max())
    share = f"{band[0]:.0%}-{band[1]:.0%} across runs (n = {runs})"
    handles.append(Patch(color="0.5", alpha=0.3, label=share))
    axes.legend(handles=handles, title=hue, fontsize="small")
    mean_note = " (mean over labs)" if hue != "lab" and table == "labs" else ""
    text = quantity[0] if quantity else value.replace("_", " ")
    ylabel = with_unit(*quantity) if quantity else column_label(table, value)
    axes.set(title=f"{text}{mean_note}: median and band across seeds")
    axes.set(xlabel=column_label(table, "year"), ylabel=ylabel)
    return figure


LEVER_AXES = ("linear", "log", "categorical")
SPAN_FOR_LOG = 1e3
"""Few positive numeric levels spanning this factor or more go on a log axis."""
CROWDED = 0.02
"""Few levels with two closer than this share of their range (and a 0) become categories."""


def lever_axis(values: pd.Series, spec: Mapping[str, Any] | None = None) -> str:
    """How a lever's values are shown: ``linear``, ``log`` or ``categorical``.

    The experiment's ``scale`` decides when given; values that are not numbers
    (names, switches) are categories. Otherwise a few levels (at most
    :data:`MAX_LEVELS`) spanning three orders of magnitude go on a log axis if
    all are positive, and become categories if one is 0 and others crowd
    together beside a far larger one (0, 4800, 16000, 40000, 1e7): a 0 cannot
    sit on a log axis, and on a linear one four of them would share one spot.
    """
    scale = (spec or {}).get("scale")
    if scale in LEVER_AXES:
        return scale
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "categorical"
    levels = np.unique(values.dropna().to_numpy(dtype=float))
    if not 3 <= len(levels) <= MAX_LEVELS:
        return "linear"
    if levels[0] > 0 and levels[-1] / levels[0] >= SPAN_FOR_LOG:
        return "log"
    crowded = np.diff(levels).min() < CROWDED * (levels[-1] - levels[0])
    return "categorical" if crowded else "linear"


def category_order(values: pd.Series, spec: Mapping[str, Any] | None = None) -> list[str]:
    """A categorical lever's categories as text: the experiment's order, else sorted."""
    from sim.experiments.design import value_text

    declared = [value_text(v) for v in (spec or {}).get("values") or []]
    present = set(values.map(value_text))
    ordered = [c for c in dict.fromkeys(declared) if c in present]
    rest = sorted(present - set(ordered), key=_sort_key)
    return ordered + rest


def _sort_key(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def binned(values: pd.Series, max_levels: int = MAX_LEVELS, axis: str = "linear") -> pd.Series:
    """A lever's values, or the midpoints of equal-width bins when it has too many levels.

    Bins of a log lever are equal in log10 (their midpoints geometric);
    categories are never binned.
    """
    if axis == "categorical" or values.nunique() <= max_levels:
        return values
    bins = max_levels // 2 + 2
    if axis == "log":
        cut = pd.cut(np.log10(values.astype(float)), bins=bins)
        return cut.map(lambda interval: float(f"{10.0**interval.mid:.4g}")).astype(float)
    cut = pd.cut(values, bins=bins)
    return cut.map(lambda interval: float(f"{interval.mid:.4g}")).astype(float)


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with status ok (all rows if the table has no status column)."""
    return runs[runs["status"] == "ok"] if "status" in runs else runs


def _lever_cells(rows: pd.DataFrame, lever: str, spec: Mapping[str, Any] | None):
    """A lever column as heatmap cells (ordered text labels) and the order of its cells."""
    from sim.experiments.design import value_text

    axis = lever_axis(rows[lever], spec)
    if axis == "categorical":
        return rows[lever].map(value_text), category_order(rows[lever], spec)
    column = binned(rows[lever], axis=axis)
    order = [value_text(v) for v in sorted(column.dropna().unique())]
    return column.map(value_text), order


@styled
def heatmap(
    runs: pd.DataFrame,
    x_lever: str,
    y_lever: str,
    value: str,
    agg: str = "mean",
    specs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Figure:
    """A summary output aggregated over runs on a grid of two levers.

    Args:
        runs: one row per run with the two lever columns and ``value``.
        x_lever, y_lever: lever columns (binned if a sampled design gives many
            values, in log10 for a log lever; categories in the experiment's order).
        value: the output to show, e.g. ``total_emissions_t`` or ``years_to_R0.9``.
        agg: pandas aggregation across the runs of a cell (``mean``, ``median``, ...).
        specs: the experiment's lever declarations by path (their ``scale``, ``values``).

    Raises:
        ValueError: if no run has a finite value.
    """
    rows, specs = ok_runs(runs), specs or {}
    (x_cells, x_order), (y_cells, y_order) = (
        _lever_cells(rows, lever, specs.get(lever)) for lever in (x_lever, y_lever)
    )
    rows = rows.assign(**{x_lever: x_cells, y_lever: y_cells})
    grid = rows.pivot_table(index=y_lever, columns=x_lever, values=value, aggfunc=agg)
    grid = grid.reindex(index=y_order[::-1], columns=x_order)
    if not np.isfinite(grid.to_numpy(dtype=float)).any():
        raise ValueError(f"no finite {value} to draw a heatmap of")
    figure = new_figure()
    axes = figure.axes[0]
    label = _run_label(value)
    sns.heatmap(
        grid, annot=True, fmt=".4g", cmap=HEATMAP_COLORMAP,
        cbar_kws={"label": f"{agg} {label}"}, ax=axes, linewidths=0.5,
    )  # fmt: skip
    axes.set(title=f"{value}: {agg} over runs", xlabel=lever_label(x_lever))
    axes.set_ylabel(lever_label(y_lever))
    return figure


def _run_label(value: str) -> str:
    """Label of a runs-table output (``years_to_R*`` columns are in years)."""
    if value.startswith("years_to_R"):
        return with_unit(value, "yr")
    return column_label("runs", value, value)


@styled
def lever_line(
    runs: pd.DataFrame, lever: str, value: str, spec: Mapping[str, Any] | None = None
) -> Figure:
    """A summary output against one lever: mean over replications and its 95% interval.

    A numeric lever gets a line with a band, on a log axis for a log lever; a
    categorical lever (see :func:`lever_axis`) a point per category with
    whiskers, the categories evenly spaced in the experiment's order.

    Args:
        runs: one row per run with the lever column and ``value``.
        lever: the lever column.
        value: the output to show.
        spec: the experiment's declaration of the lever (its ``scale``, ``values``).
    """
    rows = ok_runs(runs)
    axis = lever_axis(rows[lever], spec)
    figure = new_figure()
    axes = figure.axes[0]
    if axis == "categorical":
        _category_points(axes, rows, lever, value, spec)
    else:
        _numeric_line(axes, rows.assign(**{lever: binned(rows[lever], axis=axis)}), lever, value)
        axes.set_xscale(axis)
    axes.legend(fontsize="small")
    scale_note = {"log": " (log scale)", "categorical": ""}.get(axis, "")
    axes.set(title=f"{value} against {lever}", xlabel=lever_label(lever) + scale_note)
    axes.set_ylabel(_run_label(value))
    return figure


def _mean_interval(rows: pd.DataFrame, by: str | pd.Series, value: str) -> pd.DataFrame:
    """Mean of ``value`` per group with the half-width of its normal 95% interval."""
    stats = rows.groupby(by)[value].agg(["mean", "std", "count"])
    stats["half"] = 1.96 * stats["std"].fillna(0.0) / np.sqrt(stats["count"])
    return stats


def _numeric_line(axes: Axes, rows: pd.DataFrame, lever: str, value: str) -> None:
    stats = _mean_interval(rows, lever, value).reset_index()
    colour = sns.color_palette(PALETTE)[0]
    low, high = stats["mean"] - stats["half"], stats["mean"] + stats["half"]
    axes.fill_between(stats[lever], low, high, color=colour, alpha=0.25, lw=0,
                      label="95% CI of the mean")  # fmt: skip
    axes.plot(stats[lever], stats["mean"], marker="o", color=colour, label="mean over runs")


def _category_points(axes: Axes, rows: pd.DataFrame, lever: str, value: str, spec) -> None:
    from sim.experiments.design import value_text

    order = category_order(rows[lever], spec)
    stats = _mean_interval(rows, rows[lever].map(value_text), value).reindex(order)
    colour = sns.color_palette(PALETTE)[0]
    positions = np.arange(len(order))
    axes.errorbar(positions, stats["mean"], yerr=stats["half"], fmt="o", color=colour,
                  capsize=5, markersize=7, label="mean over runs, 95% CI")  # fmt: skip
    axes.set_xticks(positions, order)
    axes.set_xlim(-0.5, len(order) - 0.5)
    axes.grid(False, axis="x")


def time_to_target_by_run(labs: pd.DataFrame, target: float) -> pd.DataFrame:
    """Years until the first lab of each run reaches a relative (excess) loss target.

    Computed from a sweep's step table of labs with :func:`sim.analysis.trajectories.time_to_target`
    per lab; NaN for a run where no lab reaches it.

    Returns:
        Columns ``run_id`` and ``years_to_R<target>``.
    """
    rows = []
    for (run_id, _), lab in labs.sort_values("step").groupby(["run_id", "lab"], sort=False):
        rel = lab["relative_excess_loss"].to_numpy()
        rows.append((run_id, time_to_target(lab["t"].to_numpy(), rel, target)))
    frame = pd.DataFrame(rows, columns=["run_id", "years"])
    first = frame.groupby("run_id", sort=True)["years"].min()
    return first.rename(target_column(target)).reset_index()


@styled
def sensitivity_figure(indices: pd.DataFrame) -> Figure:
    """Sensitivity indices as horizontal bars with confidence whiskers, one panel per output.

    Args:
        indices: columns ``output``, ``lever``, ``index`` (e.g. S1, ST, mu_star),
            ``value`` and ``conf`` (half-width of the confidence interval).
    """
    outputs = names(indices, "output")
    figure = new_figure(len(outputs), height=1.0 + 2.0 * len(outputs), sharex=False)
    colours = palette(names(indices, "index"))
    for axes, output in zip(figure.axes, outputs, strict=True):
        _index_bars(axes, indices[indices["output"].astype(str) == output], colours)
        axes.set_title(output, fontsize="medium")
        axes.set_xlabel("index value (Sobol: share of variance; Morris: output units)")
    figure.axes[0].legend(handles=[Patch(color=c, label=k) for k, c in colours.items()],
                          title="index", fontsize="small")  # fmt: skip
    figure.suptitle("Sensitivity of outputs to levers")
    return figure


def _index_bars(axes: Axes, rows: pd.DataFrame, colours: Mapping[str, Any]) -> None:
    """Grouped horizontal bars: one group per lever, one bar per index."""
    levers = names(rows, "lever")
    height = 0.8 / max(1, len(colours))
    for j, (index, colour) in enumerate(colours.items()):
        part = rows[rows["index"].astype(str) == index]
        part = part.set_index(part["lever"].astype(str)).reindex(levers)
        y = np.arange(len(levers)) + (j - (len(colours) - 1) / 2) * height
        axes.barh(y, part["value"], height=height, xerr=part["conf"], color=colour,
                  error_kw={"elinewidth": 0.8, "capsize": 2})  # fmt: skip
    axes.set_yticks(np.arange(len(levers)), levers)
    axes.set_ylabel("lever")
    axes.invert_yaxis()


@styled
def compare_figure(table: pd.DataFrame, base: str, alt: str) -> Figure:
    """What-if differences as bars in % of the base mean, with 95% CI whiskers.

    An output without an interval (one pair: ``race compare --replications 1``)
    gets no whisker but a note saying so, and the axis label says there is none.

    Args:
        table: ``race compare``'s table: columns ``output``, ``base_mean``,
            ``mean_difference``, ``ci_low`` and ``ci_high`` (and ``n``, the pairs).
        base: name of the base scenario; alt: of the alternative.
    """
    scale = 100.0 / table["base_mean"].abs()
    relative = (table["mean_difference"] * scale).to_numpy(dtype=float)
    has_ci = (table["ci_low"].notna() & table["ci_high"].notna()).to_numpy()
    positions = np.arange(len(table))
    figure = new_figure(height=0.6 * len(table) + 1.5)
    axes = figure.axes[0]
    axes.barh(positions, relative)
    if has_ci.any():
        low = relative - (table["ci_low"] * scale).to_numpy(dtype=float)
        high = (table["ci_high"] * scale).to_numpy(dtype=float) - relative
        axes.errorbar(relative[has_ci], positions[has_ci], xerr=[low[has_ci], high[has_ci]],
                      fmt="none", ecolor="black", capsize=4)  # fmt: skip
    for position in positions[~has_ci]:
        outward = -1 if relative[position] < 0 else 1  # beyond the bar's end
        axes.annotate(
            _no_interval_text(table, position), (relative[position], position),
            xytext=(6 * outward, 0), textcoords="offset points", va="center",
            ha="left" if outward > 0 else "right", fontsize="small", color="0.3",
        )  # fmt: skip
    if not has_ci.all():
        axes.margins(x=0.3)  # room for the notes
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.set_yticks(positions, table["output"].astype(str))
    axes.set_xlabel(f"{alt} - {base}, % of base mean ({_interval_label(has_ci, table)})")
    axes.set_ylabel("output")
    axes.invert_yaxis()
    axes.set_title("What-if: paired differences")
    return figure


def _pairs(table: pd.DataFrame, position: int) -> int | None:
    return int(table["n"].iloc[position]) if "n" in table else None


def _no_interval_text(table: pd.DataFrame, position: int) -> str:
    n = _pairs(table, position)
    return "no CI" if n is None else f"no CI: {n} pair{'s' if n != 1 else ''}"


def _interval_label(has_ci: np.ndarray, table: pd.DataFrame) -> str:
    """``95% CI``, or why some or all outputs have none."""
    if has_ci.all():
        return "95% CI"
    if has_ci.any():
        return "95% CI; none where fewer than 2 pairs"
    counts = {_pairs(table, i) for i in range(len(table))}
    if counts == {1}:
        return "one pair: no confidence interval"
    return "no confidence interval: fewer than 2 pairs"


# ------------------------------------------------------------------ writing


def save_figures(figures: Mapping[str, Figure], folder: Path) -> list[Path]:
    """Write each figure as ``<name>.png`` and ``<name>.svg`` in ``folder``, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context(style_rc()):
        for name, figure in figures.items():
            for suffix in IMAGE_FORMATS:
                path = folder / f"{name}.{suffix}"
                atomic_save_figure(figure, path)
                written.append(path)
    return written


def run_figures(
    tables: Mapping[str, pd.DataFrame],
    lab_summary: pd.DataFrame | None = None,
    kappa: float | None = None,
    floor: float = 0.0,
) -> dict[str, Figure]:
    """Every run figure whose tables are present: loss, shares, compute, markets, network."""
    figures: dict[str, Figure] = {}
    labs, markets, edges = (tables.get(name) for name in ("labs", "markets", "edges"))
    if labs is not None:
        figures["loss"] = loss_figure(labs, lab_summary, kappa, floor)
        figures["market_share"] = share_figure(labs)
        figures["compute"] = compute_figure(labs)
    if markets is not None:
        figures["chip_market"] = chip_market_figure(markets)
        figures["energy"] = energy_figure(markets)
    if labs is not None and markets is not None and edges is not None:
        figures["network"] = network_figure(edges, labs, markets)
    return figures


# ------------------------------------------------------------------ sweeps


def sweep_figures(folder: str | Path) -> dict[str, Figure]:
    """The figures that apply to a sweep results folder.

    Fan charts of the mean loss (one fan per design point, or one overall
    with many points) and of emissions when step tables were recorded; with
    two or more levers a heatmap per analysed output (and of the years to the
    first relative-loss target if some run reaches it); with one lever an
    output-against-lever line per output; a sensitivity chart if the folder
    holds ``sensitivity.csv``.

    Raises:
        ValueError: if the folder is not a sweep results folder.
    """
    from sim.analysis.export import read_results

    results = read_results(folder)
    if results.kind != "sweep":
        raise ValueError(f"{results.folder} holds a race run, not a sweep")
    runs, levers = ok_runs(results.tables["runs"]), results.levers
    figures = _fan_figures(results.tables, runs, levers)
    outputs = _analysed_outputs(results.folder, runs)
    specs = lever_specs(results.folder)
    if len(levers) >= 2:
        figures.update(_heatmaps(results.tables, runs, levers, outputs, results.folder, specs))
    elif len(levers) == 1:
        spec = specs.get(levers[0])
        for output in outputs:
            figures[f"{output}_vs_lever"] = lever_line(runs, levers[0], output, spec)
    sensitivity = results.folder / "sensitivity.csv"
    if sensitivity.is_file():
        figures["sensitivity"] = sensitivity_figure(pd.read_csv(sensitivity))
    return figures


def write_sweep_figures(folder: str | Path) -> list[Path]:
    """Draw the figures that apply to a sweep folder into it as PNG and SVG; return the paths."""
    return save_figures(sweep_figures(folder), Path(folder))


def lever_specs(folder: Path) -> dict[str, dict[str, Any]]:
    """The experiment's lever declarations by path (from the manifest; empty if none)."""
    from sim.experiments.store import SweepStore

    manifest = SweepStore(folder).read_manifest() or {}
    levers = manifest.get("config", {}).get("levers") or []
    return {lever["path"]: lever for lever in levers if isinstance(lever, dict) and "path" in lever}


def point_labels(runs: pd.DataFrame, levers: Sequence[str]) -> dict[str, str]:
    """Legend text per design point: its lever values, e.g. ``carbon_tax=100, params=kaplan``."""
    from sim.experiments.design import value_text

    short = {lever: lever.rsplit(".", 1)[-1] for lever in levers}
    if len(set(short.values())) < len(short):
        short = {lever: lever for lever in levers}
    first = runs.drop_duplicates("point").sort_values("point")
    return {
        str(row["point"]): ", ".join(f"{short[lv]}={value_text(row[lv])}" for lv in levers)
        or "base"
        for _, row in first.iterrows()
    }


def _fan_figures(tables: Mapping[str, pd.DataFrame], runs: pd.DataFrame, levers) -> dict:
    """Fan charts of mean loss (labs steps) and emissions (economy steps) per design point."""
    figures = {}
    points = runs["point"].nunique() if "point" in runs else 1
    hue = "point" if 1 < points <= 8 else None
    labels = point_labels(runs, levers) if hue else None
    for name, table, value in (
        ("fan_loss", "labs", "loss"),
        ("fan_emissions", "economy", "emissions_t"),
    ):
        steps = tables.get(table)
        if steps is None or value not in steps:
            continue
        steps = steps.merge(runs[["run_id", "point"]], on="run_id") if hue else steps
        quantity = None
        if value == "emissions_t":  # a flow over each step: shown per year
            steps, value, quantity = _emissions_per_year(steps)
        figures[name] = fan_chart(
            steps, value, hue, table=table, hue_labels=labels, quantity=quantity
        )
    return figures


def _emissions_per_year(steps: pd.DataFrame) -> tuple[pd.DataFrame, str, tuple[str, str]]:
    """Economy steps with emissions per year (from step 1), the column, its text and unit."""
    if "t" not in steps:  # no model time to convert with: say what it is
        return steps, "emissions_t", ("emissions", "tCO2 per step")
    rows = steps[steps["step"] > 0]
    return rows.assign(emissions_per_yr=per_year(rows, "emissions_t")), "emissions_per_yr", (
        "emissions", "tCO2/yr",
    )  # fmt: skip


def _analysed_outputs(folder: Path, runs: pd.DataFrame) -> list[str]:
    """The outputs the experiment analyses (its manifest), present in the runs table."""
    from sim.experiments.store import SweepStore

    manifest = SweepStore(folder).read_manifest() or {}
    wanted = manifest.get("config", {}).get("outputs") or ["mean_final_loss"]
    return [name for name in wanted if name in runs and runs[name].notna().any()]


def relative_targets(folder: Path) -> list[float]:
    """The base scenario's relative-loss targets (from the manifest; defaults otherwise)."""
    from sim.config.scenario import LawConfig
    from sim.experiments.store import SweepStore

    manifest = SweepStore(folder).read_manifest() or {}
    base = manifest.get("config", {}).get("base")
    law = base.get("law", {}) if isinstance(base, dict) else {}
    return list(law.get("relative_targets") or LawConfig().relative_targets)


def _heatmaps(tables, runs: pd.DataFrame, levers, outputs, folder: Path, specs) -> dict:
    """A heatmap per output over the first two levers, plus years to the first target."""
    x, y = levers[0], levers[1]
    figures = {f"heatmap_{output}": heatmap(runs, x, y, output, specs=specs) for output in outputs}
    column = target_column(max(relative_targets(folder)))
    joined = runs if column in runs else _with_time_to_target(runs, tables.get("labs"), column)
    if column in joined and joined[column].notna().any():
        figures[f"heatmap_{column}"] = heatmap(joined, x, y, column, specs=specs)
    return figures


def _with_time_to_target(runs: pd.DataFrame, labs: pd.DataFrame | None, column: str):
    """The runs table joined with years to a target computed from the labs step table."""
    if labs is None or "relative_excess_loss" not in labs:
        return runs
    target = float(column.removeprefix("years_to_R"))
    return runs.merge(time_to_target_by_run(labs, target), on="run_id", how="left")
