"""Backward compatibility of event schemas: which changes to a committed schema break its readers or writers.

Breaking, read from the old schema to the new one:
- a field of the old schema is gone (removed or renamed): consumers of the old version still read it;
- a value the old schema accepted is refused (a narrowed type: number -> integer, string -> enum, nullable ->
  not nullable, an enum value removed, a tighter bound or format): old messages no longer decode;
- a field became required: old messages without it no longer decode.

A breaking change is allowed only with a new schema_version whose models still read the old version's
messages: ``committed_problems`` checks the version rules, and the tests feed old messages to decode_event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Schema = dict[str, Any]

# Bounds where a larger new value refuses more, and where a smaller one does.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
# Any new or changed value of these may refuse a value the old schema took.
_EXACT = ("format", "pattern", "multipleOf", "uniqueItems")
_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_MAX_DEPTH = 32  # event payloads nest a few levels; deeper means a recursive model, which this does not walk


def _resolve(node: Schema, root: Schema) -> Schema:
    """The node with its $ref (and a one-element allOf, pydantic's older way to write one) inlined."""
    while "allOf" in node or "$ref" in node:
        if "allOf" in node:
            if len(node["allOf"]) != 1:
                raise ValueError("allOf with several schemas is not supported")
            node = {**{k: v for k, v in node.items() if k != "allOf"}, **node["allOf"][0]}
            continue
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _alternatives(node: Schema, root: Schema) -> list[Schema]:
    """The schema as a flat list of alternatives, each without anyOf/oneOf/$ref."""
    node = _resolve(node, root)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches is None:
        return [node]
    base = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
    return [alt for b in branches for alt in _alternatives({**base, **b}, root)]


def _types(alt: Schema) -> set[str]:
    declared = alt.get("type", list(_TYPES))
    return {declared} if isinstance(declared, str) else set(declared)


def _values(alt: Schema) -> list[Any] | None:
    """The closed list of values the alternative accepts, or None when it is open (any value of its types)."""
    if "const" in alt:
        return [alt["const"]]
    enum = alt.get("enum")
    return list(enum) if enum is not None else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _accepts_value(alts: list[Schema], value: Any) -> bool:
    kind = _json_type(value)
    for alt in alts:
        kinds = _types(alt)
        type_ok = kind in kinds or (kind == "integer" and "number" in kinds)
        values = _values(alt)
        if type_ok and (values is None or value in values):
            return True
    return False


def _best_match(new_alts: list[Schema], kind: str) -> Schema | None:
    """The new alternative that takes over the old values of ``kind`` (``number`` also takes integers).

    An open alternative (any value of its type) is preferred to an enum of the same type.
    """
    for alt in sorted(new_alts, key=lambda a: _values(a) is not None):
        kinds = _types(alt)
        if kind in kinds or (kind == "integer" and "number" in kinds):
            return alt
    return None


def _tightened(old: Schema, new: Schema) -> list[str]:
    found = []
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            found.append(f"{key} raised to {new[key]!r}")
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            found.append(f"{key} lowered to {new[key]!r}")
    for key in _EXACT:
        if key in new and old.get(key) != new[key]:
            found.append(f"{key} changed to {new[key]!r}")
    if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
        found.append("additional properties no longer allowed")
    return found


def _compare(old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str, out: list[str]) -> None:
    if path.count(".") + path.count("[]") > _MAX_DEPTH:
        raise ValueError(f"schema nests over {_MAX_DEPTH} levels at {path}: recursive models unsupported")
    new_alts = _alternatives(new, new_root)
    label = path or "(root)"
    for old_alt in _alternatives(old, old_root):
        values = _values(old_alt)
        if values is not None:
            for value in values:
                if not _accepts_value(new_alts, value):
                    out.append(f"{label}: value {json.dumps(value)} no longer accepted (enum value removed)")
            continue
        for kind in sorted(_types(old_alt)):
            new_alt = _best_match(new_alts, kind)
            if new_alt is None:
                out.append(f"{label}: type {kind} no longer accepted{_narrowed_to(kind, new_alts)}")
                continue
            if _values(new_alt) is not None:
                out.append(f"{label}: type {kind} narrowed to an enum")
                continue
            out.extend(f"{label}: {what}" for what in _tightened(old_alt, new_alt))
            if kind == "object":
                _compare_object(old_alt, new_alt, old_root, new_root, path, out)
            elif kind == "array" and "items" in old_alt:
                _compare(old_alt["items"], new_alt.get("items", {}), old_root, new_root, f"{path}[]", out)


def _narrowed_to(kind: str, new_alts: list[Schema]) -> str:
    kinds = sorted({k for alt in new_alts for k in _types(alt)})
    if kind == "null":
        return " (no longer nullable)"
    return f" (now {' | '.join(kinds)})"


def _compare_object(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str, out: list[str]
) -> None:
    old_props: Schema = old.get("properties", {})
    new_props: Schema = new.get("properties", {})
    for name in sorted(old_props):
        where = f"{path}.{name}" if path else name
        if name not in new_props:
            out.append(f"{where}: field removed or renamed")
            continue
        _compare(old_props[name], new_props[name], old_root, new_root, where, out)
    old_required = set(old.get("required", ()))
    for name in sorted(set(new.get("required", ())) - old_required):
        where = f"{path}.{name}" if path else name
        out.append(f"{where}: {'new required field' if name not in old_props else 'field became required'}")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every way ``new`` breaks a reader or writer of ``old``; empty when the change is compatible."""
    out: list[str] = []
    _compare(old, new, old, new, "", out)
    return out


def _load(path: Path) -> Schema:
    doc: Schema = json.loads(path.read_text())
    return doc


def committed_versions(schemas_dir: Path) -> list[int]:
    return sorted(int(p.name[1:]) for p in schemas_dir.glob("v*") if p.is_dir() and p.name[1:].isdigit())


def breaks_since(version_dir: Path, current: dict[str, Schema]) -> list[str]:
    """Every breaking change from a committed version directory to the current schemas, as ``type: what``."""
    index = _load(version_dir / "index.json")
    found: list[str] = []
    for event_type, entry in sorted(index["events"].items()):
        if event_type not in current:
            found.append(f"{event_type}: event type removed")
            continue
        old = _load(version_dir / entry["file"])
        found += [f"{event_type}: {change}" for change in breaking_changes(old, current[event_type])]
    return found


def committed_problems(
    schemas_dir: Path, current: dict[str, Schema], current_version: int, supported: frozenset[int]
) -> list[str]:
    """What is wrong between the committed schema versions and the current schemas.

    - every committed version must still be read by decode_event (in ``supported``) and be no newer than the
      one the code publishes;
    - the committed current version must not break at all: a breaking change needs a version bump;
    - an older version may differ in breaking ways, but none of its event types may disappear. That the models
      still read its messages is what the tests check, by decoding messages generated from its schemas.
    """
    problems: list[str] = []
    for version in committed_versions(schemas_dir):
        if version > current_version:
            problems.append(f"v{version} is committed but the code publishes v{current_version}")
        if version not in supported:
            problems.append(f"v{version} is committed but decode_event no longer reads it")
        breaks = breaks_since(schemas_dir / f"v{version}", current)
        if version < current_version:
            breaks = [b for b in breaks if b.endswith("event type removed")]
        else:
            breaks = [f"{b} (needs a schema_version bump)" for b in breaks]
        problems += [f"v{version} {b}" for b in breaks]
    return problems
