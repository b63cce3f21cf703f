"""Starting ``race`` imports no heavy library: commands pay only for what they use.

Spawned sweep workers re-run the ``race`` script as their main module, so an
import at the top of :mod:`sim.cli.main` is paid again by every worker of every
sweep (scipy.stats alone took about 0.7 s).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "mesa", "matplotlib", "seaborn", "pandas", "pyarrow", "dask", "SALib", "solara")


def test_importing_the_cli_loads_no_heavy_library():
    code = f"import sys, sim.cli.main; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
