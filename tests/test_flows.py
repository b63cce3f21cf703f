"""The model's edge flows: kept in lists during a run, read through ``model.network``."""

from __future__ import annotations

import math

import pytest

from sim.flows import EdgeFlows
from sim.model import RaceModel, release
from sim.network import build_supply_network
from tests.builders import build, small_economy_dict


def _graph():
    return build_supply_network([(1, "lab", "us")], [(10, "vendor", "us")], [(20, "grid", "us")])


def test_flows_reach_the_edge_attributes_only_on_sync():
    graph = _graph()
    flows = EdgeFlows(graph)
    edge = flows.index[10, 1]
    flows.start_step()
    flows.add(edge, 5.0, 100.0)
    flows.add(edge, 1.0, 20.0)
    assert graph.edges[10, 1]["quantity"] == 0.0  # not written yet
    flows.sync()
    assert graph.edges[10, 1]["quantity"] == 6.0
    assert graph.edges[10, 1]["value"] == 120.0
    flows.start_step()
    flows.add(edge, 2.0, 30.0)
    flows.sync()
    data = graph.edges[10, 1]
    assert (data["quantity"], data["value"]) == (2.0, 30.0)
    assert (data["cum_quantity"], data["cum_value"]) == (8.0, 150.0)
    assert graph.edges[20, 1]["cum_value"] == 0.0


def test_model_network_shows_the_flows_the_tables_record():
    scenario = build(small_economy_dict())
    model = RaceModel(scenario)
    try:
        for _ in range(3):
            model.step()
        edges = model.recorder.tables()["edges"]
        last = edges[edges["step"] == model.steps]
        names = {node: data["name"] for node, data in model.network.nodes(data=True)}
        traded = 0
        for supplier, lab, data in model.network.edges(data=True):
            rows = last[(last["supplier"] == names[supplier]) & (last["lab"] == names[lab])]
            assert data["quantity"] == rows["quantity"].item()
            assert data["value"] == rows["value"].item()
            history = edges[(edges["supplier"] == names[supplier]) & (edges["lab"] == names[lab])]
            assert data["cum_value"] == pytest.approx(math.fsum(history["value"]), rel=1e-12)
            traded += data["cum_value"] > 0
        assert traded > 0  # the check is not vacuous: some edges carried trade
    finally:
        release(model)


@pytest.mark.parametrize("seed", [1, 2])
def test_edge_values_add_up_to_the_ledgers_chip_and_energy_payments(seed):
    """Every chip and energy payment appears on its edge, in its step (none overwritten)."""
    scenario = build(small_economy_dict(), seed=seed, policy__carbon_tax=0.0)
    model = RaceModel(scenario).run()
    try:
        tables = model.recorder.tables()
        ledger, edges = tables["ledger"], tables["edges"]
        trades = ledger[ledger["category"].isin(["chips", "energy"])]
        paid = {
            (int(step), str(payer), str(payee)): amount
            for (step, payer, payee), amount in trades.groupby(
                ["step", "payer", "payee"], observed=True
            )["amount"].sum().items()
        }  # fmt: skip
        traded = edges[edges["value"] > 0]
        shown = {
            (int(step), str(lab), str(supplier)): value
            for step, lab, supplier, value in zip(
                traded["step"], traded["lab"], traded["supplier"], traded["value"], strict=True
            )
        }
        assert trades.groupby(["step", "payer", "payee"], observed=True).size().max() == 1
        assert shown == paid and len(paid) > 0
    finally:
        release(model)
