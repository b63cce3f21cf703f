"""The dashboard's figures: loss, prices, market shares and the supply network.

Each ``*_figure`` function draws one matplotlib :class:`~matplotlib.figure.Figure`
from a dashboard model (a :class:`sim.economy.model.RaceModel` carrying the
``history`` that :class:`sim.viz.app.DashboardModel` records), in the shared figure
style of :mod:`sim.viz.plots` (colour-blind palette, units on the axes).

It lives apart from :mod:`sim.viz.app` because drawing is one idea, independent of
the levers and of Solara: the figures are plain matplotlib, and :mod:`sim.viz.app`
wraps them in Solara components. This module imports neither.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import networkx as nx
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.economy.model import RaceModel
from sim.viz.plots import (
    NODE_KINDS,
    NODE_TITLES,
    column_label,
    line_handles,
    palette,
    styled,
    with_unit,
)

_FIGURE_DPI = 80

FIGURE_SIZE = (5.2, 3.2)
"""Inches of one dashboard plot (drawn at :data:`_FIGURE_DPI`)."""

_TITLE_FONT, _LABEL_FONT, _TICK_FONT, _LEGEND_FONT = 10, 9, 8, 8
"""Points; at 80 dpi a 6 pt legend was 7 px high, unreadable."""

LOSS_LABEL = column_label("labs", "loss", "loss L(C)")
"""``loss L(C) (nats/token)``: the unit from the output registry, as in ``race run``'s figure."""
YEAR_LABEL = column_label("labs", "year")
SHARE_LABEL = with_unit("market share", "fraction of revenue")
CHIP_INDEX_LABEL = "chip price index (1 = list price)"
ENERGY_PRICE_LABEL = with_unit("energy price incl. carbon tax", "USD/MWh")


def _figure(
    width: float = FIGURE_SIZE[0], height: float = FIGURE_SIZE[1], columns: int = 1
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``columns`` axes side by side (call inside the style)."""
    figure = Figure(figsize=(width, height), layout="constrained", dpi=_FIGURE_DPI)
    return figure, list(figure.subplots(1, columns, squeeze=False)[0])


def _horizon(axis: Axes, model: RaceModel) -> None:
    """The x axis spans the scenario's horizon, so the curves grow from left to right."""
    start = model.scenario.start_year
    axis.set_xlim(start, start + model.scenario.years)
    axis.xaxis.set_major_locator(MaxNLocator(nbins=4))
    axis.tick_params(labelsize=_TICK_FONT)
    axis.set_xlabel(YEAR_LABEL, fontsize=_LABEL_FONT)


def _decorate(axis: Axes, model: RaceModel, ylabel: str, title: str) -> None:
    _horizon(axis, model)
    axis.set_ylabel(ylabel, fontsize=_LABEL_FONT)
    axis.set_title(title, fontsize=_TITLE_FONT)


def _lines(
    axis: Axes, model: RaceModel, series: dict[str, list[float]], title: str, below: bool = False
) -> None:
    """One line per series in the shared palette, with a legend of its names (inside or below)."""
    colours = palette(list(series))
    for name, values in series.items():  # a dot at the latest step: step 0 is drawn too
        axis.plot(model.history.years, values, color=colours[name], linewidth=1.4,
                  marker="o", markersize=5, markevery=[-1], clip_on=False)  # fmt: skip
    place = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.22)} if below else {}
    axis.legend(
        handles=line_handles(colours), title=title, fontsize=_LEGEND_FONT,
        title_fontsize=_LEGEND_FONT, ncol=2, **place,
    )  # fmt: skip


@styled
def loss_figure(model: RaceModel) -> Figure:
    """Loss per lab (nats/token) against calendar year."""
    figure, (axis,) = _figure()
    _lines(axis, model, model.history.loss, "lab")
    _decorate(axis, model, LOSS_LABEL, "Loss per lab")
    return figure


@styled
def prices_figure(model: RaceModel) -> Figure:
    """Chip price index per chip supplier and energy price per energy supplier.

    The legends sit below the two narrow panels, where four suppliers' names fit.
    """
    figure, (chips, energy) = _figure(6.4, 3.6, columns=2)
    _lines(chips, model, model.history.chip_index, "supplier", below=True)
    _decorate(chips, model, CHIP_INDEX_LABEL, "Chip price index")
    _lines(energy, model, model.history.energy_price, "supplier", below=True)
    _decorate(energy, model, ENERGY_PRICE_LABEL, "Energy price")
    return figure


