"""Where outputs may go: always inside the results root, never outside it."""

from __future__ import annotations

from pathlib import Path

DEFAULT_RESULTS = "results"


def output_folder(results_root: str | Path, out: str | None, name: str) -> Path:
    """The folder for a job's outputs: ``<root>/<out or name>``, kept inside ``root``.

    Raises:
        ValueError: if ``out`` (absolute, or with ``..``) would leave the results root.
    """
    root = Path(results_root).resolve()
    target = (root / (out if out else name)).resolve()
    if target != root and root not in target.parents:
        raise ValueError(
            f"--out {out!r} would write outside the results folder {root}; "
            "give a folder name inside it (or move the root with --results)"
        )
    if target == root:
        raise ValueError(f"--out must name a folder inside {root}, not the root itself")
    return target
