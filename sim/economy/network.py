"""The supply network: who may trade with whom, on what terms (docs/model.md sections 3.15, 4).

A ``networkx.DiGraph`` (not Mesa's Network, which has no edge attributes).
Nodes are labs and suppliers, keyed by the agents' integer ids; an edge
``supplier -> lab`` means trade is possible. Edge attributes:

    kind:        "chips" or "energy"
    tariff:      ad valorem import tariff on chip purchases (0.1 = +10%)
    max_tpp:     export-control threshold in TPP (inf = uncontrolled); chips
                 above it are sold as derated variants (``ChipModel.derated``)
    allowed:     False when trade is banned (e.g. export ban, max_tpp == 0)
    quantity, value:          flows of the last step (GPUs or MWh, USD)
    cum_quantity, cum_value:  flows since the start of the run

Policy functions mutate the graph in place and also return it, so they chain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import networkx as nx

from sim.config.checks import number

NodeSpec = tuple[int, str, str]
"""``(node_id, name, region)`` of one agent."""

CHIPS = "chips"
ENERGY = "energy"
EDGE_KINDS = (CHIPS, ENERGY)
NODE_KINDS = ("lab", "chip_supplier", "energy_supplier")


def _edge_defaults(kind: str) -> dict[str, object]:
    """Attributes of a fresh edge: no tariff, no control, no cap, no flows."""
    return {
        "kind": kind,
        "tariff": 0.0,
        "max_tpp": math.inf,
        "allowed": True,
        "quantity": 0.0,
        "value": 0.0,
        "cum_quantity": 0.0,
        "cum_value": 0.0,
    }


def _add_nodes(graph: nx.DiGraph, specs: Iterable[NodeSpec], kind: str) -> list[NodeSpec]:
    """Add one kind of node, rejecting duplicate ids."""
    specs = [(int(node), str(name), str(region)) for node, name, region in specs]
    for node, name, region in specs:
        if node in graph:
            raise ValueError(f"node ids must be unique, {node} appears twice")
        graph.add_node(node, kind=kind, name=name, region=region)
    return specs


def build_supply_network(
    labs: Iterable[NodeSpec],
    chip_suppliers: Iterable[NodeSpec],
    energy_suppliers: Iterable[NodeSpec],
) -> nx.DiGraph:
    """Build the default network: chips trade globally, power only within a region.

    Every chip supplier gets an edge to every lab; an energy supplier gets an
    edge to each lab of its own region (power does not cross regions).

    Args:
        labs: ``(node_id, name, region)`` per lab.
        chip_suppliers: Same, per chip supplier.
        energy_suppliers: Same, per energy supplier.

    Raises:
        ValueError: if a node id appears twice.
    """
    graph = nx.DiGraph()
    lab_specs = _add_nodes(graph, labs, "lab")
    chip_specs = _add_nodes(graph, chip_suppliers, "chip_supplier")
    energy_specs = _add_nodes(graph, energy_suppliers, "energy_supplier")
    for supplier, _, _ in chip_specs:
        for lab, _, _ in lab_specs:
            graph.add_edge(supplier, lab, **_edge_defaults(CHIPS))
    for supplier, _, region in energy_specs:
        for lab, _, lab_region in lab_specs:
            if lab_region == region:
                graph.add_edge(supplier, lab, **_edge_defaults(ENERGY))
    return graph


def _edges_of_kind(graph: nx.DiGraph, kind: str) -> list[tuple[int, int, dict]]:
    """Edges with ``data["kind"] == kind``, as ``(supplier, lab, data)``."""
    return [(u, v, d) for u, v, d in graph.edges(data=True) if d["kind"] == kind]


def _region(graph: nx.DiGraph, node: int) -> str:
    """Region attribute of a node."""
    return graph.nodes[node]["region"]


def apply_export_controls(
    graph: nx.DiGraph,
    restricted_regions: Iterable[str],
    max_tpp: float,
    exporter_regions: Iterable[str] | None = None,
) -> nx.DiGraph:
    """Cap chip exports into restricted regions at a TPP threshold (ECCN 3A090 style).

    Affects chip edges into labs of ``restricted_regions`` from suppliers in
    ``exporter_regions`` (None = every region). Domestic edges (supplier and
    lab in the same region) are never controlled: it is an export rule. The
    edge threshold becomes the stricter of the old and the new one;
    ``max_tpp == 0`` bans the trade (``allowed = False``). The Oct 2023 US
    threshold is TPP 4800 (docs/calibration.md "Status-quo policies").

    Args:
        graph: Supply network, mutated in place.
        restricted_regions: Importing regions under control.
        max_tpp: Threshold in [0, inf]; inf is a no-op, 0 a ban.
        exporter_regions: Regions whose suppliers apply the control; None = all.

    Returns:
        The same graph.
    """
    limit = number("max_tpp", max_tpp, 0.0, allow_inf=True)
    restricted = {str(r) for r in restricted_regions}
    exporters = None if exporter_regions is None else {str(r) for r in exporter_regions}
    for supplier, lab, data in _edges_of_kind(graph, CHIPS):
        lab_region, supplier_region = _region(graph, lab), _region(graph, supplier)
        if lab_region not in restricted or supplier_region == lab_region:
            continue
        if exporters is not None and supplier_region not in exporters:
            continue
        data["max_tpp"] = min(data["max_tpp"], limit)
        if data["max_tpp"] == 0.0:
            data["allowed"] = False
    return graph


def apply_tariffs(graph: nx.DiGraph, tariffs: dict[str, float]) -> nx.DiGraph:
    """Set ad valorem tariffs on chip imports, keyed by the importing lab's region.

    A tariff applies to chip edges into labs of that region whose supplier is
    in another region (domestic purchases are untaxed). It replaces any earlier
    tariff on the edge. Buyers pay ``price * (1 + tariff)``; the model routes
    the tariff part to the government account.

    Args:
        graph: Supply network, mutated in place.
        tariffs: ``{importing region: rate}``, each rate in [0, inf).

    Returns:
        The same graph.
    """
    rates = {str(region): number(f"tariffs[{region!r}]", r, 0.0) for region, r in tariffs.items()}
    for supplier, lab, data in _edges_of_kind(graph, CHIPS):
        lab_region = _region(graph, lab)
        if lab_region in rates and _region(graph, supplier) != lab_region:
            data["tariff"] = rates[lab_region]
    return graph
