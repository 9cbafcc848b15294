"""The wire protocol of SPEC §5: close codes, server frames, and parsing of what a client may send."""

from __future__ import annotations

import json
from typing import Any

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # malformed frames, frames over the limit, floods, too many connections
CLOSE_INTERNAL = 1011
CLOSE_RESTART = 1012  # replica draining
CLOSE_TRY_AGAIN = 1013  # slow consumer; dependency unavailable
CLOSE_UNAUTHORIZED = 4401  # no, bad or expired token
CLOSE_FORBIDDEN = 4403  # not a member, no such project, access revoked

PONG = b'{"type":"pong"}'
UNKNOWN_TYPE = b'{"type":"error","code":"unknown_type"}'
ACCESS_REVOKED = b'{"type":"access_revoked"}'


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def hello(project_id: str, seq: int, presence: list[dict[str, str]], instance: str, role: str) -> str:
    return dumps(
        {
            "type": "hello",
            "project_id": project_id,
            "seq": seq,
            "presence": presence,
            "instance": instance,
            "role": role,
        }
    )


def resync_required(seq: int) -> str:
    return dumps({"type": "resync_required", "seq": seq})


class BadFrame(Exception):
    """A client frame that breaks the protocol: close 1008 with this reason."""


def auth_ok(exp: float) -> str:
    return dumps({"type": "auth_ok", "exp": int(exp)})


def parse_client_message(message: str | bytes) -> tuple[str, dict[str, Any]]:
    """Return the message type and the message, or raise BadFrame.

    Only text frames holding a JSON object with a string type pass."""
    if not isinstance(message, str):
        raise BadFrame("binary frames are not accepted")
    try:
        doc = json.loads(message)
    except ValueError:
        raise BadFrame("malformed JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        raise BadFrame("a message is a JSON object with a string type")
    return str(doc["type"]), doc
