"""Tests for sim.economy.network: the supply network and the policy edits on it."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.economy.network import apply_export_controls, apply_tariffs, build_supply_network

LABS = [(1, "OpenLab", "US"), (2, "EuroLab", "EU"), (3, "DragonLab", "CN")]
CHIP_SUPPLIERS = [(10, "Fab-TW", "TW"), (11, "Fab-US", "US"), (12, "Fab-CN", "CN")]
ENERGY_SUPPLIERS = [(20, "Grid-US", "US"), (21, "Grid-EU", "EU"), (22, "Grid-CN", "CN")]


def network() -> nx.DiGraph:
    return build_supply_network(LABS, CHIP_SUPPLIERS, ENERGY_SUPPLIERS)


def test_nodes_and_edges():
    g = network()
    assert g.nodes[1] == {"kind": "lab", "name": "OpenLab", "region": "US"}
    assert g.nodes[10]["kind"] == "chip_supplier"
    assert g.nodes[22]["kind"] == "energy_supplier"
    chip_edges = [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "chips"]
    energy_edges = sorted((u, v) for u, v, d in g.edges(data=True) if d["kind"] == "energy")
    assert len(chip_edges) == 9
    assert energy_edges == [(20, 1), (21, 2), (22, 3)]
    data = g.edges[10, 3]
    assert data == {
        "kind": "chips",
        "tariff": 0.0,
        "max_tpp": math.inf,
        "allowed": True,
        "quantity": 0.0,
        "value": 0.0,
        "cum_quantity": 0.0,
        "cum_value": 0.0,
    }


def test_duplicate_ids_rejected():
    with pytest.raises(ValueError, match="unique"):
        build_supply_network(LABS, [(1, "Fab", "TW")], [])


def test_export_controls_only_on_edges_into_restricted_regions():
    g = apply_export_controls(network(), ["CN"], 4800.0, exporter_regions=["US", "TW"])
    for u, v, d in g.edges(data=True):
        controlled = d["kind"] == "chips" and v == 3 and u in (10, 11)
        assert d["max_tpp"] == (4800.0 if controlled else math.inf)
        assert d["allowed"]
    # Domestic supply is not an export.
    assert g.edges[12, 3]["max_tpp"] == math.inf


def test_export_controls_keep_the_stricter_threshold_and_zero_bans():
    g = apply_export_controls(network(), ["CN"], 4800.0)
    apply_export_controls(g, ["CN"], 9000.0)
    assert g.edges[10, 3]["max_tpp"] == 4800.0
    apply_export_controls(g, ["CN"], 0.0, exporter_regions=["US"])
    assert not g.edges[11, 3]["allowed"]
    assert g.edges[10, 3]["allowed"]
    allowed = [(s, d["max_tpp"]) for s, lab, d in g.edges(data=True) if lab == 3 and d["allowed"]]
    assert allowed == [(10, 4800.0), (12, math.inf), (22, math.inf)]


@settings(max_examples=50, deadline=None)
@given(
    restricted=st.sets(st.sampled_from(["US", "EU", "CN"])),
    exporters=st.one_of(st.none(), st.sets(st.sampled_from(["US", "TW", "CN"]))),
    max_tpp=st.floats(0.0, 1e5),
)
def test_export_controls_property(restricted, exporters, max_tpp):
    g = apply_export_controls(network(), restricted, max_tpp, exporter_regions=exporters)
    for u, v, d in g.edges(data=True):
        lab_region, sup_region = g.nodes[v]["region"], g.nodes[u]["region"]
        hit = (
            d["kind"] == "chips"
            and lab_region in restricted
            and sup_region != lab_region
            and (exporters is None or sup_region in exporters)
        )
        assert d["max_tpp"] == (max_tpp if hit else math.inf)
        assert d["allowed"] == (not (hit and max_tpp == 0.0))


def test_tariffs_apply_to_imports_only():
    g = apply_tariffs(network(), {"US": 0.25, "EU": 0.1})
    assert g.edges[10, 1]["tariff"] == 0.25  # TW -> US
    assert g.edges[11, 1]["tariff"] == 0.0  # domestic
    assert g.edges[11, 2]["tariff"] == 0.1  # US -> EU
    assert g.edges[10, 3]["tariff"] == 0.0  # CN not tariffed
    assert g.edges[20, 1]["tariff"] == 0.0  # energy untouched
    with pytest.raises(ValueError, match="tariffs"):
        apply_tariffs(g, {"US": -0.1})
