"""The streaming results store of a sweep: Parquet parts, a manifest, resume.

Layout of ``results/<experiment>/``::

    manifest.json            config, its hash, master seed, versions, git SHA, times, counts
    runs/part-000001.parquet one row per run (levers, seed, status, duration, outputs)
    steps/labs/part-...      step x lab rows of every run (if record_steps)
    steps/economy/part-...   step rows of every run (if record_steps)
    runs.parquet             all runs, sorted by run id, written when a sweep ends
    points.parquet, .csv     one row per design point: levers, mean outputs (sim.experiments.points)

Finished runs are buffered and flushed as a new part every ``flush_every``
runs, or as soon as their buffered step rows take ``flush_bytes`` of memory
(a few runs of a large weekly economy already do), each part written
atomically, so memory stays flat however many runs there are and however
big they are, and a sweep killed at any moment leaves only whole files. A flush
writes its step parts first and its runs part last: the runs part is the
commit point. Step parts without the runs part of the same number (a sweep
killed between the two) are ignored when reading and removed on resume, so
their runs execute again. On resume the runs already stored with status
``ok`` are skipped; a run stored more than once (failed, then retried) is read
back as its latest row.

One writer at a time: :meth:`SweepStore.open` takes the folder's writer lock
(:mod:`sim.experiments.store_lock`) before it touches anything, and refuses a folder with
a symbolic link inside (:mod:`sim.experiments.paths`). Every run row carries its identity
(:mod:`sim.experiments.identity`), and every runs part the experiment config that wrote
it (Parquet metadata ``race.experiment``), so a resume can tell which stored
runs are the runs it would execute (:mod:`sim.experiments.reuse`). The manifest and every
part are checked against checksums on open (:mod:`sim.experiments.store_checks`), and a
write that fails (a full disk) is one :class:`StoreWriteFailed` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.experiments.dictionary import column_entries
from sim.experiments.identity import engine_version
from sim.experiments.io import (
    atomic_write_csv,
    atomic_write_parquet,
    atomic_write_text,
    parquet_metadata,
    remove_stale_temporaries,
)
from sim.experiments.paths import real_folder, refuse_links_in_tree
from sim.experiments.points import points_table
from sim.experiments.store_checks import (
    CHECKSUM_KEY,
    file_sha256,
    manifest_checksum,
    parse_manifest,
    verify_parts,
)
from sim.experiments.store_lock import WriterLock

STEP_TABLES = ("labs", "economy")
CONFIG_KEY = "race.experiment"  # Parquet metadata key of a runs part: the config that wrote it
IDENTITY_COLUMNS = ("scenario_hash", "engine_version")
FLUSH_BYTES = 64 * 2**20
"""Buffered step rows that trigger a flush: with the copies a flush makes (concatenation,
Arrow table) the parent's peak stays a few times this, well under 1 GB."""
PACKAGES = ("efficiency-race", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "SALib", "dask")


class StoreMismatch(ValueError):
    """The results folder holds a different experiment than the one being run."""


class StoreWriteFailed(ValueError):
    """A store file could not be written (a full disk): one line naming it, exit code 2."""

    def __init__(self, error: OSError):
        reason = (error.strerror or str(error)).lower()
        super().__init__(
            f"cannot write {error.filename or 'a file of the store'}: {reason}; the runs stored "
            "before are intact: free space (or fix the folder) and rerun the same command"
        )


@contextlib.contextmanager
def _naming_write_errors() -> Iterator[None]:
    """Turn an OSError while writing the store into :class:`StoreWriteFailed`."""
    try:
        yield
    except OSError as error:
        raise StoreWriteFailed(error) from error


