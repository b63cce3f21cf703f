"""Replace a command's outputs in a folder as a whole: never a mix of two invocations.

``race run`` and ``race compare`` write every file of an invocation into a fresh
hidden sibling folder (``.<name>.<random>.staging``) and only then make it the
output folder. A folder that holds nothing but files ``race`` wrote is swapped
for the staging folder in one atomic rename (``renameat2(RENAME_EXCHANGE)`` on
Linux, two renames elsewhere); a folder that also holds other files (the user's
``--out`` may) keeps them: only the files ``race`` wrote there before are
removed, then the new ones are moved in. A failure before the end (an error,
Ctrl-C) leaves the folder exactly as it was.

Which files ``race`` wrote is recorded in the folder's :data:`OWNED_MANIFEST`
(JSON: the command and the file names); ``race report`` adds its report to it,
so a later run also removes the report of the earlier one. Folders written
before the manifest existed are recognised by the names the command writes.
Symbolic links are never followed, and never removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from sim.experiments.io import TEMP_SUFFIX, atomic_write_text

OWNED_MANIFEST = ".race-outputs.json"
"""The file, in an output folder, that lists the files ``race`` wrote there."""
STAGING_SUFFIX = ".staging"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextlib.contextmanager
def replace_outputs(folder: Path, command: str, known: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty staging folder; on success its files become ``folder``'s outputs.

    Args:
        folder: the output folder (created if missing, with its parents).
        command: who writes, recorded in the manifest (e.g. ``"race run"``).
        known: file names the command may write (figures it skipped this time,
            the report): removed as stale in folders without a manifest.

    Raises:
        OSError: if the staging folder cannot be made or the outputs not moved
            (the staging folder is removed; ``folder`` is left as it was).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}{STAGING_SUFFIX}")
    staging.mkdir()  # mode 0o777 minus the umask, like any folder the user makes
    try:
        yield staging
        _commit(staging, folder, command, set(known))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def owned_files(folder: Path, known: Iterable[str] = ()) -> set[str]:
    """Names of the files in ``folder`` that ``race`` wrote: its manifest's, plus ``known``.

    Only plain names are returned (a manifest entry with a path separator is
    ignored), so nothing outside ``folder`` can be named.
    """
    names = set(known)
    try:
        listed = json.loads((folder / OWNED_MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        listed = []
    if isinstance(listed, list):
        names.update(n for n in listed if isinstance(n, str) and _plain(n))
    return names


def record_output(path: Path) -> None:
    """Add ``path`` (a file ``race`` just wrote) to its folder's manifest.

    ``race report`` calls this for a report written into the results folder, so
    that the next ``race run`` or ``race compare`` there removes the old report.
    """
    folder = path.parent
    try:
        manifest = json.loads((folder / OWNED_MANIFEST).read_text(encoding="utf-8"))
        files = [n for n in manifest["files"] if isinstance(n, str) and _plain(n)]
        command = str(manifest.get("command", "race"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        files, command = [], "race"
    if path.name not in files:
        _write_manifest(folder, command, [*files, path.name])


def _plain(name: str) -> bool:
    return name not in ("", ".", "..") and "/" not in name and os.sep not in name


def _write_manifest(folder: Path, command: str, files: Iterable[str]) -> None:
    listing = {"command": command, "files": sorted(set(files) - {OWNED_MANIFEST})}
    atomic_write_text(folder / OWNED_MANIFEST, json.dumps(listing, indent=2) + "\n")


def _commit(staging: Path, folder: Path, command: str, known: set[str]) -> None:
    """Make the staged files ``folder``'s outputs (see the module docstring)."""
    new = {entry.name for entry in os.scandir(staging)}
    _write_manifest(staging, command, new)
    if not os.path.lexists(folder):
        os.rename(staging, folder)
        return
    previous = owned_files(folder, known)
    if _only_owned(folder, previous):
        _swap(staging, folder)
    else:
        _merge(staging, folder, command, new, previous)


def _only_owned(folder: Path, owned: set[str]) -> bool:
    """Whether ``folder`` is a real folder holding only regular files ``race`` wrote."""
    if not stat.S_ISDIR(os.lstat(folder).st_mode):
        return False
    for entry in os.scandir(folder):
        stale_temporary = entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)
        ours = entry.name in owned or entry.name == OWNED_MANIFEST or stale_temporary
        if not (ours and entry.is_file(follow_symlinks=False)):
            return False
    return True


def _swap(staging: Path, folder: Path) -> None:
    """Exchange ``staging`` and ``folder``; the old outputs end in ``staging`` (removed later)."""
    if _exchange(staging, folder):
        return
    old = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.old")
    os.rename(folder, old)
    try:
        os.rename(staging, folder)
    except OSError:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux's ``renameat2``; False where unavailable."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0  # e.g. EINVAL on a file system without exchange: fall back


def _merge(staging: Path, folder: Path, command: str, new: set[str], previous: set[str]) -> None:
    """Remove the files ``race`` wrote in ``folder`` before, then move the new ones in.

    The manifest first lists both sets, so an interruption half-way still leaves
    every ``race`` file listed for the next invocation to clear.
    """
    present = {name for name in previous if _is_regular_file(folder / name)}
    _write_manifest(folder, command, present | new)
    for name in present - new:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    for name in sorted(new - {OWNED_MANIFEST}):
        os.replace(staging / name, folder / name)
    os.replace(staging / OWNED_MANIFEST, folder / OWNED_MANIFEST)


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
