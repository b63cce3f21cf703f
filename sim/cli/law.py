"""``race law ...``: quick what-ifs on the scaling law from a shell."""

from __future__ import annotations

import argparse
import itertools

from sim import law


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race law`` and its subcommands to the ``race`` parser."""
    parser = commands.add_parser("law", help="closed-form what-ifs on the scaling law")
    sub = parser.add_subparsers(dest="law_command", required=True, parser_class=type(parser))
    _add_time_to_target(sub)
    _add_relative_loss(sub)
    _add_fleet_factor(sub)
    _add_optimal(sub)
    _add_run_length(sub)
    _add_params(sub)


def _floats(parser: argparse.ArgumentParser, flag: str, default, help_text: str) -> None:
    parser.add_argument(flag, type=float, nargs="+", default=default, help=help_text)


def _add_time_to_target(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("time-to-target", help="years until R(t) reaches R*")
    _floats(p, "--r-target", [0.68], "target relative loss R*, in (0, 1]")
    _floats(p, "--gamma", [0.0, 0.5, 1.0, 2.0, 3.0], "efficiency doublings per year, >= 0")
    _floats(p, "--kappa", [law.KAPLAN_KAPPA], "scaling exponent, > 0")
    p.set_defaults(handler=_time_to_target)


def _add_relative_loss(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relative-loss", help="R(t) = L(t)/L0 after t years")
    _floats(p, "--t", [1.0, 5.0, 10.0, 20.0], "years since the baseline year, >= 0")
    _floats(p, "--gamma", [0.5], "efficiency doublings per year, >= 0")
    _floats(p, "--kappa", [law.KAPLAN_KAPPA], "scaling exponent, > 0")
    p.set_defaults(handler=_relative_loss)


def _add_fleet_factor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fleet-factor", help="fleet multiple reaching R* within a year at gamma 0")
    _floats(p, "--r-target", [0.68], "target relative loss R*, in (0, 1]")
    _floats(p, "--kappa", [law.KAPLAN_KAPPA], "scaling exponent, > 0")
    p.set_defaults(handler=_fleet_factor)


def _add_optimal(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimal", help="compute-optimal N and D for a compute budget")
    _floats(p, "--compute", [1e24], "logical compute in FLOP, > 0")
    p.add_argument(
        "--params",
        nargs="+",
        default=list(law.PARAMETER_SETS),
        help=f"parameter sets: {', '.join(law.PARAMETER_SETS)}",
    )
    p.set_defaults(handler=_optimal)


def _add_run_length(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "optimal-run-length", help="years of the training run that ends at a deadline best"
    )
    _floats(p, "--gamma", [0.5, 1.0, 2.0, 3.0], "efficiency doublings per year, >= 0")
    _floats(p, "--usable-share", [0.0], "share of mid-run gains a run can use, in [0, 1]")
    p.set_defaults(handler=_run_length)


def _add_params(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("params", help="list the named scaling-law parameter sets")
    p.set_defaults(handler=_params)


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _time_to_target(args: argparse.Namespace) -> int:
    rows = []
    for r, g, k in itertools.product(args.r_target, args.gamma, args.kappa):
        rows.append([_fmt(r), _fmt(g), _fmt(k), _fmt(float(law.time_to_target(r, g, k)))])
    _print_table(["R_target", "gamma", "kappa", "years"], rows)
    return 0


def _relative_loss(args: argparse.Namespace) -> int:
    rows = []
    for t, g, k in itertools.product(args.t, args.gamma, args.kappa):
        rows.append([_fmt(t), _fmt(g), _fmt(k), _fmt(float(law.relative_loss(t, g, k)))])
    _print_table(["t_years", "gamma", "kappa", "R"], rows)
    return 0


def _fleet_factor(args: argparse.Namespace) -> int:
    rows = []
    for r, k in itertools.product(args.r_target, args.kappa):
        rows.append([_fmt(r), _fmt(k), _fmt(float(law.fleet_factor(r, k)))])
    _print_table(["R_target", "kappa", "fleet_factor"], rows)
    return 0


def _optimal(args: argparse.Namespace) -> int:
    sets = [law.parameter_set(name) for name in args.params]
    rows = []
    for params, c in itertools.product(sets, args.compute):
        n, d = params.compute_optimal(c)
        loss = float(params.optimal_loss(c))
        rows.append([params.name, _fmt(c), _fmt(n), _fmt(d), _fmt(d / n), _fmt(loss)])
    _print_table(["params", "compute", "N", "D", "tokens_per_param", "loss"], rows)
    return 0


def _run_length(args: argparse.Namespace) -> int:
    rows = []
    for g, u in itertools.product(args.gamma, args.usable_share):
        rows.append([_fmt(g), _fmt(u), _fmt(float(law.optimal_run_length(g, u)))])
    _print_table(["gamma", "usable_share", "years"], rows)
    return 0


def _params(args: argparse.Namespace) -> int:
    rows = [
        [p.name, _fmt(p.E), _fmt(p.K), _fmt(p.kappa), p.source] for p in law.PARAMETER_SETS.values()
    ]
    _print_table(["name", "E", "K", "kappa", "source"], rows)
    return 0
