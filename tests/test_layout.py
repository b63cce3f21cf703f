"""The package's layout shows its architecture: imports point one way, down the layers.

Layers, lowest first: ``sim.law`` (numpy only), ``sim.config`` (validated
scenarios and experiments), ``sim.economy`` (the array engine and its Mesa
facade), ``sim.experiments`` (runs, sweeps, the results store),
``sim.analysis``, ``sim.viz`` (figures, reports, dashboard) and ``sim.cli``.
``sim.onelab`` (the exact one-lab model) sits with the economy and
``sim.validate`` (the paper reproduction) with the figures. A module may import
its own layer and the layers below it, never one above, so no import cycle
can cross layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"
LAYERS = ("law", "config", "economy", "experiments", "analysis", "viz", "cli")
PLACED = {"onelab": "economy", "validate": "viz", "__init__": "law", "__version__": "law",
          "__main__": "cli"}


def _layer(module: str) -> int | None:
    """The layer index of a ``sim`` module name (``sim.x.y``), None outside the package."""
    parts = module.split(".")
    if parts[0] != "sim":
        return None
    if len(parts) == 1:
        return 0
    head = PLACED.get(parts[1], parts[1])
    return LAYERS.index(head)


def _imports(path: Path) -> list[str]:
    """Every ``sim`` module a file imports, at module level or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [node.module] if node.module != "sim" else names
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name.split(".")[0] == "sim"]


def _module(path: Path) -> str:
    return ".".join(("sim", *path.relative_to(SIM).with_suffix("").parts))


def test_every_module_belongs_to_a_layer():
    for path in SIM.rglob("*.py"):
        assert _layer(_module(path)) is not None, path


def test_imports_point_down_the_layers():
    upward = []
    for path in sorted(SIM.rglob("*.py")):
        own = _layer(_module(path))
        for name in _imports(path):
            target = _layer(name)
            if target is not None and target > own:
                upward.append(f"{_module(path)} imports {name}")
    assert not upward, "\n".join(upward)


def test_the_top_level_holds_only_the_law_and_the_paper():
    top = sorted(p.stem for p in SIM.glob("*.py"))
    assert top == ["__init__", "law", "onelab", "validate"]
