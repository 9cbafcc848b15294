"""Pass `/api/notifications*` through to the notifier when no front door does (`make stack`).

In containers and Kubernetes the front door routes those paths to the notifier, and in `make dev` the dev
runner does; with plain processes the page on tasks-api's port would find nothing there. Only with
BOARDCAST_NOTIFIER_URL set; the caller's own token is forwarded and the notifier checks it.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response

FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "x-request-id")


def build_router(notifier_url: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    base = notifier_url.rstrip("/")

    async def forward(request: Request, path: str = "") -> Response:
        url = f"{base}/api/notifications{'/' + path if path else ''}"
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                upstream = await client.request(
                    request.method,
                    url,
                    params=request.query_params,
                    headers=headers,
                    content=await request.body(),
                )
        except httpx.HTTPError:
            return Response('{"detail":"notifier unavailable"}', 503, media_type="application/json")
        return Response(
            upstream.content, upstream.status_code, media_type=upstream.headers.get("content-type")
        )

    router.add_api_route("/api/notifications", forward, methods=["GET", "POST"])
    router.add_api_route("/api/notifications/{path:path}", forward, methods=["GET", "POST"])
    return router
