"""Where outputs may go: always inside the results root, never outside it."""

from __future__ import annotations

from pathlib import Path

DEFAULT_RESULTS = "results"


def output_path(results_root: str | Path, out: str | None, name: str) -> Path:
    """The path ``<root>/<out or name>`` (a file or a folder), kept inside ``root``.

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


def output_folder(results_root: str | Path, out: str | None, name: str) -> Path:
    """The folder for a job's outputs: ``<root>/<out or name>``, kept inside ``root``.

    Raises:
        ValueError: if ``out`` would leave the results root, or if the folder or
            one of its parents (the root included) exists as a file.
    """
    target = output_path(results_root, out, name)
    refuse_files(target, Path(results_root).resolve())
    return target


def refuse_files(target: Path, root: Path) -> None:
    """Check that neither ``target`` nor a parent up to ``root`` (included) is a file.

    Raises:
        ValueError: naming ``--results`` or ``--out`` and the file in the way.
    """
    for path in (target, *target.parents):
        if path.exists() and not path.is_dir():
            option = "--results" if path == root or path in root.parents else "--out"
            raise ValueError(
                f"{option}: {path} is an existing file, not a folder; "
                "choose another name or move the file away"
            )
        if path == root:
            return
