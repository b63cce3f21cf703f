"""The supply network's trade flows, kept in flat lists while the model runs.

An edge's flows (``quantity`` and ``value`` of the last step, ``cum_quantity``
and ``cum_value`` since the start) are attributes of its ``networkx`` edge
dict (:mod:`sim.network`). Updating four string-keyed dict entries per trade,
and reading every edge's dict again to record each step, was about a tenth of
a baseline run. :class:`EdgeFlows` keeps the same numbers in four lists
indexed by edge, in the graph's edge order, and writes them into the edge
dicts only when somebody reads the graph (:meth:`EdgeFlows.sync`, called by
``RaceModel.network``). The additions happen in the same order on the same
floats, so the synced attributes are exactly those of updating the dicts.
"""

from __future__ import annotations

import networkx as nx


class EdgeFlows:
    """Per-edge flow accumulators for one graph, in ``graph.edges`` order.

    Attributes:
        edges: ``(supplier, lab, attribute dict)`` of every edge, in order.
        quantity, value: this step's flows per edge (units, USD).
        cum_quantity, cum_value: flows per edge since the start of the run.
    """

    def __init__(self, graph: nx.DiGraph):
        self.edges = list(graph.edges(data=True))
        self.index = {(supplier, lab): i for i, (supplier, lab, _) in enumerate(self.edges)}
        self.quantity = [data["quantity"] for _, _, data in self.edges]
        self.value = [data["value"] for _, _, data in self.edges]
        self.cum_quantity = [data["cum_quantity"] for _, _, data in self.edges]
        self.cum_value = [data["cum_value"] for _, _, data in self.edges]
        self._synced = True

    def start_step(self) -> None:
        """Zero the flows of the step (the cumulative ones are kept).

        The lists are zeroed in place, so a caller may hold on to them; a
        trade may then update them directly, as :meth:`add` does, since the
        graph counts as out of date from here until the next :meth:`sync`.
        """
        zeros = [0.0] * len(self.edges)
        self.quantity[:] = zeros
        self.value[:] = zeros
        self._synced = False

    def add(self, edge: int, quantity: float, value: float) -> None:
        """Record a trade on the edge numbered ``edge`` (see :attr:`index`)."""
        self.quantity[edge] += quantity
        self.value[edge] += value
        self.cum_quantity[edge] += quantity
        self.cum_value[edge] += value
        self._synced = False

    def sync(self) -> None:
        """Write the flows into the edges' attribute dicts (no work when they are current)."""
        if self._synced:
            return
        flows = zip(self.quantity, self.value, self.cum_quantity, self.cum_value, strict=True)
        for (_, _, data), (quantity, value, cum_quantity, cum_value) in zip(
            self.edges, flows, strict=True
        ):
            data["quantity"], data["value"] = quantity, value
            data["cum_quantity"], data["cum_value"] = cum_quantity, cum_value
        self._synced = True
