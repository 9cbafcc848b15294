"""Pure units: frame encoding, token checks and redaction, client message parsing, presence lists."""

from __future__ import annotations

import pytest
from gateway_ws.auth import InvalidToken, TokenVerifier, choose_subprotocol, redact, token_from_subprotocols
from gateway_ws.peers import text_frame
from gateway_ws.protocol import BadFrame, parse_client_message
from gateway_ws.store import presence_list
from gwtesting import SECRET, token
from websockets.frames import Frame, Opcode


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frame_matches_websockets_own_encoding(size: int) -> None:
    payload = b"a" * size
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)


def test_token_verification() -> None:
    verifier = TokenVerifier(SECRET)
    claims = verifier.verify(token("u1", "Ann"))
    assert (claims.user_id, claims.name) == ("u1", "Ann")
    for bad in (None, "", "x.y.z", token("u1", secret="other" * 10), token("u1", ttl=-1)):
        with pytest.raises(InvalidToken):
            verifier.verify(bad)


def test_subprotocol_token_and_choice() -> None:
    assert token_from_subprotocols(["boardcast.v1", "bearer.abc"]) == "abc"
    assert token_from_subprotocols(["boardcast.v1"]) is None
    assert choose_subprotocol(["bearer.abc", "boardcast.v1"]) == "boardcast.v1"
    assert choose_subprotocol(["bearer.abc"]) == "bearer.abc"
    assert choose_subprotocol(["chat"]) is None


def test_redaction() -> None:
    tok = token("u1")
    for text in (
        f"GET /ws/projects/x?token={tok}&since=1",
        f"proto bearer.{tok}",
        f"Authorization: Bearer {tok}",
    ):
        assert tok not in redact(text)
        assert "[redacted]" in redact(text)


def test_parse_client_message() -> None:
    assert parse_client_message('{"type":"ping"}') == ("ping", {"type": "ping"})
    assert parse_client_message('{"type":"other","x":1}')[0] == "other"
    for bad in (b"bin", "{", "[]", '{"type":1}', '"ping"', "null"):
        with pytest.raises(BadFrame):
            parse_client_message(bad)


def test_presence_list_dedupes_users_across_replicas() -> None:
    members = [b"u1\tgw-1\tZed", b"u1\tgw-2\tZed", b"u2\tgw-1\tAmy", b"broken"]
    assert presence_list(members) == [{"user_id": "u2", "name": "Amy"}, {"user_id": "u1", "name": "Zed"}]
