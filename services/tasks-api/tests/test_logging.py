"""Request logs carry a request id and never the token."""

from __future__ import annotations


async def test_request_log_has_request_id_and_no_token(h, capsys):
    user = await h.api.user()
    token = user["headers"]["Authorization"].split()[1]
    capsys.readouterr()
    r = await h.client.get("/api/me", headers={**user["headers"], "X-Request-ID": "req-abc-123"})
    assert r.headers["x-request-id"] == "req-abc-123"
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "req-abc-123" in logged and "/api/me" in logged
    assert token not in logged and token[:20] not in logged
