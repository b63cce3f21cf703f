"""Detect a damaged results store on resume: checksums of the manifest and of every part.

A part or manifest changed on disk (a bad sector, a truncated copy, an edit
by hand) would otherwise be read back as data, or make a resume fail deep in
pyarrow. So:

- the manifest carries ``checksum``, the SHA-256 of its own canonical JSON
  (without that field), checked whenever it is read;
- the manifest records ``parts``: the SHA-256 of every committed part at the
  start and end of each session; on resume each recorded part must still
  have it;
- parts written after the last record (a sweep killed with ``kill -9``) are
  read in full with Parquet's page checksums verified (the store writes them,
  CRC-32 per page), and a step part whose runs part exists must exist too.

Each problem is a :class:`StoreDamaged` (exit code 2) naming the file and
how to recover: removing a runs part makes its step parts uncommitted, so a
rerun redoes exactly its runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CHECKSUM_KEY = "checksum"


class StoreDamaged(ValueError):
    """A file of the results store is not what the store wrote (a user-facing error, exit 2)."""


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON, its own ``checksum`` field left out."""
    body = {key: value for key, value in manifest.items() if key != CHECKSUM_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_manifest(path: Path, text: str) -> dict[str, Any]:
    """The manifest in ``text``, checked against its checksum (manifests without one pass).

    Raises:
        StoreDamaged: if it is not a JSON object or its checksum differs.
    """
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise _manifest_damaged(path, f"not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise _manifest_damaged(path, "not a JSON object")
    recorded = manifest.get(CHECKSUM_KEY)
    if recorded is not None and recorded != manifest_checksum(manifest):
        raise _manifest_damaged(path, "its checksum differs from its content")
    return manifest


def _manifest_damaged(path: Path, reason: str) -> StoreDamaged:
    return StoreDamaged(
        f"{path} is damaged ({reason}); remove it and rerun the same command: every "
        "stored run carries its identity and config, so no run is lost"
    )


def verify_parts(
    folder: Path, committed: dict[int, list[Path]], recorded: dict[str, str]
) -> dict[str, str]:
    """Check every committed part; return the checksum of each, by path relative to ``folder``.

    Args:
        folder: the results folder.
        committed: part number -> its files (the runs part first, then step parts).
        recorded: path -> SHA-256 from the manifest (parts written since are read in full).

    Raises:
        StoreDamaged: naming the first damaged or missing part and the runs part to remove.
    """
    checksums = {}
    for _, files in sorted(committed.items()):
        runs_part = files[0]
        for path in files:
            key = path.relative_to(folder).as_posix()
            if not path.exists():
                raise _part_damaged(folder, key, "missing, though its runs are stored", runs_part)
            actual = file_sha256(path)
            if key in recorded and recorded[key] != actual:
                reason = "its SHA-256 differs from the manifest's"
                raise _part_damaged(folder, key, reason, runs_part)
            if key not in recorded:
                problem = parquet_problem(path)
                if problem:
                    raise _part_damaged(folder, key, problem, runs_part)
            checksums[key] = actual
    return checksums


def parquet_problem(path: Path) -> str | None:
    """Why a Parquet file cannot be read back whole, pages' checksums verified (None: it can)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pq.read_table(path, page_checksum_verification=True)
    except (OSError, pa.ArrowException) as error:
        return f"unreadable: {error}"
    return None


def _part_damaged(folder: Path, key: str, reason: str, runs_part: Path) -> StoreDamaged:
    return StoreDamaged(
        f"{folder / key} is damaged ({reason}); remove {runs_part} and rerun the same "
        "command: its runs are run again"
    )
