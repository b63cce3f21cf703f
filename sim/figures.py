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


def chip_market_figure(markets: pd.DataFrame):
    """Chip price index and shortage per supplier."""
    chips = _kind(markets, "chips")
    sns.set_theme(style="whitegrid", palette=PALETTE)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True)
    sns.lineplot(data=chips, x="year", y="price_index", hue="market", ax=top)
    top.set_ylabel("price index (1 = list price)")
    top.set_title("Chip market")
    sns.lineplot(data=chips, x="year", y="shortage", hue="market", ax=bottom, legend=False)
    bottom.set_ylabel("unfilled orders (GPUs per step)")
    bottom.set_xlabel("year")
    return figure


def energy_figure(markets: pd.DataFrame):
    """Energy price, delivered energy and emissions per supplier."""
    energy = _kind(markets, "energy")
    sns.set_theme(style="whitegrid", palette=PALETTE)
    figure, (price, use) = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True)
    sns.lineplot(data=energy, x="year", y="price", hue="market", ax=price)
    price.set_ylabel("energy price (USD/MWh)")
    price.set_title("Energy market")
    sns.lineplot(data=energy, x="year", y="emissions_t", hue="market", ax=use, legend=False)
    use.set_ylabel("emissions (tCO2 per step)")
    use.set_xlabel("year")
    return figure


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
