"""The committed schemas and docs/asyncapi.yaml are what `make contracts` writes now, and they are sound."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from boardcast_contracts import EVENT_MODELS, AccountEvent, ProjectEvent, decode_event, encode_event
from boardcast_contracts import event_type as event_type_of
from boardcast_contracts.asyncapi import render_asyncapi
from boardcast_contracts.examples import example_event
from boardcast_contracts.generate import ASYNCAPI_FILE, SCHEMAS_DIR, find_root, main, stale_files
from boardcast_contracts.schemas import INDEX_FILE, current_schema_version, schema_files
from boardcast_contracts.topology import CONSUMERS
from hypothesis import given, settings

from .strategies import events

ROOT = find_root()
VERSION_DIR = ROOT / SCHEMAS_DIR / f"v{current_schema_version()}"


def test_committed_files_are_what_generate_writes() -> None:
    stale = [str(p.relative_to(ROOT)) for p in stale_files(ROOT)]
    assert stale == [], f"generated contract files are out of date: {stale}; run make contracts"


def test_generation_is_deterministic() -> None:
    assert schema_files() == schema_files()
    assert render_asyncapi() == render_asyncapi()
    for name, text in schema_files().items():
        assert text.endswith("}\n") and "\r" not in text, name
        assert json.loads(text) is not None
    assert render_asyncapi().endswith("\n")


def _copy_of_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "libs" / "contracts").mkdir(parents=True)
    (root / "libs" / "contracts" / "pyproject.toml").write_text("")
    (root / "docs").mkdir()
    shutil.copytree(ROOT / SCHEMAS_DIR, root / SCHEMAS_DIR)
    shutil.copy(ROOT / ASYNCAPI_FILE, root / ASYNCAPI_FILE)
    return root


def test_regenerating_is_byte_identical_and_check_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_of_repo(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert main(["--root", str(root), "--check"]) == 0
    assert main(["--root", str(root)]) == 0
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before

    (root / ASYNCAPI_FILE).write_text("stale\n")
    (root / SCHEMAS_DIR / f"v{current_schema_version()}" / "leftover.json").write_text("{}")
    assert main(["--root", str(root), "--check"]) == 1
    assert "run make contracts" in capsys.readouterr().err
    assert main(["--root", str(root)]) == 0
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_generate_refuses_an_unbumped_break(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy_of_repo(tmp_path)
    committed = root / SCHEMAS_DIR / f"v{current_schema_version()}" / "member_removed.json"
    schema = json.loads(committed.read_text())
    schema["$defs"]["MemberRemovedData"]["properties"]["reason"] = {"type": "string"}
    committed.write_text(json.dumps(schema))
    assert main(["--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "bump schema_version" in err and "member_removed: data.reason: field removed" in err
    assert json.loads(committed.read_text()) == schema  # nothing written
    assert main(["--root", str(root), "--allow-breaking"]) == 0
    assert stale_files(root) == []


def test_generate_leaves_older_versions_alone(tmp_path: Path) -> None:
    root = _copy_of_repo(tmp_path)
    old = root / SCHEMAS_DIR / "v0"
    old.mkdir()
    (old / "anything.json").write_text("{}")
    assert main(["--root", str(root)]) == 0
    assert (old / "anything.json").read_text() == "{}"


def test_module_runs_as_make_contracts_does() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "boardcast_contracts.generate", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_index_lists_every_type_with_its_routing_key() -> None:
    index = json.loads((VERSION_DIR / INDEX_FILE).read_text())
    assert index["schema_version"] == current_schema_version()
    assert set(index["events"]) == set(EVENT_MODELS)
    assert index["events"]["task_created"]["routing_key"] == "project.{project_id}.task_created"
    assert index["events"]["admin_changed"]["routing_key"] == "account.admin_changed"
    for entry in index["events"].values():
        assert (VERSION_DIR / entry["file"]).is_file()


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_committed_schemas_are_valid_draft7(event_type: str) -> None:
    schema = json.loads((VERSION_DIR / f"{event_type}.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    assert {"event_id", "type", "schema_version", "occurred_at", "actor_id", "data"} <= set(
        schema["required"]
    )
    assert ("seq" in schema["required"]) == (EVENT_MODELS[event_type].scope == "project")


SCHEMAS = {t: json.loads((VERSION_DIR / f"{t}.json").read_text()) for t in EVENT_MODELS}


@settings(max_examples=50, deadline=None)
@given(events)
def test_encoded_events_validate_against_their_committed_schema(event: ProjectEvent | AccountEvent) -> None:
    doc = json.loads(encode_event(event))
    validator = jsonschema.Draft7Validator(
        SCHEMAS[doc["type"]], format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    validator.validate(doc)


def test_schema_refuses_an_incomplete_envelope() -> None:
    doc = {"type": "member_removed", "schema_version": 1, "data": {"user_id": "x"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMAS["member_removed"], cls=jsonschema.Draft7Validator)


# ---- docs/asyncapi.yaml ----

DOC: dict[str, Any] = yaml.safe_load((ROOT / ASYNCAPI_FILE).read_text())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_asyncapi_refs_all_resolve() -> None:
    refs = _refs(DOC)
    assert refs
    for ref in refs:
        if ref.startswith("#/"):
            target: Any = DOC
            for part in ref[2:].split("/"):
                assert part in target, ref
                target = target[part]
        else:
            assert (ROOT / "docs" / ref).resolve().is_file(), ref


def test_asyncapi_describes_the_exchange_channels_and_services() -> None:
    assert DOC["asyncapi"] == "3.0.0"
    channels = DOC["channels"]
    assert channels["projectEvents"]["address"] == "project.{project_id}.{type}"
    assert channels["accountEvents"]["address"] == "account.{type}"
    assert set(channels["projectEvents"]["parameters"]) == {"project_id", "type"}
    exchange = channels["projectEvents"]["bindings"]["amqp"]["exchange"]
    assert exchange == {
        "name": "boardcast.events",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    assert set(DOC["components"]["messages"]) == set(EVENT_MODELS)
    sends = [op for op in DOC["operations"].values() if op["action"] == "send"]
    assert {op["x-service"] for op in sends} == {"tasks-api"}
    for op in sends:
        assert op["bindings"]["amqp"]["deliveryMode"] == 2 and op["bindings"]["amqp"]["mandatory"] is True
    receivers = {op["x-service"] for op in DOC["operations"].values() if op["action"] == "receive"}
    assert receivers == {c.service for c in CONSUMERS} == {"gateway-ws", "notifier", "cache-invalidator"}
    envelope = DOC["components"]["schemas"]["Envelope"]["properties"]
    assert set(envelope) == {
        "event_id",
        "type",
        "schema_version",
        "project_id",
        "seq",
        "occurred_at",
        "actor_id",
        "data",
    }


def test_asyncapi_is_a_valid_asyncapi_3_document() -> None:
    spec = json.loads((Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json").read_text())
    validator = jsonschema.Draft7Validator(spec)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(DOC)]
    assert errors == []
    bad_op = {"action": "publish", "channel": {"$ref": "#/channels/projectEvents"}}  # 2.x wording
    broken = {**DOC, "operations": {"x": bad_op}}
    assert list(validator.iter_errors(broken)), "the AsyncAPI schema must be able to refuse a document"


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_asyncapi_examples_are_valid_events(event_type: str) -> None:
    (example,) = DOC["components"]["messages"][event_type]["examples"]
    raw = json.dumps(example["payload"])
    assert event_type_of(decode_event(raw)) == event_type
    assert decode_event(raw) == example_event(event_type)
    jsonschema.Draft7Validator(SCHEMAS[event_type]).validate(example["payload"])
