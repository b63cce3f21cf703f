"""Where outputs may go: always inside the results root, never outside it, never through a link.

The results root itself may be a symbolic link (a root on another disk), but
no link *inside* it is ever followed to write or delete: a link to a folder
elsewhere would let a sweep write a part, or a resume delete a file, outside
the root. :func:`output_path` refuses a target reached through a link, and
:func:`refuse_links_in_tree` checks a whole results folder before a writer
cleans it up.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RESULTS = "results"


class LinkInResults(ValueError):
    """A symbolic link inside the results root, where outputs are written (exit code 2)."""

    def __init__(self, link: Path):
        super().__init__(
            f"{link} is a symbolic link inside the results folder; race never writes or "
            "deletes through links there: remove the link or choose another --out"
        )


def output_path(results_root: str | Path, out: str | None, name: str) -> Path:
    """The path ``<root>/<out or name>`` (a file or a folder), kept inside ``root``.

    The path is normalised without following links (``a/../b`` is ``b``), and
    no existing part of it below the root may be a symbolic link.

    Raises:
        ValueError: if ``out`` (absolute, or with ``..``) would leave the results root.
        LinkInResults: if a part of the path below the root is a symbolic link.
    """
    root = Path(results_root).resolve()
    target = Path(os.path.normpath(root / (out if out else name)))
    if target != root and root not in target.parents:
        raise ValueError(
            f"--out {out!r} would write outside the results folder {root}; "
            "give a folder name inside it (or move the root with --results)"
        )
    if target == root:
        raise ValueError(f"--out must name a folder inside {root}, not the root itself")
    refuse_links_below(root, target)
    return target


def output_folder(results_root: str | Path, out: str | None, name: str) -> Path:
    """The folder for a job's outputs: ``<root>/<out or name>``, kept inside ``root``.

    Raises:
        ValueError: if ``out`` would leave the results root, or if the folder or
            one of its parents (the root included) exists as a file.
        LinkInResults: if a part of the folder's path below the root is a link.
    """
    target = output_path(results_root, out, name)
    refuse_files(target, Path(results_root).resolve())
    return target


def refuse_links_below(root: Path, target: Path) -> None:
    """Check that no existing part of ``target`` below ``root`` is a symbolic link.

    Raises:
        LinkInResults: naming the first link, from ``target`` up.
    """
    for path in (target, *target.parents):
        if path == root:
            return
        if path.is_symlink():
            raise LinkInResults(path)


def refuse_links_in_tree(folder: Path) -> None:
    """Check that nothing inside ``folder`` (at any depth) is a symbolic link.

    Raises:
        LinkInResults: naming the first link found.
    """
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for entry in sorted(dirs + files):
            path = Path(parent, entry)
            if path.is_symlink():
                raise LinkInResults(path)


def real_folder(folder: Path, *parts: str) -> Path:
    """``folder/part/...``, created as needed, checked to be real folders (no link).

    Raises:
        LinkInResults: if one of the parts is a symbolic link.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise LinkInResults(path)
        path.mkdir(exist_ok=True)
    return path


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
