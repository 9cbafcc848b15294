"""The HTTP edge of the gateway: health, readiness and metrics, and the checks made before any upgrade."""

from __future__ import annotations

import http
import re
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from gateway_ws.auth import InvalidToken, TokenVerifier, choose_subprotocol, token_from_subprotocols
from gateway_ws.metrics import CONTENT_TYPE, Metrics
from gateway_ws.sessions import ConnectRequest
from gateway_ws.settings import Settings

_ROOM_PATH = re.compile(
    r"^/ws/projects/([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})/?$"
)
_POLICY_CODES = {1007, 1009}


class PolicyProtocol(ServerProtocol):
    """SPEC §5 closes malformed or oversized client frames with 1008; websockets would say 1007 / 1009."""

    def fail(self, code: int, reason: str = "") -> None:
        super().fail(1008 if code in _POLICY_CODES else code, reason)


class GatewayConnection(ServerConnection):
    """A ServerConnection whose protocol closes bad frames 1008 and which forgets its handshake once open."""

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        # Swap the class rather than wrap the instance: zero extra memory per connection.
        protocol.__class__ = PolicyProtocol
        super().__init__(protocol, *args, **kwargs)

    def forget_handshake(self) -> None:
        """Drop the handshake headers once open (about 2 KiB a socket; nothing reads them afterwards)."""
        if self.request is not None:
            self.request.headers.clear()
        if self.response is not None:
            self.response.headers.clear()


def _text(status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    headers["Cache-Control"] = "no-store"
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


class Edge:
    """process_request and select_subprotocol for websockets' serve()."""

    def __init__(
        self,
        settings: Settings,
        verifier: TokenVerifier,
        metrics: Metrics,
        readiness: Callable[[], Awaitable[list[str]]],
        counts: Callable[[], tuple[int, dict[str, int]]],
        claim_slot: Callable[[str], Awaitable[str | None]],
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.metrics = metrics
        self.readiness = readiness
        self.counts = counts
        self.claim_slot = claim_slot
        self.origins = {o.rstrip("/") for o in settings.allowed_origins}
        self.server: Server | None = None
        self.requests: weakref.WeakKeyDictionary[ServerConnection, ConnectRequest] = (
            weakref.WeakKeyDictionary()
        )

    def select_subprotocol(
        self, conn: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        return choose_subprotocol(offered)

    async def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path
        if path == "/healthz":
            return _text(200, b"ok\n")
        if path == "/readyz":
            problems = await self.readiness()
            if problems:
                return _text(503, ("not ready: " + ", ".join(problems) + "\n").encode())
            return _text(200, b"ready\n")
        if path == "/metrics":
            return _text(200, self.metrics.render(), CONTENT_TYPE)
        match = _ROOM_PATH.match(path)
        if match is None and path.rstrip("/") != "/ws/notifications":
            return _text(404, b"not found\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/") not in self.origins:
            return _text(403, b"origin not allowed\n")
        total, per_user = self.counts()
        if total >= self.settings.max_connections:
            return _text(503, b"replica at connection limit, try another\n")
        query = parse_qs(parts.query, keep_blank_values=True)
        since: int | None = None
        if "since" in query:
            raw = query["since"][-1]
            if not raw.isdigit() or len(raw) > 18:
                return _text(400, b"since must be a non-negative integer\n")
            since = int(raw)
        offered = [p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")]
        token = (query.get("token") or [""])[-1] or token_from_subprotocols(offered) or ""
        claims, error = None, None
        try:
            claims = self.verifier.verify(token)
        except InvalidToken as exc:
            error = str(exc)
        slot = ""
        if claims is not None:
            # This replica's own count first (no round trip), then the user's count over all replicas.
            over = per_user.get(claims.user_id, 0) >= self.settings.max_connections_per_user
            claimed = None if over else await self.claim_slot(claims.user_id)
            if claimed is None:
                return _text(429, b"too many connections for this user\n")
            slot = claimed
        kind = "room" if match is not None else "notifications"
        pid = str(match.group(1)).lower() if match is not None else ""
        if pid and "-" not in pid:
            pid = f"{pid[:8]}-{pid[8:12]}-{pid[12:16]}-{pid[16:20]}-{pid[20:]}"
        # Kept beside the connection, not on it: a new instance attribute would unshare the instance
        # dict of every connection (about 1.5 KiB each).
        self.requests[conn] = ConnectRequest(kind, pid, since, token, claims, error, slot)
        return None
