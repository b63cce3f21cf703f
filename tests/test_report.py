"""``race report``: one self-contained HTML file for a run or a sweep folder."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from sim.cli.main import main
from sim.viz.report import write_report
from tests.builders import small_economy_dict
from tests.test_plots import LABS, PNG_MAGIC, tiny_sweep


class Page(HTMLParser):
    """Collects the tags, image sources and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "src" and tag == "img":
                self.images.append(value or "")
            elif name in ("src", "href", "srcset", "action", "data"):
                self.links.append(value or "")


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def assert_self_contained(text: str) -> Page:
    """No external reference anywhere; every image an embedded PNG; it parses."""
    assert "http://" not in text and "https://" not in text
    assert 'src="/' not in text and "url(" not in text and "@import" not in text
    page = parse(text)
    assert page.tags[0] == "html" and "body" in page.tags
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert page.links == []
    for source in page.images:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        assert base64.b64decode(source[len(prefix) :]).startswith(PNG_MAGIC)
    return page


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    config = root / "small.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "years": 1}))
    argv = ["run", str(config), "--results", str(root), "--out", "run", "--no-figures"]
    assert main(argv) == 0
    return root / "run"


def test_run_report_is_self_contained_with_labs_figures_and_scenario(run_folder, capsys):
    assert main(["report", str(run_folder)]) == 0
    path = run_folder / "report.html"
    assert f"wrote {path}" in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    page = assert_self_contained(text)
    assert len(page.images) == 6  # loss, shares, compute, chips, energy, network
    for lab in LABS:
        assert lab in text
    for heading in ("Run summary", "Lab summary", "Figures", "Scenario (scenario.yaml)"):
        assert f"<h2>{heading}</h2>" in text
    assert "nats/token" in text and "steps_per_year: 12" in text
    assert page.tags.count("table") == 2


def test_sweep_report_has_point_statistics_figures_and_manifest(tmp_path_factory, tmp_path):
    sweep = tiny_sweep(tmp_path_factory)
    out = sweep.parent / "sweep.html"
    assert main(["report", str(sweep), "--out", "sweep.html"]) == 0
    text = out.read_text(encoding="utf-8")
    page = assert_self_contained(text)
    assert len(page.images) >= 5  # two fan charts and three heatmaps
    assert "<h2>Runs by design point</h2>" in text and "<h2>Manifest</h2>" in text
    assert "mean_final_loss mean [nats/token]" in text
    rows = re.findall(r"<tr>\s*<td>(\d)</td>", text)
    assert rows == ["0", "1", "2", "3"]  # one row per design point
    for lab in LABS:
        assert lab in text  # the manifest's base scenario names them
    assert not (sweep / "report.html").exists()


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_bad_folders_exit_2_with_one_line(tmp_path, capsys, folder):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / folder)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("race: error:") and error.count("\n") == 1
    expected = "does not exist" if folder == "missing" else "not a race run or race sweep"
    assert expected in error


def test_write_report_raises_value_error_for_bad_output(run_folder, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        write_report(run_folder, run_folder.parent / "no" / "such" / "report.html")
    with pytest.raises(ValueError, match="is a folder"):
        write_report(run_folder, run_folder)
    with pytest.raises(ValueError, match="not a race run"):
        write_report(tmp_path)
