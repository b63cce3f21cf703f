"""Instructions per baseline run, counted by valgrind's callgrind: a speed figure immune to load.

Wall and CPU times on this shared 2-core machine swing by 1.5-2x with the
host's load (Mesa's Boltzmann example has read 4.4 to 8.9 us per agent-step
on the same day), so comparing two versions of the model by time needs many
interleaved repeats. Callgrind counts the instructions the CPU executes: the
same binary, inputs and environment give the same count whatever else the
machine does, so a change of 1% shows up as 1%.

Method: a child interpreter builds the scenario, warms up with two runs, then
runs ``--runs`` more through ``itertools.starmap``; callgrind collects only
inside ``starmap_next`` (``--collect-atstart=no --toggle-collect=starmap_next``),
so imports, start-up and warm-up are not counted. ``steps`` counts building
and running a batch of one (``run_batch``); ``all`` adds its tables and
summaries (``sim.experiments.runs.results``).

Needs valgrind (Debian: ``apt-get install -y valgrind``). Takes about a minute
per mode (the interpreter runs some 50x slower under callgrind).

Run: ``python benchmarks/bench_instructions.py [--runs 2] [--config experiments/baseline.yaml]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import itertools, sys
from sim.config.scenario import load_scenario
from sim.economy.engine import run_batch
from sim.experiments.runs import results
scenario = load_scenario(sys.argv[1])
with_tables = sys.argv[2] == "all"
def run(_):
    batch = run_batch([scenario], [scenario.seed])
    if with_tables:
        results(batch)
for _ in range(2):
    run(0)
list(itertools.starmap(run, [(i,) for i in range(int(sys.argv[3]))]))
"""


def instructions_per_run(config: Path, mode: str, runs: int) -> float:
    """Instructions callgrind collects per run, for ``mode`` ``steps`` or ``all``."""
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch, "child.py")
        script.write_text(CHILD)
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out.%p",
            "--collect-atstart=no", "--toggle-collect=starmap_next",
            sys.executable, str(script), str(config), mode, str(runs),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
    return int(found.group(1)) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="counted runs per mode (default 2)")
    parser.add_argument("--config", type=Path, default=ROOT / "experiments" / "baseline.yaml")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions.py needs valgrind: apt-get install -y valgrind")
    counts = {mode: instructions_per_run(args.config, mode, args.runs) for mode in ("steps", "all")}
    print(f"build + steps:  {counts['steps'] / 1e6:7.2f}M instructions per run")
    print(f"tables:         {(counts['all'] - counts['steps']) / 1e6:7.2f}M")
    print(f"whole run:      {counts['all'] / 1e6:7.2f}M")


if __name__ == "__main__":
    main()
