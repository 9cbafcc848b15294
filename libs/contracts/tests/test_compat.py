"""compat: each kind of breaking change is caught, compatible ones pass, committed versions still hold."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from boardcast_contracts import SUPPORTED_SCHEMA_VERSIONS, decode_event
from boardcast_contracts.compat import breaking_changes, committed_problems, committed_versions
from boardcast_contracts.generate import SCHEMAS_DIR, find_root
from boardcast_contracts.schemas import all_event_schemas, current_schema_version
from hypothesis import HealthCheck, given, settings

from .schema_strategy import from_schema

Schema = dict[str, Any]

BEFORE: Schema = {
    "$defs": {"Status": {"enum": ["todo", "done"], "type": "string"}},
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "title": {"type": "string"},
        "estimate": {"type": "number"},
        "status": {"$ref": "#/$defs/Status"},
        "assignee": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}], "default": None},
        "tags": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]},
    },
    "required": ["id", "title", "status", "data"],
}


def changed(edit: Callable[[Schema], None]) -> Schema:
    after = copy.deepcopy(BEFORE)
    edit(after)
    return after


def _rename(s: Schema) -> None:
    s["properties"]["name"] = s["properties"].pop("title")
    s["required"] = ["id", "name", "status", "data"]


BREAKING: dict[str, tuple[Callable[[Schema], None], str]] = {
    "removed field": (lambda s: s["properties"].pop("tags"), "tags: field removed or renamed"),
    "renamed field": (_rename, "title: field removed or renamed"),
    "number -> integer": (
        lambda s: s["properties"].update(estimate={"type": "integer"}),
        "estimate: type number no longer accepted (now integer)",
    ),
    "string -> enum": (
        lambda s: s["properties"].update(title={"enum": ["a", "b"], "type": "string"}),
        "title: type string narrowed to an enum",
    ),
    "nullable -> not nullable": (
        lambda s: s["properties"].update(assignee={"type": "string", "format": "uuid"}),
        "assignee: type null no longer accepted (no longer nullable)",
    ),
    "new required field": (
        lambda s: (s["properties"].update(priority={"type": "string"}), s["required"].append("priority")),
        "priority: new required field",
    ),
    "optional -> required": (lambda s: s["required"].append("assignee"), "assignee: field became required"),
    "removed enum value": (
        lambda s: s["$defs"]["Status"].update(enum=["todo"]),
        'status: value "done" no longer accepted',
    ),
    "nested field removed": (
        lambda s: s["properties"]["data"].update(properties={}, required=[]),
        "data.n: field removed or renamed",
    ),
    "tighter bound": (
        lambda s: s["properties"]["data"]["properties"]["n"].update(minimum=1),
        "data.n: minimum raised to 1",
    ),
    "array items narrowed": (
        lambda s: s["properties"]["tags"].update(items={"enum": ["x"], "type": "string"}),
        "tags[]: type string narrowed to an enum",
    ),
    "format added": (
        lambda s: s["properties"]["title"].update(format="email"),
        "title: format changed to 'email'",
    ),
    "closed object": (
        lambda s: s.update(additionalProperties=False),
        "additional properties no longer allowed",
    ),
}


@pytest.mark.parametrize("kind", sorted(BREAKING))
def test_breaking_change_is_reported(kind: str) -> None:
    edit, expected = BREAKING[kind]
    found = breaking_changes(BEFORE, changed(edit))
    assert any(expected in f for f in found), found


COMPATIBLE: dict[str, Callable[[Schema], None]] = {
    "unchanged": lambda s: None,
    "optional field added": lambda s: s["properties"].update(note={"type": "string", "default": ""}),
    "enum value added": lambda s: s["$defs"]["Status"].update(enum=["todo", "done", "blocked"]),
    "integer -> number": lambda s: s["properties"]["data"]["properties"].update(n={"type": "number"}),
    "not nullable -> nullable": lambda s: s["properties"].update(
        title={"anyOf": [{"type": "string"}, {"type": "null"}]}
    ),
    "required -> optional": lambda s: s["required"].remove("title"),
    "enum -> string": lambda s: s["$defs"].update(Status={"type": "string"}),
    "looser bound": lambda s: s["properties"]["data"]["properties"]["n"].pop("minimum"),
    "annotations only": lambda s: s["properties"]["title"].update(title="Title", description="the title"),
    "inlined $ref": lambda s: s["properties"].update(status={"enum": ["todo", "done"], "type": "string"}),
    "$ref wrapped in allOf": lambda s: s["properties"].update(status={"allOf": [{"$ref": "#/$defs/Status"}]}),
}


@pytest.mark.parametrize("kind", sorted(COMPATIBLE))
def test_compatible_change_passes(kind: str) -> None:
    assert breaking_changes(BEFORE, changed(COMPATIBLE[kind])) == []


def test_a_real_schema_change_is_caught_through_refs() -> None:
    """Dropping a field of TaskPayload (reached through data -> $ref) breaks task_created."""
    before = all_event_schemas()["task_created"]
    after = copy.deepcopy(before)
    del after["$defs"]["TaskPayload"]["properties"]["estimate_hours"]
    assert breaking_changes(before, after) == ["data.task.estimate_hours: field removed or renamed"]


def test_a_break_behind_allof_is_still_seen() -> None:
    narrowed = {"allOf": [{"enum": ["todo"], "type": "string"}]}
    after = changed(lambda s: s["properties"].update(status=narrowed))
    assert breaking_changes(BEFORE, after) == ['status: value "done" no longer accepted (enum value removed)']


def test_a_recursive_schema_is_refused_not_looped_over() -> None:
    recursive = {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}
    node = {"$defs": {"N": recursive}, "$ref": "#/$defs/N"}
    with pytest.raises(ValueError, match="recursive"):
        breaking_changes(node, node)


# ---- the committed versions ----

ROOT = find_root()
COMMITTED = ROOT / SCHEMAS_DIR


def test_every_committed_version_is_compatible_with_the_current_code() -> None:
    versions = committed_versions(COMMITTED)
    assert current_schema_version() in versions, "the current version's schemas are not committed"
    problems = committed_problems(
        COMMITTED, all_event_schemas(), current_schema_version(), SUPPORTED_SCHEMA_VERSIONS
    )
    assert problems == [], "\n".join(problems)


def _committed_schemas() -> list[tuple[int, str, Schema]]:
    found = []
    for version in committed_versions(COMMITTED):
        index = json.loads((COMMITTED / f"v{version}" / "index.json").read_text())
        for event_type, entry in sorted(index["events"].items()):
            schema = json.loads((COMMITTED / f"v{version}" / entry["file"]).read_text())
            found.append((version, event_type, schema))
    return found


@pytest.mark.parametrize(("version", "event_type", "schema"), _committed_schemas(), ids=lambda v: str(v)[:20])
def test_decode_event_reads_messages_of_every_committed_version(
    version: int, event_type: str, schema: Schema
) -> None:
    """Random messages valid against a committed schema (any version) decode with the current code."""

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(from_schema(schema))
    def reads(doc: dict[str, Any]) -> None:
        event = decode_event(json.dumps(doc))
        assert event.model_dump()["type"] == event_type
        assert event.schema_version == version

    reads()


# ---- the version rules, on synthetic committed trees ----


def _tree(tmp_path: Path, version: int, edit: Callable[[dict[str, Schema]], None] | None = None) -> Path:
    """A schemas dir holding the current schemas as version ``version``, optionally edited first."""
    schemas = copy.deepcopy(all_event_schemas())
    if edit:
        edit(schemas)
    vdir = tmp_path / f"v{version}"
    vdir.mkdir(parents=True)
    for event_type, schema in schemas.items():
        (vdir / f"{event_type}.json").write_text(json.dumps(schema))
    index = {"events": {t: {"file": f"{t}.json"} for t in schemas}}
    (vdir / "index.json").write_text(json.dumps(index))
    return tmp_path


def _with_extra_field(schemas: dict[str, Schema]) -> None:
    # The committed schema had a field the models have since dropped: a break.
    schemas["member_removed"]["$defs"]["MemberRemovedData"]["properties"]["reason"] = {"type": "string"}


def _with_extra_type(schemas: dict[str, Schema]) -> None:
    schemas["task_archived"] = copy.deepcopy(schemas["task_created"])


def test_a_break_in_the_current_version_needs_a_bump(tmp_path: Path) -> None:
    problems = committed_problems(
        _tree(tmp_path, 1, _with_extra_field), all_event_schemas(), 1, frozenset({1})
    )
    assert problems == [
        "v1 member_removed: data.reason: field removed or renamed (needs a schema_version bump)"
    ]


def test_a_break_against_an_older_still_read_version_is_allowed(tmp_path: Path) -> None:
    tree = _tree(tmp_path, 1, _with_extra_field)
    _tree(tree, 2)
    assert committed_problems(tree, all_event_schemas(), 2, frozenset({1, 2})) == []


def test_an_older_version_must_still_be_read(tmp_path: Path) -> None:
    tree = _tree(tmp_path, 1)
    _tree(tree, 2)
    assert committed_problems(tree, all_event_schemas(), 2, frozenset({2})) == [
        "v1 is committed but decode_event no longer reads it"
    ]


def test_an_event_type_may_not_disappear(tmp_path: Path) -> None:
    tree = _tree(tmp_path, 1, _with_extra_type)
    _tree(tree, 2)
    assert committed_problems(tree, all_event_schemas(), 2, frozenset({1, 2})) == [
        "v1 task_archived: event type removed"
    ]


def test_a_committed_version_newer_than_the_code_is_reported(tmp_path: Path) -> None:
    problems = committed_problems(_tree(tmp_path, 3), all_event_schemas(), 1, frozenset({1}))
    assert "v3 is committed but the code publishes v1" in problems


def test_real_committed_tree_copy_detects_a_break(tmp_path: Path) -> None:
    """The real committed v1 files, with a field later dropped from the current schemas, are flagged."""
    shutil.copytree(COMMITTED, tmp_path / "schemas")
    current = copy.deepcopy(all_event_schemas())
    del current["comment_deleted"]["$defs"]["CommentDeletedData"]["properties"]["task_id"]
    problems = committed_problems(tmp_path / "schemas", current, 1, frozenset({1}))
    assert any("comment_deleted: data.task_id: field removed or renamed" in p for p in problems), problems


@pytest.mark.parametrize("kind", sorted(BREAKING))
def test_undoing_a_break_is_not_the_same_break(kind: str) -> None:
    """Reverting a breaking change is never itself reported as the same break."""
    edit, expected = BREAKING[kind]
    assert not any(expected in f for f in breaking_changes(changed(edit), BEFORE))
