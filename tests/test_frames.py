"""sim.frames builds the same DataFrames as pandas' public constructor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import frames
from sim.model import RaceModel, release
from tests.builders import build, small_economy_dict


def _tables(monkeypatch, fast: bool) -> dict[str, pd.DataFrame]:
    monkeypatch.setattr(frames, "_FAST", fast)
    model = RaceModel(build(small_economy_dict())).run()
    try:
        return model.recorder.tables()
    finally:
        release(model)


def test_fast_frames_equal_the_public_constructor(monkeypatch):
    assert frames._FAST, "this pandas has no DataFrame._from_arrays: only the fallback is tested"
    fast, public = _tables(monkeypatch, True), _tables(monkeypatch, False)
    assert fast.keys() == public.keys()
    for name, table in fast.items():
        pd.testing.assert_frame_equal(table, public[name], check_exact=True)
        assert table.columns.dtype == public[name].columns.dtype
        assert list(table.dtypes) == list(public[name].dtypes)
        assert len(table) > 0


def test_fast_frame_is_writable_and_owns_its_numbers():
    values = np.arange(3.0)
    table = frames.frame(["x", "k"], [values, pd.Categorical(["a", "b", "a"])])
    table.loc[0, "x"] = 9.0
    assert table["x"].tolist() == [9.0, 1.0, 2.0]
    assert values.tolist() == [0.0, 1.0, 2.0]
    assert table["k"].tolist() == ["a", "b", "a"]


@pytest.mark.parametrize(
    "columns, arrays",
    [
        (["a", "b"], [np.zeros(2)]),
        (["a", "b"], [np.zeros(2), np.zeros(3)]),
        (["a"], [np.zeros((2, 2))]),
    ],
)
def test_frame_refuses_ragged_or_mismatched_columns(columns, arrays):
    with pytest.raises(ValueError, match="frame"):
        frames.frame(columns, arrays)


def test_run_tables_are_writable_copies_not_views_of_the_packed_rows():
    """The packed rows are read through read-only buffers; the tables must own their data."""
    model = RaceModel(build(small_economy_dict())).run()
    try:
        tables = model.recorder.tables()
    finally:
        release(model)
    for name, table in tables.items():
        for column in table.select_dtypes("number").columns:
            table.loc[0, column] = 7  # raises on a read-only block
            assert table[column].iloc[0] == 7, (name, column)
