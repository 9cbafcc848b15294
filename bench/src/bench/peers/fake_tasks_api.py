"""A stand-in for tasks-api's membership answer, so the gateway benchmark measures the gateway alone.

The gateway asks ``GET /api/projects/{id}`` with the caller's token; this answers 200 "member, editor" for any
project and any token that is present (the gateway verifies the JWT itself). Nothing else is served.

Run: ``python -m bench.peers.fake_tasks_api --port 9100``
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from aiohttp import web

OWNER = "00000000-0000-4000-8000-000000000001"


async def project(request: web.Request) -> web.Response:
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return web.json_response({"detail": "not authenticated"}, status=401)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = {
        "id": request.match_info["project_id"],
        "name": "bench",
        "description": "",
        "role": "editor",
        "seq": 0,
        "created_by": OWNER,
        "created_at": now,
    }
    return web.json_response(body)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/api/projects/{project_id}", project)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
