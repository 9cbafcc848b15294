"""Exchange name and the routing-key scheme: `project.<project_id>.<type>` and `account.<type>`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from boardcast_contracts.events import (
    ACCOUNT_EVENT_TYPES,
    PROJECT_EVENT_TYPES,
    AccountEvent,
    ProjectEvent,
    event_type,
)

EXCHANGE = "boardcast.events"
EXCHANGE_TYPE = "topic"

# Binding patterns consumers use (AMQP topic syntax).
ALL_EVENTS = "#"
ALL_PROJECT_EVENTS = "project.#"
ALL_ACCOUNT_EVENTS = "account.#"


class RoutingKeyError(ValueError):
    """A routing key that is not of Boardcast's scheme."""


@dataclass(frozen=True, slots=True)
class RoutingKey:
    scope: str
    type: str
    project_id: uuid.UUID | None = None

    def __str__(self) -> str:
        if self.project_id is None:
            return f"account.{self.type}"
        return f"project.{self.project_id}.{self.type}"


def project_routing_key(project_id: uuid.UUID, event_type: str) -> str:
    if event_type not in PROJECT_EVENT_TYPES:
        raise RoutingKeyError(f"unknown project event type {event_type!r}")
    return f"project.{project_id}.{event_type}"


def account_routing_key(event_type: str) -> str:
    if event_type not in ACCOUNT_EVENT_TYPES:
        raise RoutingKeyError(f"unknown account event type {event_type!r}")
    return f"account.{event_type}"


def project_pattern(event_type: str = "*", project_id: uuid.UUID | None = None) -> str:
    """A binding pattern for project events of one type (or `*`), in one project or any."""
    return f"project.{project_id if project_id else '*'}.{event_type}"


def routing_key_for(event: ProjectEvent | AccountEvent) -> str:
    if isinstance(event, ProjectEvent):
        return project_routing_key(event.project_id, event_type(event))
    return account_routing_key(event_type(event))


def parse_routing_key(key: str) -> RoutingKey:
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "project":
        try:
            project_id = uuid.UUID(parts[1])
        except ValueError as exc:
            raise RoutingKeyError(f"bad project id in routing key {key!r}") from exc
        if str(project_id) != parts[1]:  # uuid.UUID also takes braces, upper case, no hyphens
            raise RoutingKeyError(f"project id in routing key {key!r} is not in canonical form")
        if parts[2] not in PROJECT_EVENT_TYPES:
            raise RoutingKeyError(f"unknown project event type in routing key {key!r}")
        return RoutingKey("project", parts[2], project_id)
    if len(parts) == 2 and parts[0] == "account":
        if parts[1] not in ACCOUNT_EVENT_TYPES:
            raise RoutingKeyError(f"unknown account event type in routing key {key!r}")
        return RoutingKey("account", parts[1])
    raise RoutingKeyError(f"routing key {key!r} is not project.<id>.<type> or account.<type>")
