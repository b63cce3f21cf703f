"""The hindcast figure: the model's largest training run by year beside the published ones."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.hindcast import PUBLISHED_RUNS
from sim.viz.plots import new_figure, styled


@styled
def hindcast_figure(table: pd.DataFrame, unit: str = "training FLOP") -> Figure:
    """Median and 5-95% band over seeds of the largest finished run, log axis, with the record.

    Each model point sits at the end of its year (the largest run finished
    by then); published runs at their release dates, filled if calibration
    data (through 2022), hollow if out of sample.
    """
    figure = new_figure()
    axes = figure.axes[0]
    end = table["year"] + 1
    shown = table["frontier_run_flop"] > 0
    axes.fill_between(
        end[shown], table["frontier_run_flop_p05"][shown].clip(lower=1e-300),
        table["frontier_run_flop_p95"][shown], alpha=0.25, label="model, 5-95% of seeds",
    )  # fmt: skip
    axes.plot(end[shown], table["frontier_run_flop"][shown], marker="o", label="model, median")
    for in_sample, style in ((True, {}), (False, {"facecolors": "none"})):
        runs = [run for run in PUBLISHED_RUNS if run.in_sample == in_sample]
        axes.scatter(
            [run.year for run in runs], [run.flop for run in runs], color="black", zorder=3,
            label="published, " + ("calibration (2020-22)" if in_sample else "out of sample"),
            **style,
        )  # fmt: skip
        for run in runs:
            axes.annotate(run.name, (run.year, run.flop), fontsize="x-small",
                          xytext=(3, -9), textcoords="offset points")  # fmt: skip
    axes.set_yscale("log")
    axes.set_xlabel("year")
    axes.set_ylabel(f"largest run finished ({unit}, log scale)")
    axes.set_title("Hindcast: the largest training run, model against the record")
    axes.legend(fontsize="small")
    return figure
