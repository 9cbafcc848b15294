"""Routing keys: built from events, parsed back to the same parts, and anything off-scheme is refused."""

from __future__ import annotations

import uuid

import pytest
from boardcast_contracts import (
    ACCOUNT_EVENT_TYPES,
    PROJECT_EVENT_TYPES,
    AccountEvent,
    ProjectEvent,
    RoutingKeyError,
    account_routing_key,
    parse_routing_key,
    project_routing_key,
    routing_key_for,
)
from boardcast_contracts.routing import project_pattern
from hypothesis import given, settings
from hypothesis import strategies as st

from .strategies import events


@settings(max_examples=60, deadline=None)
@given(events)
def test_key_of_every_event_parses_back(event: ProjectEvent | AccountEvent) -> None:
    key = routing_key_for(event)
    parsed = parse_routing_key(key)
    assert str(parsed) == key
    assert parsed.type == event.model_dump()["type"]
    if isinstance(event, ProjectEvent):
        assert key == f"project.{event.project_id}.{parsed.type}"
        assert (parsed.scope, parsed.project_id) == ("project", event.project_id)
    else:
        assert key == f"account.{parsed.type}"
        assert (parsed.scope, parsed.project_id) == ("account", None)


@given(st.uuids(), st.sampled_from(sorted(PROJECT_EVENT_TYPES)))
def test_project_keys_round_trip(project_id: uuid.UUID, event_type: str) -> None:
    parsed = parse_routing_key(project_routing_key(project_id, event_type))
    assert (parsed.scope, parsed.project_id, parsed.type) == ("project", project_id, event_type)


@pytest.mark.parametrize("event_type", sorted(ACCOUNT_EVENT_TYPES))
def test_account_keys_round_trip(event_type: str) -> None:
    parsed = parse_routing_key(account_routing_key(event_type))
    assert (parsed.scope, parsed.project_id, parsed.type) == ("account", None, event_type)


PID = "0b4e9a34-4c2b-4a0e-9d55-0d5f3c1f3f6e"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "project",
        f"project.{PID}",
        f"project.{PID}.nope",
        f"project.{PID}.admin_changed",  # an account type under a project
        "project.not-a-uuid.task_created",
        f"project.{PID.upper()}.task_created",  # only the canonical form a producer writes
        f"project.{PID.replace('-', '')}.task_created",
        f"project.{{{PID}}}.task_created",
        f"project.{PID}.task_created.extra",
        f"projects.{PID}.task_created",
        "project.*.task_created",  # a binding pattern is not a key
        "project.#",
        "account.task_created",  # a project type as an account event
        "account.admin_changed.x",
        "account.",
        "task_created",
    ],
)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(RoutingKeyError):
        parse_routing_key(key)


@given(st.text(max_size=80))
def test_random_strings_parse_or_raise_routing_key_error(key: str) -> None:
    try:
        parsed = parse_routing_key(key)
    except RoutingKeyError:
        return
    assert str(parsed) == key


def test_builders_refuse_types_of_the_other_scope() -> None:
    with pytest.raises(RoutingKeyError):
        project_routing_key(uuid.uuid4(), "admin_changed")
    with pytest.raises(RoutingKeyError):
        account_routing_key("task_created")


def test_patterns() -> None:
    pid = uuid.UUID(PID)
    assert project_pattern() == "project.*.*"
    assert project_pattern("task_created") == "project.*.task_created"
    assert project_pattern("task_created", pid) == f"project.{PID}.task_created"
