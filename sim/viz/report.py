"""``race report``: one self-contained HTML file for a run or a sweep results folder.

The report opens from disk in any browser without a server and without the
network: figures are embedded as base64 PNG (``data:`` URIs), styles are
inline, and nothing refers to an external file, font or URL. Figures are
regenerated from the stored tables (:mod:`sim.viz.plots`), so a report can be made
for any results folder, also one written with ``--no-figures``.

A run report holds the run figures, the run summary and lab summary tables and
the scenario YAML; a sweep report holds the sweep figures, summary statistics
of each analysed output by design point and the manifest; a comparison report
holds the paired differences with their figure, the pairs and the manifest
(both scenarios, seeds, versions).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pandas as pd
import yaml
from matplotlib.figure import Figure

from sim import __version__
from sim.analysis.export import Results, describe_lever, read_results
from sim.config.scenario import parse_scenario
from sim.experiments.dictionary import describe_output
from sim.experiments.io import atomic_write_text
from sim.experiments.paths import output_path
from sim.experiments.staging import record_output
from sim.viz.plots import (
    compare_figure,
    law_constants,
    ok_runs,
    run_figures,
    style_rc,
    sweep_figures,
)

REPORT_NAME = "report.html"
EMBED_DPI = 110
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .85em; color: #555; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .8em; }
.note { color: #555; font-size: .9em; }
"""


# ------------------------------------------------------------------ entry points


