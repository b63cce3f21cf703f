"""race compare: paired what-if differences with common seeds and t intervals."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.analysis.whatif import confidence_interval, paired_differences
from sim.cli.main import main
from tests.builders import small_economy_dict


def test_confidence_interval_matches_a_hand_computation():
    values = np.array([1.0, 2.0, 4.0, 5.0])
    low, high = confidence_interval(values)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2.0
    assert (low, high) == pytest.approx((3.0 - half, 3.0 + half))
    assert all(math.isnan(v) for v in confidence_interval(np.array([1.0])))


def test_pairing_removes_shared_noise():
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 10, 20)
    pairs = pd.DataFrame({"x_base": shared, "x_alt": shared + 1.0 + rng.normal(0, 0.1, 20)})
    pairs["x_diff"] = pairs["x_alt"] - pairs["x_base"]
    row = paired_differences(pairs, ["x"]).iloc[0]
    assert row["ci_low"] < 1.0 < row["ci_high"]
    paired_width = row["ci_high"] - row["ci_low"]
    unpaired = stats.ttest_ind(pairs["x_alt"], pairs["x_base"]).confidence_interval()
    assert paired_width < (unpaired.high - unpaired.low) / 10


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    base = {**small_economy_dict(), "name": "base", "years": 1}
    alt = {**base, "name": "taxed", "policy": {"carbon_tax": 200.0}}
    (folder / "base.yaml").write_text(yaml.safe_dump(base))
    (folder / "alt.yaml").write_text(yaml.safe_dump(alt))
    argv = ["compare", str(folder / "base.yaml"), str(folder / "alt.yaml"), "--replications", "3",
            "--results", str(folder), "--out", "cmp", "--master-seed", "5"]  # fmt: skip
    return folder, argv


def test_compare_writes_table_pairs_and_figure(compared, capsys):
    folder, argv = compared
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "taxed - base" in out and "total_emissions_t" in out
    table = pd.read_csv(folder / "cmp" / "compare.csv").set_index("output")
    pairs = pd.read_csv(folder / "cmp" / "pairs.csv")
    assert len(pairs) == 3 and pairs["seed"].nunique() == 3
    emissions = table.loc["total_emissions_t"]
    assert emissions["mean_difference"] == pytest.approx(pairs["total_emissions_t_diff"].mean())
    assert emissions["mean_difference"] < 0, "a carbon tax lowers emissions"
    assert emissions["n"] == 3 and emissions["ci_low"] <= emissions["ci_high"]
    assert (folder / "cmp" / "compare.png").read_bytes().startswith(b"\x89PNG")


def test_both_arms_share_each_replicates_seed(compared, monkeypatch):
    import sim.analysis.whatif

    seen = []
    real = sim.analysis.whatif.execute_batch

    def spy(runs, base, name, record):
        seen.extend((base["name"], run.replicate, run.seed) for run in runs)
        return real(runs, base, name, record)

    monkeypatch.setattr(sim.analysis.whatif, "execute_batch", spy)
    folder, argv = compared
    assert main([*argv, "--out", "spy", "--outputs", "total_emissions_t"]) == 0
    by_arm = {name: {(r, s) for n, r, s in seen if n == name} for name in ("base", "taxed")}
    assert by_arm["base"] == by_arm["taxed"] and len(by_arm["base"]) == 3


def test_manifest_and_report_record_what_was_compared(compared, capsys):
    from tests.test_report import assert_self_contained

    folder, argv = compared
    assert main([*argv, "--out", "reported", "--replications", "2", "--quiet"]) == 0
    manifest = json.loads((folder / "reported" / "compare.json").read_text(encoding="utf-8"))
    pairs = pd.read_csv(folder / "reported" / "pairs.csv")
    assert manifest["seeds"] == pairs["seed"].tolist() and manifest["master_seed"] == 5
    assert manifest["base"] == "base" and manifest["alt"] == "taxed"
    assert manifest["alt_scenario"]["policy"]["carbon_tax"] == 200.0
    assert manifest["base_scenario"]["policy"]["carbon_tax"] == 0.0
    assert manifest["runs_ok"] == 4 and "mesa" in manifest["versions"]
    capsys.readouterr()
    assert main(["report", str(folder / "reported")]) == 0
    text = (folder / "reported" / "report.html").read_text(encoding="utf-8")
    page = assert_self_contained(text)
    assert len(page.images) == 1 and page.tags.count("table") == 2
    assert "<h2>Paired differences: taxed - base</h2>" in text and "<h2>Manifest</h2>" in text
    assert "total_emissions_t" in text and "2 paired replicates" in text


def test_processes_give_the_serial_pairs_and_progress_shows_unless_quiet(compared, capsys):
    folder, argv = compared
    assert main([*argv, "--out", "serial", "--quiet"]) == 0
    assert "run/s" not in capsys.readouterr().err
    assert main([*argv, "--out", "procs", "--backend", "processes", "--workers", "2"]) == 0
    assert "6/6" in capsys.readouterr().err
    serial = pd.read_csv(folder / "serial" / "pairs.csv")
    pd.testing.assert_frame_equal(serial, pd.read_csv(folder / "procs" / "pairs.csv"))


@pytest.mark.parametrize(
    "extra", [["--replications", "0"], ["--outputs", "no_such_output"], ["--out", "../x"]]
)
def test_bad_arguments_exit_2(compared, extra):
    _, argv = compared
    assert main([*argv, *extra]) == 2


def test_invalid_scenario_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nlabs: []\n")
    assert main(["compare", str(bad), str(bad), "--results", str(tmp_path)]) == 2


def test_compare_csv_recomputes_from_pairs_csv(compared):
    folder, argv = compared
    assert main([*argv, "--out", "recompute"]) == 0
    table = pd.read_csv(folder / "recompute" / "compare.csv").set_index("output")
    pairs = pd.read_csv(folder / "recompute" / "pairs.csv")
    for output, row in table.iterrows():
        diff = pairs[f"{output}_diff"].to_numpy()
        assert diff == pytest.approx(pairs[f"{output}_alt"] - pairs[f"{output}_base"])
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
        base_mean = pairs[f"{output}_base"].mean()
        expected = [
            base_mean,
            pairs[f"{output}_alt"].mean(),
            diff.mean(),
            diff.mean() - half,
            diff.mean() + half,
            100 * diff.mean() / abs(base_mean),
        ]
        columns = ["base_mean", "alt_mean", "mean_difference", "ci_low", "ci_high",
                   "relative_difference_pct"]  # fmt: skip
        assert row[columns].to_numpy(float) == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert row["n"] == len(diff) == 3


def test_one_replication_gives_nan_intervals(compared, capsys):
    folder, argv = compared
    argv = [*argv, "--out", "single", "--replications", "1", "--outputs", "total_emissions_t"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "NaN" in out
    assert "taxed - base (paired)\n" in out, "no claim of 95% intervals"
    assert "no confidence interval for any output: 1 pair" in out
    assert "--replications 2 or more" in out
    row = pd.read_csv(folder / "single" / "compare.csv").iloc[0]
    assert row["n"] == 1 and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def test_one_replication_draws_no_interval_but_says_so(compared, capsys):
    """The figure of --replications 1 has bars, no whiskers, and notes that there is no CI."""
    from matplotlib.container import ErrorbarContainer

    from sim.viz.plots import compare_figure

    folder, argv = compared
    outputs = ["mean_final_loss", "total_emissions_t"]
    assert main([*argv, "--out", "one", "--replications", "1", "--outputs", *outputs]) == 0
    assert (folder / "one" / "compare.png").is_file()
    table = pd.read_csv(folder / "one" / "compare.csv")
    axes = compare_figure(table, "base", "taxed").axes[0]
    assert not [c for c in axes.containers if isinstance(c, ErrorbarContainer)]
    assert [t.get_text() for t in axes.texts] == ["no CI: 1 pair", "no CI: 1 pair"]
    assert axes.get_xlabel() == "taxed - base, % of base mean (one pair: no confidence interval)"
    assert len(axes.patches) == 2, "the mean differences are still drawn"
    assert main(["report", str(folder / "one")]) == 0
    text = (folder / "one" / "report.html").read_text(encoding="utf-8")
    assert "no confidence interval for any output: 1 pair" in text
    assert "95% t confidence intervals" not in text


def test_intervals_are_drawn_from_two_pairs(compared, capsys):
    from matplotlib.container import ErrorbarContainer

    from sim.viz.plots import compare_figure

    folder, argv = compared
    assert main([*argv, "--out", "two", "--replications", "2", "--outputs", "hhi_compute"]) == 0
    assert "no confidence interval" not in capsys.readouterr().out
    table = pd.read_csv(folder / "two" / "compare.csv")
    axes = compare_figure(table, "base", "taxed").axes[0]
    bars = [c for c in axes.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1 and not axes.texts
    assert axes.get_xlabel().endswith("(95% CI)")
