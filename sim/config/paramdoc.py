"""The parameter reference, derived from the pydantic schema so it cannot drift from the code.

:func:`parameter_rows` walks :class:`sim.config.scenario.Scenario` recursively (nested
models and the item models of lists, e.g. ``labs[].cash`` or
``policy.export_controls.max_tpp``) and returns one row per leaf field with its
path, type, unit, default, bounds and description, all read from the field
declarations: the unit from ``json_schema_extra["unit"]`` (set by
:func:`sim.config.scenario.param`), the bounds from the ``annotated_types`` constraints
(``Ge``, ``Gt``, ``Le``, ``Lt``, ``MinLen``, ``MaxLen``) in ``FieldInfo.metadata``.
:func:`parameter_table_markdown` renders the rows as the Markdown table pasted
into ``docs/model.md``; ``tests/test_docs.py`` checks the two are identical.

Regenerate the table with::

    python -c "from sim.config.paramdoc import parameter_table_markdown as t; print(t())"
"""

from __future__ import annotations

import math
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.config.scenario import Scenario

COLUMNS = ("path", "type", "unit", "default", "bounds", "description")
"""Keys of every row and columns of the Markdown table, in order."""

NOT_A_QUANTITY = "-"
"""Unit shown for fields that are not quantities (names, switches, choices)."""

_NON_QUANTITY_TYPES = (str, bool)


def parameter_rows(model: type[BaseModel] = Scenario) -> list[dict[str, str]]:
    """One row per leaf parameter of ``model``, in declaration order (depth first).

    Nested models contribute their fields under ``parent.`` and list item models
    under ``parent[].``; the container itself is not a row.

    Args:
        model: the pydantic model to walk (the whole :class:`~sim.config.scenario.Scenario`
            by default).

    Returns:
        Dicts with the keys of :data:`COLUMNS`, every value a string: ``path``
        (dotted, ``[]`` for list items), ``type`` (readable type), ``unit``
        (``"-"`` for names, switches and choices), ``default`` (``required``
        when there is none), ``bounds`` (interval such as ``[0, 1e+14]`` or
        ``(0, 2]``, length limits or name pattern; ``-`` when unconstrained) and
        ``description``.
    """
    rows: list[dict[str, str]] = []
    _walk(model, "", rows)
    return rows


def parameter_table_markdown(model: type[BaseModel] = Scenario) -> str:
    """The rows of :func:`parameter_rows` as a Markdown table (no trailing newline).

    Paths are code spans; ``|`` inside a cell is escaped so the table stays valid.

    Args:
        model: the pydantic model to document (the :class:`~sim.config.scenario.Scenario`
            by default).
    """
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in parameter_rows(model):
        cells = [f"`{row['path']}`"] + [row[key] for key in COLUMNS[1:]]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Walking the schema
# --------------------------------------------------------------------------


def _walk(model: type[BaseModel], prefix: str, rows: list[dict[str, str]]) -> None:
    """Append the leaf rows of ``model`` with paths starting ``prefix``.

    Fields excluded from dumps (``Scenario.policy_schedule``: a file writes
    schedules in place of their lever) are not parameters of their own.
    """
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        path = f"{prefix}{name}"
        nested, is_list = _nested_model(field.annotation)
        if nested is not None:
            _walk(nested, f"{path}[]." if is_list else f"{path}.", rows)
            continue
        rows.append(_row(path, field))


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """``(model, is_list)`` if the annotation is a model, optional model or list of models."""
    annotation = _strip_optional(annotation)
    if _is_model(annotation):
        return annotation, False
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (Any,)
        item = _strip_optional(item)
        if _is_model(item):
            return item, True
    return None, False


def _strip_optional(annotation: Any) -> Any:
    """``X`` for ``X | None``; anything else unchanged."""
    if _is_union(annotation):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _row(path: str, field: FieldInfo) -> dict[str, str]:
    """The documentation row of one leaf field."""
    return {
        "path": path,
        "type": _type_text(field.annotation),
        "unit": _unit(field),
        "default": _default_text(field),
        "bounds": _bounds_text(field),
        "description": (field.description or "").strip(),
    }


