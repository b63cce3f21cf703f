"""``race dashboard`` in a real browser: Debian's headless Chromium driven by Playwright.

Starts ``python -m sim.cli dashboard CONFIG --port FREE_PORT`` on loopback, moves
the carbon-tax slider one step with the keyboard, ticks the generated export-control
checkbox for region cn, resets, steps five times and reads the page's numeric readout
and plots; the screenshot lands in the test's tmp_path.
Without /usr/bin/chromium (or when Playwright cannot launch it) the test is skipped
with the reason, so the README's test command passes on a fresh machine; with
``CI=true`` (set by ``.ci/run``, which installs Chromium) it fails instead, so CI
cannot skip it silently.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.builders import small_economy_dict

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SERVE_TIMEOUT_S = 60.0
UI_TIMEOUT_MS = 20_000
STEPS = 5
RESTRICT_CN = "export controls: restricted regions cn"
"""Label of a control generated from ``policy.export_controls.restricted_regions``."""
READOUT = re.compile(
    r"step (?P<step>\d+) · year (?P<year>[\d.]+) · leader (?P<leader>\S+) · "
    r"mean loss (?P<loss>[\d.]+) · carbon tax (?P<tax>[\d.e+]+) USD/tCO2"
)


def _browser_unavailable(reason: str) -> None:
    """Skip on a machine without the browser; fail in CI, which installs it."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        pytest.fail(f"CI=true, but {reason}: .ci/run installs Chromium, CI must run this test")
    pytest.skip(f"{reason}; install Debian's chromium (apt-get install chromium) to run it")


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        _browser_unavailable(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _browser_unavailable("Playwright is not installed (pip install -e '.[dev]')")


def _launch(playwright, profile: Path):
    """Chromium under Playwright, or a skip (a fail in CI) naming why it did not start."""
    from playwright.sync_api import Error

    try:
        return playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
    except Error as error:
        _browser_unavailable(f"Playwright cannot launch {CHROMIUM}: {str(error).splitlines()[0]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"dashboard exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"dashboard did not serve {url} within {SERVE_TIMEOUT_S:.0f} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen) -> int | None:
    """Ctrl-C as a terminal sends it (SIGINT to the process group); the exit code."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
    try:
        return server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        return None


def _readout(page) -> dict[str, str]:
    text = page.locator(".race-readout").inner_text()
    match = READOUT.search(text)
    assert match, f"unexpected readout: {text!r}"
    return match.groupdict()


def _image_sources(page) -> list[str]:
    return page.locator("img").evaluate_all("images => images.map(i => i.src)")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = small_economy_dict()
    for lab in data["labs"]:  # two-month runs that beat the starting model: loss falls in 5 steps
        lab["training"] = {"run_years": 2 / 12}
        lab["initial_compute"] = 1e24
    data["years"] = 2
    path = tmp_path / "tests-config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_dashboard_in_chromium(config: Path, tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from sim.viz.app import model_params

    tax_step = model_params(config)["carbon_tax"]["step"]
    port = _free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "sim.cli", "dashboard", str(config), "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/", server, log)
        with sync_playwright() as playwright:
            browser = _launch(playwright, tmp_path / "chromium-profile")
            try:
                _drive(browser.new_page(), port, tax_step, tmp_path, expect)
            finally:
                browser.close()
    finally:
        code = _stop(server)
    assert code == 0, f"Ctrl-C did not stop the dashboard cleanly ({code}):\n{log.read_text()}"


def _drive(page, port: int, tax_step: float, tmp_path: Path, expect) -> None:
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(f"http://127.0.0.1:{port}/")
    readout = page.locator(".race-readout")
    expect(readout).to_contain_text("step 0 ·", timeout=SERVE_TIMEOUT_S * 1000)
    start = _readout(page)
    assert float(start["tax"]) == 0
    images = _image_sources(page)
    assert len(images) >= 4, "loss, prices, shares and network plots"

    # One key press: several quick presses race the widget's echo, and the server may keep
    # an intermediate value (seen: the slider at 100 in the page, 20 on the server).
    slider = page.get_by_role("slider", name="carbon tax (USD/tCO2)")
    slider.focus()
    slider.press("ArrowRight")
    tax = tax_step
    expect(slider).to_have_attribute("aria-valuenow", f"{tax:g}")
    shown = slider.evaluate("thumb => getComputedStyle(thumb, '::after').content")
    assert shown == f'"{tax:g}"', "the slider's value is written beside its thumb"
    for name in ("Economy", "Levers and ranges"):  # named tabs, not "Page 0", "Page 1"
        expect(page.get_by_role("tab", name=name)).to_be_visible()
    restrict = page.get_by_role("checkbox", name=RESTRICT_CN)
    expect(restrict).not_to_be_checked()
    restrict.check(force=True)  # Vuetify draws its own box over the native input
    expect(restrict).to_be_checked()
    expect(readout).to_contain_text("other levers: at defaults")  # not before Reset
    page.get_by_role("button", name="Reset").click()
    expect(readout).to_contain_text(f"carbon tax {tax:g} USD/tCO2")
    expect(readout).to_contain_text("other levers: export_controls.restricted_regions cn")

    for step in range(1, STEPS + 1):
        page.get_by_role("button", name="Step").click()
        expect(readout).to_contain_text(f"step {step} ·")
    # Mesa's own counter: "Step: 5" in Mesa 3.3, "Time: 5.0" from Mesa 3.4 (time advances 1 a step)
    counter = re.compile(rf"^(Step: {STEPS}|Time: {STEPS}\.0)$")
    expect(page.get_by_text(counter)).to_be_visible()

    end = _readout(page)
    assert float(end["year"]) == pytest.approx(float(start["year"]) + STEPS / 12, abs=0.006)
    assert float(end["loss"]) < float(start["loss"])  # compute grew, loss fell
    assert float(end["tax"]) == tax
    changed = [a != b for a, b in zip(images, _image_sources(page), strict=False)]
    assert sum(changed) >= 4, "every plot re-rendered after stepping"
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
