"""docs/tutorial.md works as written.

Its fenced code blocks run in document order in one scratch folder that holds
a copy of ``experiments/`` (the tutorial runs from the repository root):

- ``bash`` blocks through ``bash -e -o pipefail``, with the ``race`` command
  of this interpreter's environment first on ``PATH``; each must exit 0;
- ``python`` blocks with ``exec`` in one shared namespace, in that folder;
- a ``text`` block right after one of those is an excerpt of its output:
  each of its lines must appear in the output, ``...`` matching any text.

Blocks in other languages (``sh``: the install, which the environment running
the tests has already done) are shown only.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
README = ROOT / "README.md"
EXECUTED = ("bash", "python")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", flags=re.M | re.S)
BLOCK_TIMEOUT_S = 300


@dataclass
class Block:
    language: str
    code: str
    line: int
    expected: str | None = None  # the text block that follows, if any

    def where(self) -> str:
        return f"docs/tutorial.md line {self.line} ({self.language})"


def tutorial_blocks(text: str) -> list[Block]:
    """The executed blocks, in order, each with the output excerpt that follows it."""
    blocks: list[Block] = []
    previous: Block | None = None
    for match in FENCE.finditer(text):
        language, code = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if language in EXECUTED:
            previous = Block(language, code, line)
            blocks.append(previous)
        elif language == "text" and previous is not None and previous.expected is None:
            previous.expected = code
        else:
            previous = None
    return blocks


def excerpt_problems(expected: str, output: str) -> list[str]:
    """Lines of ``expected`` that do not occur in ``output`` (``...`` matches anything)."""
    missing = []
    for line in expected.splitlines():
        line = line.strip()
        if not line:
            continue
        pattern = ".*?".join(re.escape(part.strip()) for part in line.split("..."))
        if not re.search(pattern, output):
            missing.append(line)
    return missing


@pytest.fixture(scope="module")
def text() -> str:
    return TUTORIAL.read_text(encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A scratch folder laid out like the repository root for the commands."""
    shutil.copytree(ROOT / "experiments", tmp_path / "experiments")
    return tmp_path


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


def _run_bash(block: Block, folder: Path) -> str:
    try:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.code],
            cwd=folder,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where()} took more than {BLOCK_TIMEOUT_S} s:\n{block.code}")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(
            f"{block.where()} exited {done.returncode}:\n{block.code}\n--- output ---\n{output}"
        )
    return output


def _run_python(block: Block, namespace: dict, folder: Path) -> str:
    buffer = io.StringIO()
    previous = Path.cwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            exec(compile(block.code, block.where(), "exec"), namespace)  # noqa: S102
    except Exception:  # noqa: BLE001 - report which block failed and how
        pytest.fail(
            f"{block.where()} raised:\n{block.code}\n--- output ---\n{buffer.getvalue()}\n"
            f"{traceback.format_exc()}"
        )
    finally:
        os.chdir(previous)
    return buffer.getvalue()


def test_blocks_are_found_with_their_excerpts() -> None:
    sample = (
        "```sh\npip install\n```\n"
        "```bash\nrace run x\n```\n"
        "```text\nwrote ...\n```\n"
        "```python\nprint(1)\n```\n"
    )
    blocks = tutorial_blocks(sample)
    assert [(b.language, b.code, b.expected) for b in blocks] == [
        ("bash", "race run x\n", "wrote ...\n"),
        ("python", "print(1)\n", None),
    ]
    assert excerpt_problems("wrote ... files\nexit code 2", "wrote 8 files\nexit code 2") == []
    assert excerpt_problems("exit code 2", "exit code 0") == ["exit code 2"]


def test_tutorial_covers_the_first_hour(text: str) -> None:
    """Install, run, what-if, sweep, sensitivity, export, and the Python API."""
    blocks = tutorial_blocks(text)
    shell = "\n".join(b.code for b in blocks if b.language == "bash")
    python = "\n".join(b.code for b in blocks if b.language == "python")
    assert "pip install -e ." in text
    for command in ("race run", "race compare", "race sweep", "race sensitivity", "race export"):
        assert command in shell, f"the tutorial runs no `{command}`"
    for name in ("run_scenario", "load_experiment", "plan_runs", "execute_run", "paired_runs"):
        assert name in python, f"the tutorial's Python shows no `{name}`"


def test_readme_links_the_tutorial_near_its_top() -> None:
    top = README.read_text(encoding="utf-8").splitlines()[:12]
    assert any("docs/tutorial.md" in line for line in top)
    assert any("docs/calibration.md" in line for line in top)


def test_tutorial_runs_as_written(text: str, workspace: Path) -> None:
    blocks = tutorial_blocks(text)
    assert len(blocks) >= 10
    namespace: dict = {"__name__": "tutorial"}
    for block in blocks:
        if block.language == "bash":
            output = _run_bash(block, workspace)
        else:
            output = _run_python(block, namespace, workspace)
        if block.expected is not None:
            missing = excerpt_problems(block.expected, output)
            assert not missing, (
                f"{block.where()}: the output excerpt shown after it does not match; "
                f"missing {missing}\n--- output ---\n{output}"
            )
    for produced in (
        "results/baseline/summary.parquet",
        "results/my_first_sweep/runs.parquet",
        "results/rd_subsidy_sobol/sensitivity.csv",
        "results/baseline/export-csv/data_dictionary.csv",
        "results/python_run/summary.parquet",
    ):
        assert (workspace / produced).is_file(), f"the tutorial should have written {produced}"