class SweepStore:
    """Append-only Parquet parts for one experiment's results folder."""

    def __init__(self, folder: Path, flush_every: int = 100, flush_bytes: int = FLUSH_BYTES):
        self.folder = folder
        self.flush_every = flush_every
        self.flush_bytes = flush_bytes
        self._buffered_bytes = 0
        self._runs: list[dict[str, Any]] = []
        self._steps: dict[str, list[pd.DataFrame]] = {name: [] for name in STEP_TABLES}
        self._lock = WriterLock(folder)
        self._config: dict[str, Any] | None = None
        self._session: dict[str, Any] | None = None
        self._checksums: dict[str, str] = {}

    # ------------------------------------------------------------ manifest

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def read_manifest(self) -> dict[str, Any] | None:
        """The stored manifest, or None for a new folder.

        Raises:
            StoreDamaged: if it is not valid JSON or its checksum differs.
        """
        if not self.manifest_path.exists():
            return None
        return parse_manifest(self.manifest_path, self.manifest_path.read_text(encoding="utf-8"))

    def open(self, config: dict[str, Any], digest: str, master_seed: int, planned: int) -> None:
        """Take the folder for this process and clean up after a killed writer.

        In order: create the folder, take its writer lock, refuse any symbolic
        link inside it, remove temporary files and uncommitted step parts left
        by a sweep killed mid-write, then check the manifest and every committed
        part against their checksums (:mod:`sim.experiments.store_checks`). The
        manifest is written by
        :meth:`start`, once the stored runs are known to belong to this
        experiment (:func:`sim.experiments.reuse.reusable_runs`).

        Raises:
            FolderLocked: if another process is writing into the folder.
            LinkInResults: if the folder holds a symbolic link.
            StoreDamaged: naming the manifest or part that is not what was written.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            refuse_links_in_tree(self.folder)
            remove_stale_temporaries(self.folder)
            self.remove_uncommitted_parts()
            recorded = (self.read_manifest() or {}).get("parts", {})
            self._checksums = verify_parts(self.folder, self._committed_files(recorded), recorded)
        except BaseException:
            self.release()
            raise
        self._config = config
        self._session = {"config_hash": digest, "master_seed": master_seed,
                         "planned_runs": planned}  # fmt: skip

    @property
    def config(self) -> dict[str, Any] | None:
        """The experiment config given to :meth:`open` (None if not opened)."""
        return self._config

    def start(self) -> None:
        """Record the start of a sweep in the manifest (nothing if :meth:`open` was not called).

        The config, its hash and the versions describe this session; every
        session's start, git SHA, versions and engine are kept in ``sessions``,
        so a resume on other code does not erase where earlier runs came from.
        """
        if self._session is None:
            return
        manifest = self.read_manifest() or {"started": _now()}
        session = {"started": _now(), "git_sha": git_sha(), "engine_version": engine_version(),
                   "versions": package_versions(), "python": platform.python_version()}  # fmt: skip
        manifest.update(
            config=self._config,
            **self._session,
            versions=session["versions"],
            python=session["python"],
            git_sha=session["git_sha"],
            engine_version=session["engine_version"],
            last_started=session["started"],
            sessions=[*manifest.get("sessions", []), session],
            status="running",
            parts=dict(sorted(self._checksums.items())),
        )
        self._write_manifest(manifest)

    @property
    def held(self) -> bool:
        """Whether this store holds the folder's writer lock (opened and not yet closed)."""
        return self._lock.held

    def close(self, status: str, counts: dict[str, int] | None = None) -> None:
        """Record the end of a sweep (finished, interrupted) and its counts; unlock the folder.

        Args:
            status: the manifest's new status.
            counts: planned, skipped, ok and failed runs (None keeps the stored counts).
        """
        try:
            manifest = self.read_manifest() or {}
            manifest.update(status=status, ended=_now())
            if counts is not None:
                manifest["counts"] = counts
            if self._session is not None:
                manifest["parts"] = dict(sorted(self._checksums.items()))
            self._write_manifest(manifest)
        finally:
            self.release()

    def release(self) -> None:
        """Let the folder's writer lock go (safe to call twice, or without :meth:`open`)."""
        self._lock.release()

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest[CHECKSUM_KEY] = manifest_checksum(manifest)
        text = json.dumps(manifest, indent=2, default=str) + "\n"
        with _naming_write_errors():
            atomic_write_text(self.manifest_path, text)

    # ------------------------------------------------------------ writing

    def add(self, row: dict[str, Any], steps: dict[str, pd.DataFrame] | None = None) -> None:
        """Buffer one finished run; flush a part when the buffer holds enough runs or bytes."""
        self._runs.append(row)
        for name, frame in (steps or {}).items():
            self._steps[name].append(frame)
            self._buffered_bytes += int(frame.memory_usage(index=True, deep=True).sum())
        if len(self._runs) >= self.flush_every or self._buffered_bytes >= self.flush_bytes:
            self.flush()

    @property
    def buffered_bytes(self) -> int:
        """Memory taken by the buffered step rows (what :attr:`flush_bytes` bounds)."""
        return self._buffered_bytes

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
                self._write_part(frame, ("steps", name), number)
        metadata = {CONFIG_KEY: json.dumps(self._config)} if self._config is not None else None
        self._write_part(pd.DataFrame(self._runs), ("runs",), number, metadata)
        self._runs = []
        self._steps = {name: [] for name in STEP_TABLES}
        self._buffered_bytes = 0

    def _write_part(
        self,
        frame: pd.DataFrame,
        parts: tuple[str, ...],
        number: int,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Write one part atomically, with page checksums, and remember its SHA-256."""
        path = self._part(parts, number)
        with _naming_write_errors():
            atomic_write_parquet(frame, path, metadata, column_entries(parts[-1], frame.columns),
                                 write_page_checksum=True)  # fmt: skip
        self._checksums[path.relative_to(self.folder).as_posix()] = file_sha256(path)

    def _committed_files(self, recorded: dict[str, str]) -> dict[int, list[Path]]:
        """Part number -> its runs part and step parts (present, or recorded in the manifest)."""
        files = {n: [self._part_path("runs", n)] for n in sorted(self._committed_numbers())}
        steps = [p for name in STEP_TABLES for p in self._part_files("steps", name)]
        steps += [self.folder / key for key in recorded if key.startswith("steps/")]
        for path in dict.fromkeys(steps):
            if _part_number(path) in files:
                files[_part_number(path)].append(path)
        return files

    def _part(self, parts: tuple[str, ...], number: int) -> Path:
        return real_folder(self.folder, *parts) / f"part-{number:06d}.parquet"

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

    def identities(self) -> pd.DataFrame:
        """Latest row of every stored run: ``run_id``, ``status``, the identity columns, ``part``.

        ``part`` is the number of the runs part holding the row (see
        :meth:`part_config`); identity columns a part lacks (stored before runs
        carried their identity) read as empty strings.
        """
        wanted = ["run_id", "status", *IDENTITY_COLUMNS]
        frames = []
        for path in self._part_files("runs"):
            present = [c for c in wanted if c in pq.read_schema(path).names]
            frames.append(pd.read_parquet(path, columns=present).assign(part=_part_number(path)))
        if not frames:
            return pd.DataFrame(columns=[*wanted, "part"])
        runs = pd.concat(frames, ignore_index=True).reindex(columns=[*wanted, "part"])
        for column in IDENTITY_COLUMNS:
            runs[column] = runs[column].astype(object).where(runs[column].notna(), "")
        return runs.drop_duplicates("run_id", keep="last").reset_index(drop=True)

    def part_config(self, number: int) -> dict[str, Any] | None:
        """The experiment config that wrote runs part ``number`` (None if it recorded none)."""
        text = parquet_metadata(self._part_path("runs", number), CONFIG_KEY)
        return json.loads(text) if text else None

    def _part_path(self, table: str, number: int) -> Path:
        return self.folder / table / f"part-{number:06d}.parquet"

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

    def consolidate(self, run_ids: set[str] | None = None) -> Path:
        """Write ``runs.parquet``: every run's latest row (of ``run_ids`` if given), sorted by id.

        With the experiment config given to :meth:`open`, also the points table
        (``points.parquet`` and ``points.csv``, :mod:`sim.experiments.points`): a row per
        design point with its levers and the mean of each of its ``outputs``.

        Args:
            run_ids: the runs the experiment plans now; stored runs it no longer
                plans (fewer replications) stay in the parts but not in this table.
        """
        path = self.folder / "runs.parquet"
        runs = self.read_runs()
        if run_ids is not None and not runs.empty:
            runs = runs[runs["run_id"].isin(run_ids)].reset_index(drop=True)
        with _naming_write_errors():
            atomic_write_parquet(runs, path, fields=column_entries("runs", runs.columns))
            if self._config is not None:
                self._write_points(points_table(runs, self._config))
        return path

    def _write_points(self, table: pd.DataFrame) -> None:
        fields = column_entries("points", table.columns)
        atomic_write_parquet(table, self.folder / "points.parquet", fields=fields)
        atomic_write_csv(table, self.folder / "points.csv")


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
