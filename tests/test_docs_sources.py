"""The repository carries its own sources.

- No tracked file refers to documents outside the repository (the
  specification, calibration and setup notes that once lived beside the
  checkout): a clone does not have them.
- Every citation of a section of ``docs/calibration.md`` (its name, then the
  section title in double quotes), in the docs, the code and the configs,
  names a section that exists.
- What ``docs/calibration.md`` says a value is used in exists: the scenario
  fields are schema paths, the ``sim.*`` names import, the files are there.
"""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import pytest

from sim.config.paramdoc import parameter_rows

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "docs" / "calibration.md"
MODEL = ROOT / "docs" / "model.md"

# Built from pieces so that this file does not match itself.
_OUTSIDE = "|".join(
    re.escape(text)
    for text in (
        "../" + "shared",
        "shared/" + "CALIBRATION",
        "shared/" + "MODEL",
        "shared/" + "MESA_NOTES",
        "shared/" + "DESIGN",
        "shared/" + "seeds",
    )
)
# The outside documents by bare name (upper case: docs/calibration.md and
# docs/model.md are the project's own).
_BARE = r"\b(?:" + "|".join(("CALIBRATION", "MODEL", "MESA_NOTES", "DESIGN")) + r")\.md\b"
OUTSIDE_REFERENCE = re.compile(f"{_OUTSIDE}|{_BARE}")

CITATION = re.compile(r"calibration\.md\s+\"([^\"]+)\"")
HEADING = re.compile(r"^## (?:\d+\. )?(.+?)\s*$", flags=re.M)
SCHEMA_ROOTS = (
    "law.", "hardware.", "chip_suppliers[].", "energy_suppliers[].", "labs[].", "rnd.",
    "projects.", "market.", "policy.",
)  # fmt: skip


def tracked_files() -> list[Path]:
    """Every file git tracks in this checkout (outside ``.git`` by construction)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of tracked files")
    return [ROOT / name for name in listing.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary, undecodable or missing file."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """Relative path to text of every tracked text file."""
    found = {}
    for path in tracked_files():
        text = text_of(path)
        if text is not None:
            found[path.relative_to(ROOT).as_posix()] = text
    return found


@pytest.fixture(scope="module")
def calibration() -> str:
    return CALIBRATION.read_text(encoding="utf-8")


def _normalized(title: str) -> str:
    return " ".join(title.split())


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def test_the_pattern_catches_outside_references() -> None:
    for text in (
        "see ../" + "shared/" + "CALIBRATION" + ".md",
        "(CALIBRATION" + ".md hardware table)",
        "MESA_NOTES" + ".md says",
        "the specification (MODEL" + ".md section 2)",
    ):
        assert OUTSIDE_REFERENCE.search(text), text
    for text in ("docs/calibration.md", "docs/model.md", "the shared law", "sim/model.py"):
        assert not OUTSIDE_REFERENCE.search(text), text


def test_no_tracked_file_refers_to_documents_outside_the_repository(texts) -> None:
    assert "docs/model.md" in texts and "sim/config/scenario.py" in texts
    hits = [
        f"{path}:{_line(text, match.start())}: {match.group(0)}"
        for path, text in texts.items()
        for match in OUTSIDE_REFERENCE.finditer(text)
    ]
    assert not hits, (
        "these refer to files outside the repository, which a clone does not have; cite "
        "docs/calibration.md or a section of docs/model.md instead:\n" + "\n".join(hits)
    )


def test_calibration_has_the_sections_the_project_relies_on(calibration: str) -> None:
    titles = {_normalized(t) for t in HEADING.findall(calibration)}
    for title in (
        "Source documents",
        "Scaling law parameter sets",
        "Hardware and chips",
        "Energy",
        "Labs and funding",
        "R&D and efficiency projects",
        "Revenue",
        "Training runs 2020-2022",
        "Status-quo policies",
    ):
        assert title in titles, f"docs/calibration.md has no section '## ... {title}'"


def test_citations_are_found_across_line_breaks() -> None:
    name = "calibration" + ".md"  # not a citation of this file's own
    text = f'TDP from docs/{name} "Hardware and\n  chips"; (docs/{name}\n  "Energy")'
    assert [_normalized(t) for t in CITATION.findall(text)] == ["Hardware and chips", "Energy"]
    assert not CITATION.findall(f'docs/{name}: "+40-50%/yr (?)"')


def test_model_doc_cites_calibration_sections(texts) -> None:
    assert len(CITATION.findall(texts["docs/model.md"])) >= 5


def test_every_calibration_citation_names_an_existing_section(texts, calibration) -> None:
    titles = {_normalized(t) for t in HEADING.findall(calibration)}
    missing = [
        f'{path}:{_line(text, match.start())}: "{_normalized(match.group(1))}"'
        for path, text in texts.items()
        for match in CITATION.finditer(text)
        if _normalized(match.group(1)) not in titles
    ]
    assert not missing, (
        f"no such section in docs/calibration.md (sections: {sorted(titles)}):\n"
        + "\n".join(missing)
    )


def _code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def test_scenario_fields_named_in_calibration_exist(calibration: str) -> None:
    paths = [row["path"] for row in parameter_rows()]
    named = {
        span
        for span in _code_spans(calibration)
        if span.startswith(SCHEMA_ROOTS) and " " not in span
    }
    assert len(named) >= 20, "expected docs/calibration.md to name the scenario fields it feeds"
    unknown = [
        field
        for field in sorted(named)
        if not any(path == field or path.startswith((field + ".", field + "[].")) for path in paths)
    ]
    assert not unknown, f"docs/calibration.md names fields the schema does not have: {unknown}"


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


def test_code_names_in_calibration_exist(calibration: str) -> None:
    names = set()
    for span in _code_spans(calibration):
        match = re.match(r"(sim(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", span)
        if match:
            names.add(match.group(1))
    assert len(names) >= 10
    broken = []
    for name in sorted(names):
        try:
            _resolve(name)
        except (ImportError, AttributeError) as error:
            broken.append(f"{name}: {error}")
    assert not broken, "docs/calibration.md names code that does not exist:\n" + "\n".join(broken)


def test_files_named_in_calibration_exist(calibration: str) -> None:
    files = {
        span
        for span in _code_spans(calibration)
        if re.fullmatch(r"[\w./-]+/[\w.-]+\.(?:py|md|yaml)", span)
        and not span.startswith("results/")  # outputs of commands, not tracked
    }
    assert len(files) >= 3
    missing = [name for name in sorted(files) if not (ROOT / name).is_file()]
    assert not missing, f"docs/calibration.md names files that do not exist: {missing}"
