"""Figures of one run: loss, market shares, chip market, energy and emissions.

One consistent style (seaborn "colorblind" palette, labelled axes with units),
PNG output, written atomically. Matplotlib runs on the Agg backend: no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from sim.io import atomic_save_figure  # noqa: E402

if TYPE_CHECKING:
    from sim.runs import RunResult

PALETTE = "colorblind"


def _axes(title: str, ylabel: str, xlabel: str = "year"):
    sns.set_theme(style="whitegrid", palette=PALETTE)
    figure, axes = plt.subplots(figsize=(8, 4.8))
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    return figure, axes


def loss_figure(labs: pd.DataFrame):
    """Loss per lab over time."""
    figure, axes = _axes("Loss along the shared law", "loss L(C) (nats/token)")
    sns.lineplot(data=labs, x="year", y="loss", hue="lab", ax=axes)
    axes.legend(title="lab", fontsize="small", ncol=2)
    return figure


def share_figure(labs: pd.DataFrame):
    """Market share per lab over time."""
    figure, axes = _axes("AI-services market share", "market share (fraction)")
    sns.lineplot(data=labs[labs["step"] > 0], x="year", y="market_share", hue="lab", ax=axes)
    axes.legend(title="lab", fontsize="small", ncol=2)
    return figure


def _kind(markets: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rows of one market kind after step 0, with unused categories dropped from legends."""
    rows = markets[(markets["kind"] == kind) & (markets["step"] > 0)].copy()
    for column in rows.select_dtypes("category"):
        rows[column] = rows[column].cat.remove_unused_categories()
    return rows


def _market_panels(rows: pd.DataFrame, title: str, top: tuple[str, str], bottom: tuple[str, str]):
    """Two stacked panels per supplier over time: ``(column, y label)`` for each."""
    sns.set_theme(style="whitegrid", palette=PALETTE)
    figure, (upper, lower) = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True)
    sns.lineplot(data=rows, x="year", y=top[0], hue="market", ax=upper)
    upper.set_ylabel(top[1])
    upper.set_title(title)
    sns.lineplot(data=rows, x="year", y=bottom[0], hue="market", ax=lower, legend=False)
    lower.set_ylabel(bottom[1])
    lower.set_xlabel("year")
    return figure


def chip_market_figure(markets: pd.DataFrame):
    """Chip price index and shortage per supplier."""
    return _market_panels(
        _kind(markets, "chips"),
        "Chip market",
        ("price_index", "price index (1 = list price)"),
        ("shortage", "unfilled orders (GPUs per step)"),
    )


def energy_figure(markets: pd.DataFrame):
    """Energy price and emissions per supplier."""
    return _market_panels(
        _kind(markets, "energy"),
        "Energy market",
        ("price", "energy price (USD/MWh)"),
        ("emissions_t", "emissions (tCO2 per step)"),
    )


def compute_figure(labs: pd.DataFrame):
    """Cumulative logical compute per lab (log scale)."""
    figure, axes = _axes("Cumulative logical compute", "compute (FLOP, log scale)")
    sns.lineplot(data=labs, x="year", y="compute", hue="lab", ax=axes)
    axes.set_yscale("log")
    axes.legend(title="lab", fontsize="small", ncol=2)
    return figure


RUN_FIGURES = {
    "loss": (loss_figure, "labs"),
    "market_share": (share_figure, "labs"),
    "compute": (compute_figure, "labs"),
    "chip_market": (chip_market_figure, "markets"),
    "energy": (energy_figure, "markets"),
}


def write_run_figures(result: RunResult, out_dir: Path) -> list[Path]:
    """Draw every run figure into ``out_dir`` as PNG; return the paths."""
    written = []
    for name, (draw, table) in RUN_FIGURES.items():
        figure = draw(result.tables[table])
        path = out_dir / f"{name}.png"
        atomic_save_figure(figure, path)
        plt.close(figure)
        written.append(path)
    return written
