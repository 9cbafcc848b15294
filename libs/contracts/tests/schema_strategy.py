"""Random JSON documents valid against a committed event schema, for the JSON Schema subset pydantic writes.

hypothesis-jsonschema would do this, but it does not run on current Hypothesis. Unknown keywords that
constrain values fail loudly here, so a schema that outgrows this subset cannot be half-tested.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]

_ANNOTATIONS = {"title", "description", "default", "$comment", "$schema", "x-routing-key", "examples"}
_HANDLED = {"type", "properties", "required", "items", "anyOf", "enum", "const", "$ref", "$defs", "format"}
_HANDLED |= {"minimum", "maximum"}

_offsets = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60))
_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "date-time": st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=_offsets
    ).map(datetime.isoformat),
    "date": st.dates().map(lambda d: d.isoformat()),
}


def from_schema(schema: Schema, root: Schema | None = None) -> st.SearchStrategy[Any]:
    root = root if root is not None else schema
    unknown = set(schema) - _ANNOTATIONS - _HANDLED
    if unknown:
        raise NotImplementedError(f"schema keywords not covered by the test generator: {sorted(unknown)}")
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return from_schema(target, root)
    if "anyOf" in schema:
        return st.one_of([from_schema(branch, root) for branch in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, root)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), root), max_size=3)
    if kind == "string":
        fmt = schema.get("format")
        if fmt is not None and fmt not in _FORMATS:
            raise NotImplementedError(f"string format {fmt!r}")
        return _FORMATS[fmt] if fmt else st.text(max_size=20)
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        return st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise NotImplementedError(f"schema without a generator: {schema}")


def _object(schema: Schema, root: Schema) -> st.SearchStrategy[dict[str, Any]]:
    props: Schema = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: from_schema(sub, root) for name, sub in props.items() if name in required},
        optional={name: from_schema(sub, root) for name, sub in props.items() if name not in required},
    )
