"""Atomic file output: a reader never sees a half-written file.

Every writer here writes to a temporary file in the target's own directory,
flushes it to disk and then renames it over the target with :func:`os.replace`
(atomic on POSIX and Windows within one file system). If writing fails, the
temporary file is removed and any existing target is left untouched. Files get
the usual permissions (``0o666`` minus the process umask, read once at import),
not the owner-only mode of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

TEMP_SUFFIX = ".tmp"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    Args:
        path: the final file. Its directory must exist.
        mode: ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``.
        **open_kwargs: passed to :func:`os.fdopen` (e.g. ``newline``).

    Raises:
        ValueError: if ``mode`` is not a write mode.
        OSError: if writing fails; one raised by a write or ``fsync`` (a full
            disk) gets ``path`` as its ``filename``, so messages can name it.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            os.chmod(temp_name, FILE_MODE)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        if error.filename is None:  # a write or fsync failed: name the file it was for
            raise OSError(error.errno, error.strerror or str(error), str(target)) from error
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files left under ``folder`` by writers that were killed.

    A process killed by SIGKILL mid-write cannot run its cleanup, so its
    ``.<name>.<random>.tmp`` sibling stays behind. Call this only when no other
    writer is active in ``folder`` (a sweep's store does, on open).

    Returns:
        The files removed.
    """
    removed = []
    for parent, _, files in os.walk(folder, followlinks=False):  # never into a linked folder
        for name in files:
            stale = Path(parent, name)
            if name.startswith(".") and name.endswith(TEMP_SUFFIX) and not stale.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
                    removed.append(stale)
    return removed


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_csv(frame: pd.DataFrame, path: str | Path, **to_csv_kwargs: Any) -> None:
    """Write ``frame`` as CSV without its index; NaN is written as an empty field.

    Args:
        frame: the table (anything with a pandas-style ``to_csv``).
        path: the final CSV file.
        **to_csv_kwargs: passed to ``frame.to_csv`` (``index`` defaults to False).
    """
    to_csv_kwargs.setdefault("index", False)
    with atomic_open(path, "w", newline="") as handle:
        frame.to_csv(handle, **to_csv_kwargs)


def atomic_write_parquet(
    frame: pd.DataFrame,
    path: str | Path,
    metadata: dict[str, str] | None = None,
    fields: Mapping[str, tuple[str, str]] | None = None,
    **options: Any,
) -> None:
    """Write ``frame`` as Parquet (pyarrow) atomically.

    Args:
        frame: the table.
        path: the final Parquet file.
        metadata: key-value pairs added to the file's schema metadata (read
            them back with :func:`parquet_metadata`).
        fields: column -> ``(unit, description)``, written as each column's
            field metadata (keys ``unit`` and ``description``; read them back
            with :func:`parquet_field_metadata`); columns not listed get none.
        **options: passed to ``pyarrow.parquet.write_table`` (e.g.
            ``write_page_checksum=True``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_open(path, "wb") as handle:
        if not metadata and not fields:
            frame.to_parquet(handle, **options)
            return
        table = pa.Table.from_pandas(frame)
        if fields:
            table = _with_field_metadata(table, fields)
        extra = {key.encode(): value.encode() for key, value in (metadata or {}).items()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        pq.write_table(table, handle, **options)


def _with_field_metadata(table: Any, fields: Mapping[str, tuple[str, str]]) -> Any:
    """``table`` with ``unit`` and ``description`` on each field ``fields`` describes."""
    import pyarrow as pa

    described = [
        field.with_metadata({b"unit": fields[field.name][0].encode(),
                             b"description": fields[field.name][1].encode()})
        if field.name in fields else field
        for field in table.schema
    ]  # fmt: skip
    schema = pa.schema(described, metadata=table.schema.metadata)
    return pa.Table.from_arrays(table.columns, schema=schema)


def parquet_field_metadata(path: str | Path) -> dict[str, dict[str, str]]:
    """Each column's field metadata (``unit``, ``description``) of a Parquet file, decoded."""
    import pyarrow.parquet as pq

    return {
        field.name: {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        for field in pq.read_schema(path)
    }


def parquet_metadata(path: str | Path, key: str) -> str | None:
    """One key of a Parquet file's schema metadata (None if absent), without reading the data."""
    import pyarrow.parquet as pq

    value = (pq.read_schema(path).metadata or {}).get(key.encode())
    return value.decode() if value is not None else None


def atomic_save_figure(figure: Any, path: str | Path, dpi: int = 150) -> None:
    """Save a Matplotlib figure atomically, in the format named by ``path``'s suffix."""
    target = Path(path)
    image_format = target.suffix.lstrip(".").lower() or "png"
    with atomic_open(target, "wb") as handle:
        figure.savefig(handle, format=image_format, dpi=dpi, bbox_inches="tight")