@styled
def shares_figure(model: RaceModel) -> Figure:
    """Market shares of the labs, stacked, in the same lab colours as the loss plot."""
    figure, (axis,) = _figure()
    history = model.history
    colours = palette(list(history.share))
    shares = list(history.share.values())
    axis.stackplot(history.years, *shares, labels=list(history.share),
                   colors=list(colours.values()))  # fmt: skip
    tops = list(itertools.accumulate(values[-1] for values in shares))
    axis.scatter([history.years[-1]] * len(tops), tops, s=22, color=list(colours.values()),
                 clip_on=False, zorder=3)  # fmt: skip  # each band's top now: step 0 is drawn too
    axis.set_ylim(0, 1)
    _decorate(axis, model, SHARE_LABEL, "Market shares")
    # beside the axes: inside, the legend covered the stacked shares, which fill them
    axis.legend(fontsize=_LEGEND_FONT, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


_COLUMN = {"chip_supplier": 0.0, "lab": 1.0, "energy_supplier": 2.0}


def network_positions(graph: nx.DiGraph) -> dict[int, tuple[float, float]]:
    """Three columns: chip suppliers, labs, energy suppliers, each spread top to bottom."""
    positions = {}
    for kind, x in _COLUMN.items():
        nodes = [n for n, data in graph.nodes(data=True) if data["kind"] == kind]
        for i, node in enumerate(nodes):
            positions[node] = (x, 1.0 - (i + 0.5) / len(nodes))
    return positions


def _restricted(edge: dict[str, Any]) -> bool:
    """A banned edge or one under an export-control threshold (dashed, as in ``race run``)."""
    return not edge["allowed"] or math.isfinite(edge.get("max_tpp", math.inf))


def network_handles(colours: dict[str, Any], top: float) -> list[Line2D]:
    """Legend of the network plot: node kinds, trade kinds, restriction, width scale."""
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colours[kind], label=NODE_TITLES[kind])
        for kind in NODE_KINDS
    ]
    return [
        *handles,
        Line2D([], [], color=colours["chip_supplier"], linewidth=3, label="chip trade"),
        Line2D([], [], color=colours["energy_supplier"], linewidth=3, label="energy trade"),
        Line2D([], [], color="0.4", linestyle="--", label="restricted (export control)"),
        Line2D([], [], color="0.4", linewidth=4.3, label=f"width: {top:.3g} USD/step (max)"),
    ]


@styled
def network_figure(model: RaceModel) -> Figure:
    """The supply network; edge width is the last step's trade value, restricted edges dashed."""
    graph = model.network
    figure, (axis,) = _figure(6.2, 3.6)
    positions, colours = network_positions(graph), palette(list(NODE_KINDS))
    values = [data["value"] for _, _, data in graph.edges(data=True)]
    top = max(values, default=0.0) or 1.0
    trade = {"chips": colours["chip_supplier"], "energy": colours["energy_supplier"]}
    for supplier, lab, data in graph.edges(data=True):
        (x0, y0), (x1, y1) = positions[supplier], positions[lab]
        style = "--" if _restricted(data) else "-"
        width = 0.3 + 4.0 * data["value"] / top
        axis.plot([x0, x1], [y0, y1], style, color=trade[data["kind"]], linewidth=width, alpha=0.6)
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        axis.scatter([x], [y], s=60, color=colours[data["kind"]], zorder=3)
        axis.annotate(data["name"], (x, y), fontsize=_LEGEND_FONT, ha="center", va="bottom")
    axis.set_xticks(range(3), [NODE_TITLES[kind] for kind in NODE_KINDS], fontsize=_TICK_FONT)
    axis.set_yticks([])
    axis.set_xlim(-0.4, 2.4)
    axis.grid(False)
    axis.set_title(f"Supply network (width: trade value, step {model.steps})", fontsize=10)
    axis.legend(
        handles=network_handles(colours, max(values, default=0.0)), fontsize=_LEGEND_FONT,
        loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )  # fmt: skip
    return figure
