"""Peer (a): the naive design Boardcast's gateway replaces, kept as the baseline it must beat by 10x.

A FastAPI WebSocket endpoint that opens its own Redis pub/sub subscription for every connected socket, and
JSON-decodes then re-encodes every message for every socket (``send_json``). Written the way such a first
version usually is; do not optimise it, it is the point of comparison.

Run: ``python -m bench.peers.naive --port 9101 --redis redis://127.0.0.1:6379/0``
"""

from __future__ import annotations

import argparse
import json

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from redis.asyncio import Redis

CHANNEL_PREFIX = "bench:naive:room:"


def create_app(redis_url: str) -> FastAPI:
    app = FastAPI()
    # redis-py's pool refuses past 100 connections by default; this design needs one per socket.
    redis = Redis.from_url(redis_url, max_connections=100_000)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/ws/{room}")
    async def room_socket(ws: WebSocket, room: str) -> None:
        await ws.accept()
        pubsub = redis.pubsub()
        await pubsub.subscribe(CHANNEL_PREFIX + room)
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    await ws.send_json(json.loads(message["data"]))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await pubsub.aclose()

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.redis), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
