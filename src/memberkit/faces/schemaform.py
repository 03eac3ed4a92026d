"""Forms built from a JSON Schema: the fields of a settings section, and its value read back.

The console's settings pages show each section's value (``Section.schema()``) as a form:
strings, numbers, booleans and enums as inputs; lists of strings or numbers one per line;
maps of names to strings as ``name = value`` lines; nested objects as groups. A shape the
form cannot lay out field by field (a list of objects, a map of objects, a free object, one
of several shapes) is a JSON textarea, and the field says which shape it is. Nothing here
decides whether a value is valid: the section's parser does, when the service stores it;
reading the form only refuses what cannot be read at all (a number that is not one, JSON
that does not parse), next to the field.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from memberkit.kit.i18n import Text, _

Kind = Literal["text", "integer", "boolean", "select", "lines", "map", "json", "group"]
#: The prefix of every field's form name (``v.points_per_unit``, ``v.decay.share``).
PREFIX = "v."
#: The largest integer a form field takes (the API's JSON takes no larger either).
_INTEGER = re.compile(r"^-?\d{1,18}$")
#: Why a field is a JSON textarea, by the shape the form cannot lay out.
WHY_JSON: dict[str, str] = {
    "objects": _("a list of objects"),
    "map": _("a map of names to objects"),
    "object": _("an object of any shape"),
    "choice": _("one of several shapes"),
    "unknown": _("a shape this form does not know"),
}


@dataclass
class Field:
    """One field of the form, with the value it shows (text, or a box's state)."""

    key: str
    path: str
    kind: Kind
    title: str
    description: str | None = None
    required: bool = False
    nullable: bool = False
    options: list[str] = field(default_factory=list)
    examples: str = ""
    shown: str = ""
    checked: bool = False
    why_json: str | None = None
    error: Text | None = None
    children: list[Field] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The form field's name."""
        return PREFIX + self.path


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """Follow ``$ref``, unwrap ``anyOf [X, null]``; return the node and whether null is allowed."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        node = defs.get(ref.removeprefix("#/$defs/"), {})
    options = node.get("anyOf")
    if isinstance(options, list):
        others = [o for o in options if isinstance(o, Mapping) and o.get("type") != "null"]
        nullable = len(others) < len(options)
        if len(others) == 1:
            inner, _null = _resolve(others[0], defs)
            return {**{k: v for k, v in node.items() if k != "anyOf"}, **inner}, nullable
        return {"x-choice": True, **node}, nullable
    return node, False


def _kind(node: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[Kind, str | None]:
    """The kind of field for a (resolved) schema node, and why it is JSON when it is."""
    if node.get("x-choice"):
        return "json", "choice"
    kind = node.get("type")
    if isinstance(node.get("enum"), list) and kind in ("string", None):
        return "select", None
    if kind == "string":
        return "text", None
    if kind in ("integer", "number"):
        return "integer", None
    if kind == "boolean":
        return "boolean", None
    if kind == "array":
        items, _null = _resolve(node.get("items", {}), defs)
        if items.get("type") in ("string", "integer") and "enum" not in items:
            return "lines", None
        return "json", "objects"
    if kind == "object":
        if node.get("properties"):
            return "group", None
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping) and extra.get("type") == "string":
            return "map", None
        if isinstance(extra, Mapping) and extra.get("type") == "object":
            return "json", "map"
        return "json", "object"
    return "json", "unknown"


def _shown(kind: Kind, value: Any) -> str:
    """The text a field shows for the value it holds."""
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if kind == "map" and isinstance(value, Mapping):
        return "\n".join(f"{key} = {item}" for key, item in value.items())
    if (
        kind in ("text", "select", "integer")
        and isinstance(value, str | int)
        and not (isinstance(value, bool))
    ):
        return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2)


def fields(
    schema: Mapping[str, Any],
    value: Any,
    *,
    entered: Mapping[str, str] | None = None,
    errors: Mapping[str, Text] | None = None,
) -> list[Field] | None:
    """The form of ``schema`` showing ``value`` (or what was ``entered``, with its ``errors``).

    None when the schema is not an object with properties: the whole value is JSON then.
    """
    defs = schema.get("$defs", {})
    if schema.get("type") != "object" or not schema.get("properties"):
        return None
    return _fields(schema, value, "", defs, entered, errors or {})


def _fields(
    node: Mapping[str, Any],
    value: Any,
    prefix: str,
    defs: Mapping[str, Any],
    entered: Mapping[str, str] | None,
    errors: Mapping[str, Text],
) -> list[Field]:
    current = value if isinstance(value, Mapping) else {}
    required = set(node.get("required", []))
    made: list[Field] = []
    for key, raw in node.get("properties", {}).items():
        resolved, nullable = _resolve(raw, defs)
        kind, why = _kind(resolved, defs)
        path = f"{prefix}{key}"
        examples = resolved.get("examples") or raw.get("examples") or []
        made_field = Field(
            key=key,
            path=path,
            kind=kind,
            title=str(resolved.get("title") or raw.get("title") or key),
            description=raw.get("description") or resolved.get("description"),
            required=key in required,
            nullable=nullable,
            options=[str(option) for option in resolved.get("enum", [])],
            examples=", ".join(
                json.dumps(e, ensure_ascii=False) if not isinstance(e, str) else e
                for e in examples[:3]
            ),
            why_json=WHY_JSON[why] if why else None,
            error=errors.get(path),
        )
        held = current.get(key, resolved.get("default"))
        if kind == "group":
            made_field.children = _fields(resolved, held, f"{path}.", defs, entered, errors)
        elif kind == "boolean":
            if entered is not None:
                made_field.checked = PREFIX + path in entered
            else:
                made_field.checked = held is True
        elif entered is not None:
            made_field.shown = entered.get(PREFIX + path, "")
        else:
            made_field.shown = _shown(kind, held)
        made.append(made_field)
    return made


class _Missing:
    """A field left empty whose key is then left out (its default applies)."""


MISSING = _Missing()


def read(
    schema: Mapping[str, Any], form: Mapping[str, str], current: Any
) -> tuple[Any, dict[str, Text]]:
    """Read the form of ``schema`` back into a value; keys the form does not show are kept.

    Returns the value and, by field path, what could not be read (the value is then unusable).
    """
    defs = schema.get("$defs", {})
    errors: dict[str, Text] = {}
    value = _read(schema, form, current, "", defs, errors)
    return value, errors


def _read(
    node: Mapping[str, Any],
    form: Mapping[str, str],
    current: Any,
    prefix: str,
    defs: Mapping[str, Any],
    errors: dict[str, Text],
) -> dict[str, Any]:
    value: dict[str, Any] = copy.deepcopy(dict(current)) if isinstance(current, Mapping) else {}
    required = set(node.get("required", []))
    for key, raw in node.get("properties", {}).items():
        resolved, nullable = _resolve(raw, defs)
        kind, _why = _kind(resolved, defs)
        path = f"{prefix}{key}"
        if kind == "group":
            value[key] = _read(resolved, form, value.get(key), f"{path}.", defs, errors)
            continue
        if kind == "boolean":
            value[key] = PREFIX + path in form
            continue
        text = form.get(PREFIX + path, "")
        item = _item(kind, resolved, text, path, errors, nullable=nullable)
        if item is MISSING:
            if nullable:
                value[key] = None
            elif key in required:
                errors[path] = Text(_("This field is required."))
            else:
                value.pop(key, None)
        else:
            value[key] = item
    return value


def _item(
    kind: Kind,
    node: Mapping[str, Any],
    text: str,
    path: str,
    errors: dict[str, Text],
    *,
    nullable: bool,
) -> Any:
    """One field's value from its text; MISSING when it was left empty."""
    if kind in ("text", "select"):
        return MISSING if not text and nullable else text
    stripped = text.strip()
    if kind == "integer":
        if not stripped:
            return MISSING
        if not _INTEGER.match(stripped):
            errors[path] = Text(_("Enter a whole number."))
            return MISSING
        return int(stripped)
    if kind == "lines":
        items, _null = _resolve(node.get("items", {}), {})
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if items.get("type") == "integer":
            if not all(_INTEGER.match(line) for line in lines):
                errors[path] = Text(_("Enter one whole number per line."))
                return MISSING
            return [int(line) for line in lines]
        return lines
    if kind == "map":
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, item = line.partition("=")
            if not sep or not name.strip():
                errors[path] = Text(_("Line {line}: write name = value."), line=number)
                return MISSING
            pairs[name.strip()] = item.strip()
        return pairs
    if not stripped:
        return MISSING
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        errors[path] = Text(_("This is not valid JSON: {error}"), error=str(exc)[:200])
        return MISSING
