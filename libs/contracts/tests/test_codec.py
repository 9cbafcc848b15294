"""encode_event/decode_event: valid events round-trip; any other input gives EventDecodeError, only that."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from boardcast_contracts import (
    EVENT_MODELS,
    MAX_EVENT_BYTES,
    AccountEvent,
    EventDecodeError,
    ProjectEvent,
    TaskCreated,
    TaskPayload,
    decode_event,
    encode_event,
)
from boardcast_contracts import event_type as event_type_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from .strategies import event, events, events_of, offsets, task

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_refuse(raw: bytes | str) -> None:
    """decode_event may succeed or raise EventDecodeError; anything else propagates and fails the test.

    What it accepts must also encode again, since consumers re-encode what they relay (the gateway does).
    """
    try:
        event = decode_event(raw)
    except EventDecodeError as exc:
        assert exc.reason
        return
    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_type_round_trips(event_type: str, data: st.DataObject) -> None:
    event = data.draw(events_of(event_type))
    raw = encode_event(event)
    back = decode_event(raw)
    assert back == event
    assert type(back) is type(event)
    assert encode_event(back) == raw  # one canonical encoding
    doc = json.loads(raw)
    assert doc["type"] == event_type and doc["schema_version"] == 1
    assert ("seq" in doc) == isinstance(event, ProjectEvent)
    assert doc["occurred_at"].endswith("Z")
    assert event_type_of(back) == event_type


@FUZZ
@given(events, st.data())
def test_truncated_events_are_refused(event: ProjectEvent | AccountEvent, data: st.DataObject) -> None:
    raw = encode_event(event)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    with pytest.raises(EventDecodeError):
        decode_event(raw[:cut])


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_give_only_decode_errors(raw: bytes) -> None:
    _decode_or_refuse(raw)


# Hypothesis never draws lone surrogates by itself; a str holding one cannot be encoded to UTF-8.
with_surrogate = st.builds(
    lambda a, cp, b: a + chr(cp) + b, st.text(), st.integers(0xD800, 0xDFFF), st.text()
)


@FUZZ
@given(st.text(max_size=256) | with_surrogate)
def test_random_text_including_lone_surrogates(raw: str) -> None:
    _decode_or_refuse(raw)


@FUZZ
@given(events_of("comment_created") | events_of("task_updated"), with_surrogate)
def test_a_lone_surrogate_escape_in_any_string_is_refused(event: ProjectEvent, text: str) -> None:
    doc = json.loads(encode_event(event))
    if "comment" in doc["data"]:
        doc["data"]["comment"]["body"] = text
    else:
        doc["data"]["changed"] = ["title", text]
    with pytest.raises(EventDecodeError, match="surrogate"):
        decode_event(json.dumps(doc))  # ensure_ascii: the surrogate is written as a \\udXXX escape


def test_an_escaped_surrogate_pair_is_fine() -> None:
    pid = uuid.uuid4()
    raw = encode_event(event("task_created", pid, {"task": task(pid, title="ship it \U0001f680")}))
    escaped = json.dumps(json.loads(raw))  # ensure_ascii: the rocket becomes \\ud83d\\ude80
    assert "\\ud83d\\ude80" in escaped
    decoded = decode_event(escaped)
    assert isinstance(decoded, TaskCreated) and decoded.data.task.title == "ship it \U0001f680"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | with_surrogate,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(json_values)
def test_random_json_gives_only_decode_errors(doc: object) -> None:
    _decode_or_refuse(json.dumps(doc))


@FUZZ
@given(events, st.lists(st.tuples(st.text(max_size=12), json_values), min_size=1, max_size=3), st.data())
def test_mutated_events_give_only_decode_errors(
    event: ProjectEvent | AccountEvent, edits: list[tuple[str, object]], data: st.DataObject
) -> None:
    """Valid envelopes with fields replaced by random JSON, at the top level and inside data."""
    doc = json.loads(encode_event(event))
    for key, value in edits:
        inside = isinstance(doc["data"], dict) and data.draw(st.booleans())
        target = doc["data"] if inside else doc
        target[data.draw(st.sampled_from([key, *target]))] = value
    _decode_or_refuse(json.dumps(doc))


def test_oversized_input_is_refused_before_parsing() -> None:
    raw = b'{"type": "task_created", "pad": "' + b"x" * MAX_EVENT_BYTES + b'"}'
    with pytest.raises(EventDecodeError, match="limit"):
        decode_event(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000,  # deeper than the JSON parser's recursion limit
        '{"type": "task_created", "schema_version": 1, "seq": ' + "9" * 5000 + "}",  # over int digit limit
        '{"type": "member_removed", "schema_version": true}',
        '{"type": "member_removed", "schema_version": 2}',
        '{"type": ["task_created"], "schema_version": 1}',
        '{"type": "nope", "schema_version": 1}',
        "[]",
        "null",
        "\ud800",
        b"\xff\xfe",
        "",
    ],
)
def test_malformed_inputs(raw: str | bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(raw)


_edges = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 2)), st.datetimes(min_value=datetime(9999, 12, 30)), st.datetimes()
)
extreme = st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), _edges, st.just(UTC) | offsets)


@FUZZ
@given(st.sampled_from(["task_created", "task_updated", "comment_updated"]), extreme, extreme, st.data())
def test_timestamps_at_the_edges_of_the_calendar(
    event_type: str, occurred: str, created: str, data: st.DataObject
) -> None:
    """Offsets that push a timestamp past year 1 or 9999 in UTC are refused, not an OverflowError."""
    doc = json.loads(encode_event(data.draw(events_of(event_type))))
    doc["occurred_at"] = occurred
    payload = doc["data"].get("task") or doc["data"]["comment"]
    payload["created_at"] = created
    _decode_or_refuse(json.dumps(doc))


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("where", ["envelope", "payload"])
def test_timestamps_without_a_utc_form_are_refused(ts: str, where: str) -> None:
    pid = uuid.uuid4()
    doc = json.loads(encode_event(event("task_created", pid, {"task": task(pid)})))
    if where == "envelope":
        doc["occurred_at"] = ts
    else:
        doc["data"]["task"]["created_at"] = ts
    with pytest.raises(EventDecodeError, match="out of range"):
        decode_event(json.dumps(doc))


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(bad: str) -> None:
    pid = uuid.uuid4()
    raw = encode_event(event("task_created", pid, {"task": task(pid, position=1.5)})).decode()
    assert '"position":1.5' in raw
    with pytest.raises(EventDecodeError):
        decode_event(raw.replace('"position":1.5', f'"position":{bad}'))  # json.loads reads these
    with pytest.raises(ValidationError):  # and a producer cannot build such an event at all
        TaskPayload.model_validate(task(pid, position=float(bad)))
