"""The AsyncAPI 3.0 document of the `boardcast.events` exchange, built from the models and the topology."""

from __future__ import annotations

import json
from typing import Any

import yaml

from boardcast_contracts.codec import encode_event
from boardcast_contracts.events import ACCOUNT_EVENT_TYPES, EVENT_MODELS, PROJECT_EVENT_TYPES
from boardcast_contracts.examples import example_event
from boardcast_contracts.routing import EXCHANGE, EXCHANGE_TYPE
from boardcast_contracts.schemas import GENERATED_NOTE, current_schema_version
from boardcast_contracts.topology import CONSUMERS, PARKED_SUFFIX, PUBLISHER

AMQP_BINDING_VERSION = "0.3.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-07"
CHANNELS = {"projectEvents": PROJECT_EVENT_TYPES, "accountEvents": ACCOUNT_EVENT_TYPES}

ENVELOPE_FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "event_id": ({"type": "string", "format": "uuid"}, "uuid4 (= AMQP message_id); consumers dedupe on it"),
    "type": ({"type": "string"}, "the event type; the last word of the routing key"),
    "schema_version": ({"type": "integer"}, "schema version; decode_event reads every supported one"),
    "project_id": ({"type": "string", "format": "uuid"}, "project events only"),
    "seq": (
        {"type": "integer", "minimum": 1},
        "project events only: 1, 2, 3 ... per project, assigned in the writing transaction (commit order)",
    ),
    "occurred_at": ({"type": "string", "format": "date-time"}, "RFC 3339, UTC"),
    "actor_id": ({"type": "string", "format": "uuid"}, "the user whose action this was"),
    "data": ({"type": "object"}, "the payload of the type (see each message)"),
}


def _envelope_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event_id", "type", "schema_version", "occurred_at", "actor_id", "data"],
        "properties": {name: {**s, "description": text} for name, (s, text) in ENVELOPE_FIELDS.items()},
    }


def _schema_path(event_type: str) -> str:
    # Relative to docs/asyncapi.yaml.
    return f"../libs/contracts/schemas/v{current_schema_version()}/{event_type}.json"


def _message(event_type: str) -> dict[str, Any]:
    model = EVENT_MODELS[event_type]
    return {
        "name": event_type,
        "title": model.__name__,
        "summary": f"{model.scope} event `{event_type}` in the envelope of SPEC §4",
        "contentType": "application/json",
        "traits": [{"$ref": "#/components/messageTraits/envelope"}],
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": _schema_path(event_type)}},
        "bindings": {"amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING_VERSION}},
        "examples": [{"name": event_type, "payload": json.loads(encode_event(example_event(event_type)))}],
    }


def _channel(address: str, types: frozenset[str], description: str) -> dict[str, Any]:
    parameters: dict[str, Any] = {"type": {"enum": sorted(types), "description": "the event type"}}
    if "{project_id}" in address:
        parameters["project_id"] = {"description": "the project's uuid"}
    return {
        "address": address,
        "description": description,
        "parameters": parameters,
        "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in sorted(types)},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": EXCHANGE,
                    "type": EXCHANGE_TYPE,
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _channel_messages(channel: str, types: frozenset[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{t}"} for t in sorted(types)]


def _operations() -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for channel, types in CHANNELS.items():
        ops[f"{PUBLISHER}-send-{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{PUBLISHER}: its outbox relay publishes each committed event (publisher confirms)",
            "messages": _channel_messages(channel, types),
            "bindings": {
                "amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": AMQP_BINDING_VERSION}
            },
            "x-service": PUBLISHER,
        }
    for consumer in CONSUMERS:
        for channel, types in CHANNELS.items():
            read = consumer.event_types & types
            if not read:
                continue
            ops[f"{consumer.service}-receive-{channel}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{consumer.service}: {consumer.purpose}",
                "messages": _channel_messages(channel, read),
                "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
                "x-service": consumer.service,
                "x-queue": {
                    "name": consumer.queue,
                    "type": "quorum",
                    "durable": True,
                    "bindings": list(consumer.bindings),
                    "single-active-consumer": consumer.ordered,
                    "retry": "in place, with backoff" if consumer.ordered else "delayed, then parked",
                    "parked": consumer.queue + PARKED_SUFFIX,
                },
            }
    return ops


def asyncapi_document() -> dict[str, Any]:
    version = current_schema_version()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Boardcast events",
            "version": str(version),
            "description": (
                f"{GENERATED_NOTE}\n\nEvery Boardcast event is a persistent JSON message on the "
                f"durable topic exchange `{EXCHANGE}`. Project events are routed as "
                "`project.<project_id>.<type>` and carry a per-project `seq`; account events are routed as "
                "`account.<type>` and carry neither `project_id` nor `seq`. Consumers are idempotent by "
                "`event_id`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "RabbitMQ of `make stack` and the tests (guest/guest)",
            }
        },
        "channels": {
            "projectEvents": _channel(
                "project.{project_id}.{type}", PROJECT_EVENT_TYPES, "Events of one project, ordered by seq."
            ),
            "accountEvents": _channel("account.{type}", ACCOUNT_EVENT_TYPES, "Events of no project."),
        },
        "operations": _operations(),
        "components": {
            "messages": {t: _message(t) for t in sorted(EVENT_MODELS)},
            "messageTraits": {
                "envelope": {
                    "contentType": "application/json",
                    "description": "Each event is an `Envelope` (components/schemas); `data` is per type.",
                }
            },
            "schemas": {"Envelope": _envelope_schema()},
        },
    }


def render_asyncapi() -> str:
    header = f"# {GENERATED_NOTE}\n"
    body: str = yaml.safe_dump(
        asyncapi_document(), sort_keys=True, default_flow_style=False, allow_unicode=True, width=100
    )
    return header + body
