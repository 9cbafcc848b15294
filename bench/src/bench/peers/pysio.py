"""Peer (b): python-socketio's AsyncServer with AsyncRedisManager, under uvicorn, WebSocket transport only.

A client joins the room named in its namespace-connect auth (``{"room": "..."}``). Messages come in the way a
python-socketio deployment receives them from other processes: a write-only AsyncRedisManager publishes into
the manager's Redis channel, and this server fans them out to the room's sockets.

Run: ``python -m bench.peers.pysio --port 9102 --redis redis://127.0.0.1:6379/0 --channel bench:sio``
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
import uvicorn


def create_app(redis_url: str, channel: str) -> Any:
    manager = socketio.AsyncRedisManager(redis_url, channel=channel)
    sio = socketio.AsyncServer(
        async_mode="asgi", client_manager=manager, transports=["websocket"], cors_allowed_origins="*"
    )

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        if isinstance(auth, dict) and isinstance(auth.get("room"), str):
            await sio.enter_room(sid, auth["room"])

    return socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.redis, args.channel), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
