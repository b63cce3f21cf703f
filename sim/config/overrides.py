"""``--set path.to.field=value``: overrides of a config mapping, by dotted path.

Shared by scenarios (``race run --set``), experiments (``race sweep --set``),
lever values (each design point sets its levers by path) and the dashboard.
"""

from __future__ import annotations

from typing import Any

import yaml

from sim.config.scenario import ConfigError, UniqueKeyLoader, describe_yaml_error


def parse_overrides(assignments: list[str]) -> list[tuple[str, Any]]:
    """``path.to.field=value`` strings into (path, value); values are parsed as YAML.

    Raises:
        ConfigError: for an assignment without ``=`` or with a bad path.
    """
    parsed, problems = [], []
    for text in assignments:
        path, sep, raw = text.partition("=")
        if not sep or not path:
            problems.append(f"--set {text!r}: expected path.to.field=value")
            continue
        try:
            value = yaml.load(raw, Loader=UniqueKeyLoader) if raw else ""  # a SafeLoader
        except yaml.YAMLError as error:
            problems.append(f"--set {text!r}: in the value, {describe_yaml_error(error)}")
            continue
        parsed.append((path.strip(), value))
    if problems:
        raise ConfigError("--set", problems, "override")
    return parsed


def apply_overrides(
    data: dict[str, Any], assignments: list[str], source: str, kind: str = "scenario"
) -> None:
    """Apply ``--set path=value`` assignments to a config mapping, in place.

    ``kind`` (``scenario`` or ``experiment``) names what ``source`` is in errors.

    Raises:
        ConfigError: for a malformed assignment or a path that leads nowhere.
    """
    for field_path, value in parse_overrides(assignments):
        try:
            set_path(data, field_path, value)
        except ValueError as error:
            raise ConfigError(source, [f"--set {error}"], kind) from None


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path in a nested scenario mapping, in place.

    List items are addressed by index (``labs.0.cash``) or all at once with
    ``*`` (``labs.*.cash``); mapping keys may be new (``policy.power_caps.us``).

    Raises:
        ValueError: naming the path when it does not lead anywhere.
    """
    for node, key in _leaves(data, path.split("."), path):
        node[key] = value


def _leaves(node: Any, parts: list[str], path: str):
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        indices = range(len(node)) if head == "*" else [_index(head, len(node), path)]
        for i in indices:
            yield from (((node, i),) if not rest else _leaves(node[i], rest, path))
        return
    if not isinstance(node, dict):
        raise ValueError(f"{path}: cannot go into a {type(node).__name__} at {head!r}")
    if not rest:
        yield node, head
        return
    if head not in node or node[head] is None:
        node[head] = {}
    yield from _leaves(node[head], rest, path)


def _index(text: str, length: int, path: str) -> int:
    if not text.isdigit() or int(text) >= length:
        raise ValueError(f"{path}: list index {text!r} is not in [0, {length - 1}]")
    return int(text)
