"""The streaming results store of a sweep: Parquet parts, a manifest, resume.

Layout of ``results/<experiment>/``::

    manifest.json            config, its hash, master seed, versions, git SHA, times, counts
    runs/part-000001.parquet one row per run (levers, seed, status, duration, outputs)
    steps/labs/part-...      step x lab rows of every run (if record_steps)
    steps/economy/part-...   step rows of every run (if record_steps)
    runs.parquet             all runs, sorted by run id, written when a sweep ends

Finished runs are buffered and flushed as a new part every ``flush_every``
runs, each part written atomically, so memory stays flat however many runs
there are, and a sweep killed at any moment leaves only whole files. A flush
writes its step parts first and its runs part last: the runs part is the
commit point. Step parts without the runs part of the same number (a sweep
killed between the two) are ignored when reading and removed on resume, so
their runs execute again. On resume the runs already stored with status
``ok`` are skipped; a run stored more than once (failed, then retried) is read
back as its latest row.

One writer at a time: :meth:`SweepStore.open` takes the folder's writer lock
(:mod:`sim.store_lock`) before it touches anything; :meth:`SweepStore.close`
lets it go.
"""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.io import atomic_write_parquet, atomic_write_text, remove_stale_temporaries
from sim.store_lock import WriterLock

STEP_TABLES = ("labs", "economy")
PACKAGES = ("efficiency-race", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "SALib", "dask")


class StoreMismatch(ValueError):
    """The results folder holds a different experiment than the one being run."""


