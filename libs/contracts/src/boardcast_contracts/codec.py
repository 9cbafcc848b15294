"""Encode an event to bytes and decode bytes to a typed event, with one clear error for anything wrong."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from boardcast_contracts.events import EVENT_MODELS, SUPPORTED_SCHEMA_VERSIONS, AccountEvent, ProjectEvent

MAX_EVENT_BYTES = 256 * 1024
"""No Boardcast event comes near this; anything larger is refused rather than parsed."""


class EventDecodeError(ValueError):
    """The bytes are not a valid Boardcast event: malformed, unknown type, unsupported version, too large."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode_event(event: ProjectEvent | AccountEvent) -> bytes:
    return event.model_dump_json().encode()


def _utf8_safe(doc: Any) -> bool:
    try:
        json.dumps(doc, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def decode_event(raw: bytes | bytearray | memoryview | str) -> ProjectEvent | AccountEvent:
    if isinstance(raw, str):
        try:
            raw = raw.encode()
        except UnicodeEncodeError:  # lone surrogates: no UTF-8 text, so no JSON either
            raise EventDecodeError("not JSON: text is not valid UTF-8") from None
    data = bytes(raw)
    if len(data) > MAX_EVENT_BYTES:
        raise EventDecodeError(f"event is {len(data)} bytes, over the {MAX_EVENT_BYTES}-byte limit")
    try:
        doc: Any = json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser's stack
        raise EventDecodeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise EventDecodeError("event must be a JSON object")
    if b"\\u" in data and not _utf8_safe(doc):
        # JSON may spell a lone surrogate as an escape; such a string has no UTF-8 form, so the event could
        # be decoded here but never encoded again by the consumer that relays it.
        raise EventDecodeError("not JSON text: a string holds a lone surrogate escape")
    event_type = doc.get("type")
    model = EVENT_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise EventDecodeError(f"unknown event type {event_type!r}")
    version = doc.get("schema_version")
    if type(version) is not int or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise EventDecodeError(f"unsupported schema_version {version!r} for {event_type}")
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise EventDecodeError(f"invalid {event_type}: {where}: {first.get('msg')}") from None
