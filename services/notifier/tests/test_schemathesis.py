"""Schemathesis fuzzes the notifier's OpenAPI schema with valid and invalid input: no 500, no violation."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from boardcast_messaging import InMemoryBroker
from fakeredis import FakeAsyncRedis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from notifier import Settings, create_app
from notifier.db import make_engine, make_sessionmaker
from notifier.migrate import migrate
from notifier.store import NotificationStore
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import SECRET, Board, auth

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
USER = uuid.uuid4()


async def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate(engine)
        store, board = NotificationStore(make_sessionmaker(engine)), Board()
        for _ in range(3):
            await store.record(board.member_added(uuid.uuid4(), USER))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    asyncio.run(_seed(db))
    holder: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            broker = InMemoryBroker("fuzz-ex")
            await broker.start()
            app = create_app(
                Settings(env="dev", notifier_database_url=db, jwt_secret=SECRET, notifier_queue="fuzz"),
                broker=broker,
                redis=FakeAsyncRedis(),
            )
            srv = holder["server"] = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
            )
            await srv.serve()
            await broker.stop()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not ((srv := holder.get("server")) and srv.started and srv.servers):
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=15)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_conforms_to_its_schema(server: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            case.call_and_validate(headers=auth(USER), checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # an operation without inputs has no invalid ones
        except Exception as exc:  # every operation's failure, then one assertion with all of them
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