class SweepStore:
    """Append-only Parquet parts for one experiment's results folder."""

    def __init__(self, folder: Path, flush_every: int = 100):
        self.folder = folder
        self.flush_every = flush_every
        self._runs: list[dict[str, Any]] = []
        self._steps: dict[str, list[pd.DataFrame]] = {name: [] for name in STEP_TABLES}
        self._lock = WriterLock(folder)

    # ------------------------------------------------------------ manifest

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def read_manifest(self) -> dict[str, Any] | None:
        """The stored manifest, or None for a new folder."""
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def open(self, config: dict[str, Any], digest: str, master_seed: int, planned: int) -> None:
        """Take the folder's writer lock, check it belongs to this experiment; record the start.

        The lock comes first: until this process holds it, another sweep may be
        writing here, and its temporary files are not stale. Temporary files
        left by a sweep killed mid-write are then removed. The stored config is
        replaced by this one (they differ at most in fields that do not change
        results, such as the outputs analysed).

        Raises:
            FolderLocked: if another process is writing into the folder.
            StoreMismatch: if the folder holds results of another configuration.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            self._check_and_start(config, digest, master_seed, planned)
        except BaseException:
            self.release()
            raise

    def _check_and_start(
        self, config: dict[str, Any], digest: str, master_seed: int, planned: int
    ) -> None:
        remove_stale_temporaries(self.folder)
        self.remove_uncommitted_parts()
        manifest = self.read_manifest()
        if manifest is not None and manifest.get("config_hash") != digest:
            raise StoreMismatch(
                f"{self.folder} holds results of a different configuration "
                f"(hash {manifest.get('config_hash', '?')[:12]}, this one {digest[:12]}); "
                "choose another --out or remove the folder"
            )
        manifest = manifest or {"started": _now(), "config_hash": digest}
        manifest.update(
            config=config,
            master_seed=master_seed,
            planned_runs=planned,
            versions=package_versions(),
            python=platform.python_version(),
            git_sha=git_sha(),
            last_started=_now(),
            status="running",
        )
        self._write_manifest(manifest)

    def close(self, status: str, counts: dict[str, int]) -> None:
        """Record the end of a sweep (finished, interrupted) with its counts; unlock the folder."""
        try:
            manifest = self.read_manifest() or {}
            manifest.update(status=status, ended=_now(), counts=counts)
            self._write_manifest(manifest)
        finally:
            self.release()

    def release(self) -> None:
        """Let the folder's writer lock go (safe to call twice, or without :meth:`open`)."""
        self._lock.release()

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, default=str) + "\n")

    # ------------------------------------------------------------ writing

    def add(self, row: dict[str, Any], steps: dict[str, pd.DataFrame] | None = None) -> None:
        """Buffer one finished run; flush a part when the buffer is full."""
        self._runs.append(row)
        for name, frame in (steps or {}).items():
            self._steps[name].append(frame)
        if len(self._runs) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered runs as new parts: step rows first, the runs part last.

        The runs part commits the flush: until it exists, its step parts are
        ignored and a resume runs those runs again.
        """
        if not self._runs:
            return
        number = self._next_part_number()
        for name, frames in self._steps.items():
            if frames:
                frame = pd.concat(frames, ignore_index=True)
                atomic_write_parquet(frame, self._part(("steps", name), number))
        atomic_write_parquet(pd.DataFrame(self._runs), self._part(("runs",), number))
        self._runs = []
        self._steps = {name: [] for name in STEP_TABLES}

    def _part(self, parts: tuple[str, ...], number: int) -> Path:
        folder = self.folder.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"part-{number:06d}.parquet"

    def _next_part_number(self) -> int:
        return max(self._committed_numbers(), default=0) + 1

    def remove_uncommitted_parts(self) -> list[Path]:
        """Delete step parts whose flush never wrote its runs part (killed in between).

        Call only when no sweep is writing into the folder (:meth:`open` does).

        Returns:
            The files removed.
        """
        committed = self._committed_numbers()
        removed = []
        for name in STEP_TABLES:
            for part in self._part_files("steps", name):
                if _part_number(part) not in committed:
                    part.unlink(missing_ok=True)
                    removed.append(part)
        return removed

    def _committed_numbers(self) -> set[int]:
        return {_part_number(p) for p in self._part_files("runs")}

    # ------------------------------------------------------------ reading

    def _part_files(self, *parts: str) -> list[Path]:
        return sorted(self.folder.joinpath(*parts).glob("part-*.parquet"))

    def completed_ids(self) -> set[str]:
        """Run ids already stored with status ok."""
        runs = self.read_runs(columns=["run_id", "status"])
        return set(runs.loc[runs["status"] == "ok", "run_id"]) if not runs.empty else set()

    def read_runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Every stored run, latest row per run id, sorted by run id."""
        files = self._part_files("runs")
        if not files:
            return pd.DataFrame(columns=columns or ["run_id"])
        frames = [pd.read_parquet(f, columns=columns) for f in files]
        runs = pd.concat(frames, ignore_index=True)
        runs = runs.drop_duplicates("run_id", keep="last")
        return runs.sort_values("run_id", kind="stable").reset_index(drop=True)

    def read_steps(self, name: str) -> pd.DataFrame:
        """Step rows of one table for the runs whose latest row is ok, sorted.

        Step parts of a flush that never committed (no runs part) are left out.
        """
        committed = self._committed_numbers()
        files = [f for f in self._part_files("steps", name) if _part_number(f) in committed]
        if not files:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        ok = self.completed_ids()
        frame = frame[frame["run_id"].isin(ok)]
        keys = ["run_id", "step"] + (["lab"] if "lab" in frame.columns else [])
        frame = frame.drop_duplicates(keys, keep="last")
        return frame.sort_values(keys, kind="stable").reset_index(drop=True)

    def consolidate(self) -> Path:
        """Write ``runs.parquet``: every run's latest row, sorted by run id."""
        path = self.folder / "runs.parquet"
        atomic_write_parquet(self.read_runs(), path)
        return path


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_sha() -> str | None:
    """The source tree's git commit, if it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None


def _part_number(path: Path) -> int:
    """The number of ``part-000042.parquet``."""
    return int(path.stem.split("-")[1])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
