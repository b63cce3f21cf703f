"""Cell-by-cell check that optimised code reproduces saved reference tables.

Uses the scenarios of ``tests/test_perf_equivalence.py`` (baseline with several
seeds and policy variants of the small test economy).

Run before changing the model, to save the reference pickles::

    python benchmarks/check_equivalence.py save /tmp/perf_ref

and after every change, to compare (``assert_frame_equal``, rtol 1e-12)::

    python benchmarks/check_equivalence.py check /tmp/perf_ref

``check`` also reports how many tables are bit-for-bit identical.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_perf_equivalence import SCENARIOS, run_tables  # noqa: E402

RTOL = 1e-12


def save(directory: Path) -> None:
    """Pickle every table of every scenario into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        with open(directory / f"{name}.pkl", "wb") as handle:
            pickle.dump(run_tables(name), handle)
        print(f"saved {name}")


def check(directory: Path) -> int:
    """Compare every table with its pickle; return the number of mismatching tables."""
    failures = identical = total = 0
    for name in SCENARIOS:
        with open(directory / f"{name}.pkl", "rb") as handle:
            reference = pickle.load(handle)
        tables = run_tables(name)
        for key, expected in reference.items():
            total += 1
            try:
                pd.testing.assert_frame_equal(tables[key], expected, check_exact=False, rtol=RTOL)
            except AssertionError as error:
                failures += 1
                print(f"MISMATCH {name}.{key}: {error}")
                continue
            identical += tables[key].equals(expected)
    print(f"{total - failures}/{total} tables match (rtol {RTOL}); {identical} bit-identical")
    return failures


def main() -> None:
    """Parse the command line and save or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "check"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    if args.action == "save":
        save(args.directory)
    else:
        sys.exit(1 if check(args.directory) else 0)


if __name__ == "__main__":
    main()
