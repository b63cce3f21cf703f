"""Build a DataFrame from finished column arrays, without pandas' per-column checks.

``pd.DataFrame({name: array, ...})`` validates and converts every column
(``sanitize_array``) and builds the column index from scratch (in pandas 3, an
Arrow-backed string index). For the recorder's tables, whose columns are
already 1-D numpy arrays or Categoricals of one length, that is most of the
cost of building them: about 0.5 ms a table, a tenth of a baseline run.
:func:`frame` hands the arrays straight to pandas' block manager through
``DataFrame._from_arrays(..., verify_integrity=False)``, the path pandas'
own readers use, with the column index built once per set of names. Where a
pandas version lacks that method, it falls back to the public constructor;
``tests/test_frames.py`` checks the two agree.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

_FAST = hasattr(pd.DataFrame, "_from_arrays")


def frame(columns: Sequence[str], arrays: Sequence[np.ndarray | pd.Categorical]) -> pd.DataFrame:
    """The DataFrame with ``columns[i]`` holding ``arrays[i]``, on a RangeIndex.

    Args:
        columns: distinct column names, in order.
        arrays: one 1-D numpy array or Categorical per column, all of one length;
            they become the frame's data (numpy arrays may be copied into blocks).

    Raises:
        ValueError: if the numbers of names and arrays, or the arrays' lengths, differ.
    """
    if len(columns) != len(arrays):
        raise ValueError(f"frame needs one array per column: {len(columns)} != {len(arrays)}")
    rows = len(arrays[0]) if len(arrays) else 0
    if any(len(array) != rows or np.ndim(array) != 1 for array in arrays):
        raise ValueError("frame columns must be 1-D and of one length")
    if not _FAST:
        return pd.DataFrame(dict(zip(columns, arrays, strict=True)))
    return pd.DataFrame._from_arrays(
        list(arrays), columns=_column_index(tuple(columns)), index=pd.RangeIndex(rows),
        verify_integrity=False,
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _column_index(columns: tuple[str, ...]) -> pd.Index:
    """The column index of ``columns``, built once (an Index is immutable, so frames share it)."""
    return pd.DataFrame({name: [] for name in columns}).columns
