"""Tests for sim.config.chips: catalogue, TPP, derating, roadmap extrapolation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config.chips import (
    CALIBRATED_CHIPS,
    ChipModel,
    extrapolate_roadmap,
)

BY_NAME = {chip.name: chip for chip in CALIBRATED_CHIPS}


def test_calibrated_rows_match_calibration_table():
    assert [c.name for c in CALIBRATED_CHIPS] == ["A100", "H100", "H200", "B200", "GB200"]
    h100 = BY_NAME["H100"]
    assert (h100.year, h100.flops, h100.watts, h100.price) == (2022, 989e12, 700, 27_500)
    assert BY_NAME["GB200"].price == pytest.approx(2.75e6 / 72, rel=0.01)


def test_tpp_is_dense_tops_times_16():
    assert BY_NAME["H100"].tpp == pytest.approx(989 * 16)
    assert BY_NAME["A100"].tpp == pytest.approx(312 * 16)


def test_ratios():
    b200 = BY_NAME["B200"]
    assert b200.flops_per_watt == pytest.approx(2.25e12)
    assert b200.flops_per_dollar == pytest.approx(2250e12 / 35_000)


@settings(max_examples=100, deadline=None)
@given(
    flops=st.floats(1e12, 1e16),
    max_tpp=st.floats(1.0, 1e6),
)
def test_derated_chip_has_tpp_equal_to_threshold(flops, max_tpp):
    chip = ChipModel("X", 2024, flops, 700, 30_000)
    export = chip.derated(max_tpp)
    if chip.tpp > max_tpp:
        assert export.tpp == pytest.approx(max_tpp, rel=1e-12)
        assert export.name == "X-export"
        assert (export.watts, export.price, export.year) == (700, 30_000, 2024)
        assert export.flops < chip.flops
    else:
        assert export is chip


def test_derated_uses_oct_2023_threshold():
    h800ish = BY_NAME["H100"].derated(4800)
    assert h800ish.tpp == pytest.approx(4800)
    assert h800ish.flops_per_watt < BY_NAME["H100"].flops_per_watt


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_derated_rejects_bad_threshold(bad):
    with pytest.raises(ValueError, match="max_tpp"):
        BY_NAME["H100"].derated(bad)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("watts", {"watts": 0.0}),
        ("price", {"price": -1.0}),
        ("flops", {"flops": float("inf")}),
        ("year", {"year": float("nan")}),
    ],
)
def test_chip_rejects_non_physical_specs(field, kwargs):
    spec = {"name": "X", "year": 2024, "flops": 1e15, "watts": 700, "price": 1e4} | kwargs
    with pytest.raises(ValueError, match=field):
        ChipModel(**spec)


def test_roadmap_appends_generations_at_cadence():
    roadmap = extrapolate_roadmap(CALIBRATED_CHIPS, until_year=2031)
    new = roadmap[len(CALIBRATED_CHIPS) :]
    assert roadmap[: len(CALIBRATED_CHIPS)] == CALIBRATED_CHIPS
    assert [c.name for c in new] == ["Gen2027", "Gen2029", "Gen2031"]
    assert [c.year for c in new] == [2027, 2029, 2031]


def test_roadmap_growth_rates_compound():
    base = BY_NAME["GB200"]
    gen = extrapolate_roadmap(CALIBRATED_CHIPS, until_year=2027)[-1]
    assert gen.flops_per_watt == pytest.approx(base.flops_per_watt * 1.4**2)
    assert gen.flops_per_dollar == pytest.approx(base.flops_per_dollar * 1.3**2)
    assert gen.watts == pytest.approx(base.watts * 1.1**2)


@settings(max_examples=50, deadline=None)
@given(
    cadence=st.floats(0.5, 4.0),
    g_fpw=st.floats(0.01, 1.0),
    g_fpd=st.floats(0.01, 1.0),
    g_w=st.floats(-0.5, 0.5),
)
def test_each_new_generation_is_better(cadence, g_fpw, g_fpd, g_w):
    roadmap = extrapolate_roadmap(CALIBRATED_CHIPS, 2040, cadence, g_fpw, g_fpd, g_w)
    new = roadmap[len(CALIBRATED_CHIPS) - 1 :]
    for older, newer in zip(new, new[1:], strict=False):
        assert newer.year > older.year
        assert newer.flops_per_dollar > older.flops_per_dollar
    assert all(c.year <= 2040 + 1e-9 for c in roadmap)


def test_roadmap_until_before_newest_adds_nothing():
    assert extrapolate_roadmap(CALIBRATED_CHIPS, until_year=2020) == CALIBRATED_CHIPS


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"cadence_years": 0.0}, "cadence_years"),
        ({"flops_per_watt_growth": -0.1}, "flops_per_watt_growth"),
        ({"flops_per_dollar_growth": float("nan")}, "flops_per_dollar_growth"),
        ({"watts_growth": -1.0}, "watts_growth"),
        ({"until_year": float("inf")}, "until_year"),
    ],
)
def test_roadmap_validates(kwargs, name):
    args = {"until_year": 2030} | kwargs
    with pytest.raises(ValueError, match=name):
        extrapolate_roadmap(CALIBRATED_CHIPS, **args)


def test_roadmap_rejects_empty():
    with pytest.raises(ValueError, match="chips"):
        extrapolate_roadmap((), 2030)