# --------------------------------------------------------------------------
# Rendering one field
# --------------------------------------------------------------------------


def _type_text(annotation: Any) -> str:
    """A readable type: ``float``, ``float or null``, ``list of str``, ``one of: a, b``."""
    if annotation is type(None):
        return "null"
    if get_origin(annotation) is Annotated:
        return _type_text(get_args(annotation)[0])
    if _is_union(annotation):
        return " or ".join(_type_text(member) for member in get_args(annotation))
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(str(value) for value in get_args(annotation))
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return f"list of {_type_text(item)}"
    if origin is dict:
        key, value = get_args(annotation) or (Any, Any)
        return f"map {_type_text(key)} to {_type_text(value)}"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _unit(field: FieldInfo) -> str:
    """The declared unit; ``-`` for names, switches and choices; else empty (undocumented)."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("unit"):
        return str(extra["unit"])
    if _is_non_quantity(field.annotation):
        return NOT_A_QUANTITY
    return ""


def _is_non_quantity(annotation: Any) -> bool:
    """True for str, bool, Literal choices and lists of them (optionally nullable)."""
    annotation = _strip_optional(annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return _is_non_quantity(item)
    return annotation in _NON_QUANTITY_TYPES


def _default_text(field: FieldInfo) -> str:
    """The default as YAML would spell it (``null``, ``true``, ``[]``), or ``required``."""
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    return _value_text(field.get_default(call_default_factory=True))


def _value_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{key}: {_value_text(item)}" for key, item in value.items())
        return "{" + items + "}"
    return str(value)


def _number(value: float) -> str:
    """Shortest faithful text: ints as digits, floats as ``%g`` unless that rounds."""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:g}"
    return text if float(text) == value else repr(value)


def _bounds_text(field: FieldInfo) -> str:
    """Interval from Ge/Gt/Le/Lt (``[0, 1e+14]``, ``(0, 2]``), length limits, pattern.

    Constraints on the items of a list or the values of a map (an ``Annotated``
    item type) are shown as ``items [a, b]`` or ``values [a, b]``.
    """
    parts = _constraint_texts(field.metadata)
    annotation = _strip_optional(field.annotation)
    origin = get_origin(annotation)
    if origin in (list, dict) and get_args(annotation):
        inner = _constraint_texts(_annotated_metadata(get_args(annotation)[-1]))
        label = "items" if origin is list else "values"
        parts.extend(f"{label} {text}" for text in inner)
    return "; ".join(parts) if parts else "-"


def _annotated_metadata(annotation: Any) -> list[Any]:
    """The constraints attached to ``Annotated[X, ...]`` (FieldInfo metadata flattened)."""
    items: list[Any] = []
    for extra in getattr(annotation, "__metadata__", ()):
        items.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
    return items


def _constraint_texts(metadata: list[Any]) -> list[str]:
    """Render annotated_types constraints as an interval, length limits and a pattern."""
    low = high = None
    low_open = high_open = False
    min_len = max_len = None
    pattern = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low, low_open = item.ge, False
        elif isinstance(item, annotated_types.Gt):
            low, low_open = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high, high_open = item.le, False
        elif isinstance(item, annotated_types.Lt):
            high, high_open = item.lt, True
        elif isinstance(item, annotated_types.MinLen):
            min_len = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            max_len = item.max_length
        elif getattr(item, "pattern", None):
            pattern = item.pattern
    parts = []
    if low is not None or high is not None:
        left = "(-inf" if low is None else ("(" if low_open else "[") + _number(low)
        right = "inf)" if high is None else _number(high) + (")" if high_open else "]")
        parts.append(f"{left}, {right}")
    if min_len is not None or max_len is not None:
        top = "inf)" if max_len is None else f"{max_len}]"
        parts.append(f"length [{min_len or 0}, {top}")
    if pattern is not None:
        parts.append(f"pattern `{pattern}`")
    return parts


def _cell(text: str) -> str:
    """Escape a table cell: pipes and line breaks would break the row."""
    return " ".join(text.split()).replace("|", "\\|")