def write_report(results_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a results folder atomically; return its path.

    Args:
        results_dir: a ``race run``, ``race sweep`` or ``race compare`` results folder.
        out: the HTML file, relative to the results root (``RESULTS_DIR``'s parent,
            as for ``race export``) and inside it; ``RESULTS_DIR/report.html`` by default.

    Raises:
        ValueError: missing folder, not a results folder, unreadable tables,
            an output path outside the results root or whose folder does not exist.
    """
    folder = Path(results_dir).resolve()
    if is_compare_folder(folder):
        document = compare_report(folder)
    else:
        results = read_results(folder)
        folder, document = results.folder, build_report(results)
    target = report_path(folder, out)
    atomic_write_text(target, document)
    if target.parent == folder:  # the next race run/compare here removes this stale report
        record_output(target)
    return target


def report_path(folder: Path, out: str | Path | None) -> Path:
    """Where the report of ``folder`` goes: inside the results root (``folder``'s parent).

    Raises:
        ValueError: if ``out`` leaves the root, is a folder or its folder does not exist.
    """
    if out is None:
        return folder / REPORT_NAME
    try:
        target = output_path(folder.parent, str(out), REPORT_NAME)
    except ValueError:
        raise ValueError(
            f"--out {str(out)!r} must name a file inside the results root {folder.parent} "
            "(RESULTS_DIR's parent), not the root itself nor anything outside it"
        ) from None
    if target.is_dir():
        raise ValueError(f"--out {target} is a folder; give an HTML file name")
    if not target.parent.is_dir():
        raise ValueError(f"folder {target.parent} of --out does not exist")
    return target


def build_report(results: Results) -> str:
    """The report of already-read results as one HTML document."""
    sections = run_sections(results) if results.kind == "run" else sweep_sections(results)
    title = f"race {results.kind}: {results.folder.name}"
    return page(title, sections)


# ------------------------------------------------------------------ HTML pieces


def page(title: str, sections: Iterable[str]) -> str:
    """A complete HTML5 document with inline styles."""
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<p class="note">Written by race report (efficiency-race {__version__}). '
        "Self-contained: figures are embedded, nothing is loaded from elsewhere.</p>\n"
        f"{body}\n</body>\n</html>\n"
    )


def section(heading: str, *parts: str) -> str:
    """A ``<section>`` with a heading and already-rendered parts."""
    return f"<section>\n<h2>{html.escape(heading)}</h2>\n" + "\n".join(parts) + "\n</section>"


def paragraph(text: str) -> str:
    """An escaped note paragraph."""
    return f'<p class="note">{html.escape(text)}</p>'


def preformatted(text: str) -> str:
    """Escaped preformatted text (YAML, JSON)."""
    return f"<pre>{html.escape(text)}</pre>"


def image(figure: Figure, caption: str) -> str:
    """A figure embedded as a base64 PNG ``data:`` URI, with a caption."""
    buffer = io.BytesIO()
    with mpl.rc_context(style_rc()):
        figure.savefig(buffer, format="png", dpi=EMBED_DPI, bbox_inches="tight",
                       metadata={"Software": None})  # fmt: skip
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = html.escape(caption)
    return (
        f'<figure><img alt="{text}" src="data:image/png;base64,{data}">'
        f"<figcaption>{text}</figcaption></figure>"
    )


def figures_html(figures: Mapping[str, Figure]) -> str:
    """Every figure embedded, captioned with its name."""
    if not figures:
        return paragraph("No figure applies to these results.")
    return "\n".join(image(figure, name.replace("_", " ")) for name, figure in figures.items())


def number(value: Any) -> str:
    """A cell's text: 4 significant digits for floats, ``n/a`` for NaN."""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def table_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table, numbers to 4 significant digits."""
    cells = frame.apply(lambda column: column.map(number))
    return cells.to_html(index=False, border=0, escape=True)


def unit_of(table: str, column: str) -> str:
    """The registered unit of an output column (empty if unknown)."""
    entry = describe_output(table, column)
    return entry[0] if entry else ""


# ------------------------------------------------------------------ a run


def run_sections(results: Results) -> list[str]:
    """Summary, lab summary, figures and scenario of a ``race run`` folder."""
    tables = results.tables
    scenario_text, constants = scenario_of(results.folder)
    kappa, floor = constants if constants else (None, 0.0)
    lab_summary = tables.get("lab_summary")
    figures = run_figures(tables, lab_summary, kappa, floor)
    sections = []
    if "summary" in tables:
        sections.append(
            section("Run summary", table_html(transposed(tables["summary"], "summary")))
        )
    if lab_summary is not None:
        frame = transposed(lab_summary, "lab_summary", "lab")
        sections.append(section("Lab summary", table_html(frame)))
    note = "" if constants else paragraph("No valid scenario.yaml: loss drawn without closed form.")
    sections.append(section("Figures", note, figures_html(figures)))
    if scenario_text is not None:
        sections.append(section("Scenario (scenario.yaml)", preformatted(scenario_text)))
    return sections


def scenario_of(folder: Path) -> tuple[str | None, tuple[float, float] | None]:
    """The scenario YAML text and the law's ``(kappa, E)``; None for what is missing or invalid."""
    path = folder / "scenario.yaml"
    if not path.is_file():
        return None, None
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return text, law_constants(parse_scenario(yaml.safe_load(text), str(path)))
    except (ValueError, yaml.YAMLError):
        return text, None


def transposed(frame: pd.DataFrame, table: str, key: str | None = None) -> pd.DataFrame:
    """One row per column of ``frame`` (with its unit), one column per row of it.

    Args:
        frame: a summary table (one row per run, or per lab).
        table: its output table name, for units.
        key: the column naming each row (e.g. ``lab``); rows are numbered otherwise.
    """
    columns = [c for c in frame.columns if c != key]
    if key:
        heads = frame[key].astype(str).tolist()
    else:
        heads = ["value"] if len(frame) == 1 else [str(i) for i in range(len(frame))]
    out = pd.DataFrame({"quantity": columns, "unit": [unit_of(table, c) for c in columns]})
    for i, head in enumerate(heads):
        out[head] = frame[columns].iloc[i].tolist()
    return out


# ------------------------------------------------------------------ a sweep


def sweep_sections(results: Results) -> list[str]:
    """Design-point statistics, figures and manifest of a ``race sweep`` folder."""
    runs = results.tables["runs"]
    manifest = read_manifest(results.folder)
    outputs = analysed_outputs(manifest, runs)
    counts = paragraph(
        f"{len(runs)} runs stored, {len(ok_runs(runs))} ok; levers: "
        + (", ".join(lever_text(lever) for lever in results.levers) or "none")
    )
    stats = point_statistics(runs, results.levers, outputs)
    sections = [
        section("Runs by design point", counts, table_html(stats)),
        section("Figures", figures_html(sweep_figures(results.folder))),
    ]
    if manifest:
        sections.append(section("Manifest", preformatted(json.dumps(manifest, indent=2))))
    return sections


def read_manifest(folder: Path, name: str = "manifest.json") -> dict[str, Any]:
    """A folder's JSON manifest, or an empty dict if it is missing or unreadable."""
    path = folder / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def analysed_outputs(manifest: Mapping[str, Any], runs: pd.DataFrame) -> list[str]:
    """The experiment's analysed outputs that the runs table holds."""
    wanted = manifest.get("config", {}).get("outputs") or ["mean_final_loss"]
    return [name for name in wanted if name in runs]


def lever_text(lever: str) -> str:
    """A lever with its unit, e.g. ``policy.carbon_tax [USD/tCO2]``."""
    entry = describe_lever(lever)
    unit = entry[0] if entry else ""
    return f"{lever} [{unit}]" if unit and unit != "-" else lever


def point_statistics(runs: pd.DataFrame, levers: list[str], outputs: list[str]) -> pd.DataFrame:
    """Per design point: its lever values, runs ok and failed, mean and sd of each output."""
    keys = ["point", *levers] if "point" in runs else levers
    if not keys:
        keys = ["status"]
    frame = runs.assign(ok=runs["status"] == "ok") if "status" in runs else runs.assign(ok=True)
    grouped = frame.groupby(keys, sort=True, dropna=False)
    stats = grouped.agg(runs_ok=("ok", "sum"), runs_failed=("ok", lambda s: int((~s).sum())))
    good = frame[frame["ok"]].groupby(keys, sort=True, dropna=False)
    for output in outputs:
        unit = unit_of("runs", output)
        suffix = f" [{unit}]" if unit and unit != "-" else ""
        stats[f"{output} mean{suffix}"] = good[output].mean()
        stats[f"{output} sd"] = good[output].std()
    return stats.reset_index()


# ------------------------------------------------------------------ a comparison

COMPARE_FILES = ("compare.csv", "pairs.csv")


def is_compare_folder(folder: Path) -> bool:
    """Whether ``folder`` holds the output of ``race compare``."""
    return all((folder / name).is_file() for name in COMPARE_FILES)


T_INTERVALS = "95% t confidence intervals of the mean difference"


def compare_report(folder: Path) -> str:
    """The report of a ``race compare`` folder: differences, figure, pairs, manifest."""
    from sim.analysis.whatif import interval_note

    try:
        table = pd.read_csv(folder / "compare.csv")
        pairs = pd.read_csv(folder / "pairs.csv")
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the tables of {folder}: {error}") from None
    manifest = read_manifest(folder, "compare.json")
    base, alt = manifest.get("base", "base"), manifest.get("alt", "alt")
    seeds = f"{len(pairs)} paired replicates, replicate r of both with the same seed"
    sections = [
        section(
            f"Paired differences: {alt} - {base}",
            paragraph(f"{seeds}; {interval_note(table) or T_INTERVALS}."),
            table_html(table),
            image(compare_figure(table, base, alt), "paired differences in % of the base mean"),
        ),
        section("Pairs (one row per replicate)", table_html(pairs)),
    ]
    if manifest:
        sections.append(section("Manifest", preformatted(json.dumps(manifest, indent=2))))
    return page(f"race compare: {folder.name}", sections)
