"""``race dashboard``: the interactive Solara dashboard (Mesa's SolaraViz) on localhost.

CONFIG is validated here, before any server starts, so a missing or invalid
file ends with the usual one-line message and exit code 2. The server is
``solara run sim.viz.app --production`` in a child process that gets CONFIG from
the environment variable :data:`sim.viz.app.CONFIG_ENV`; Ctrl-C (or SIGTERM)
stops the child and returns 0. Any ``--host`` but a loopback address gets a
warning on stderr that the dashboard has no authentication
(:func:`exposure_warning`).
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

from sim.config.scenario import PACKAGED_BASELINE as PACKAGED_CONFIG

"""The default CONFIG, shipped with the package (a copy of ``experiments/baseline.yaml``),
so ``race dashboard`` works from any folder."""
CONFIG_ENV = "RACE_DASHBOARD_CONFIG"  # the same name as sim.viz.app.CONFIG_ENV (no solara import)
DASHBOARD_PACKAGES = ("solara", "ipyvuetify", "mesa.visualization", "altair")
GRACE_S = 5.0
STOP_TIMEOUT_S = 10.0

_QUIET_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no usage reports from a closed network
}


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race dashboard`` to the ``race`` parser."""
    parser = commands.add_parser(
        "dashboard",
        help="interactive dashboard: levers, play/step/reset, live plots (Solara)",
        description="Serve a SolaraViz dashboard of CONFIG on HOST:PORT until Ctrl-C.",
    )
    parser.add_argument(
        "config",
        nargs="?",
        default=None,
        help="scenario YAML (default: the baseline economy shipped with the package)",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.set_defaults(handler=_dashboard)


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"--port must be in [1, 65535], got {port}")


def _check_installed() -> None:
    """Fail with exit 2 and the install command when the dashboard extra is missing."""
    missing = [name for name in DASHBOARD_PACKAGES if not _importable(name)]
    if missing:
        raise ValueError(
            f"the dashboard needs {', '.join(missing)}: pip install 'efficiency-race[dashboard]'"
            " (or -e '.[dashboard]' in a checkout)"
        )


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """The warning for serving on ``host``, or None if it is a loopback address.

    The dashboard has no authentication: whoever reaches it can run simulations
    on this machine, so leaving loopback must be a deliberate choice.
    """
    if _is_loopback(host):
        return None
    return (
        f"race dashboard: warning: --host {host} is not a loopback address; the dashboard has "
        f"no authentication, so anyone who can reach this machine on port {port} can use it "
        "(use --host 127.0.0.1 to keep it local)"
    )


def _is_loopback(host: str) -> bool:
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def server_command(host: str, port: int) -> list[str]:
    """The child process: Solara's production server for the ``sim.viz.app`` module."""
    return [
        sys.executable, "-m", "solara", "run", "sim.viz.app",
        "--host", host, "--port", str(port), "--production", "--no-open", "--no-check-version",
    ]  # fmt: skip


def _dashboard(args: argparse.Namespace) -> int:
    from sim.config.scenario import load_scenario

    _check_port(args.port)
    config = Path(args.config).resolve() if args.config else PACKAGED_CONFIG
    scenario = load_scenario(config)  # ConfigError (a ValueError): exit 2 before any server
    _check_installed()
    env = {**os.environ, **_QUIET_ENV, CONFIG_ENV: str(config)}
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr)
    print(f"race dashboard: {scenario.name} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    sys.stdout.flush()
    return serve(server_command(args.host, args.port), env)


def serve(command: list[str], env: dict[str, str]) -> int:
    """Run the server in the foreground; Ctrl-C or SIGTERM stops it and returns 0."""
    child = subprocess.Popen(command, env=env)

    def forward_sigterm(signum: int, frame: object) -> None:
        child.send_signal(signal.SIGINT)  # only a terminal's Ctrl-C reaches the child itself
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, forward_sigterm)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        _stop(child)
        print("race dashboard: stopped", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0 if code in (0, -signal.SIGINT, -signal.SIGTERM) else code


def _stop(child: subprocess.Popen) -> None:
    """Let the server finish (Ctrl-C reached it too), else interrupt it, else kill it."""
    try:
        for action, timeout in ((None, GRACE_S), (signal.SIGINT, STOP_TIMEOUT_S)):
            if action is not None and child.poll() is None:
                child.send_signal(action)
            try:
                child.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: stop now
    child.kill()
    child.wait()
