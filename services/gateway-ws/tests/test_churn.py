"""Churn: clients hop between two replicas with since while events stream in; none misses or repeats one."""

from __future__ import annotations

import asyncio
import random

import pytest
from boardcast_testkit import eventually
from gwtesting import FakeMembership, GatewayFactory, comment_deleted, new_id, open_client

pytestmark = pytest.mark.redis

TOTAL = 400


async def _true(value: object) -> object:
    return value


async def test_hopping_clients_see_every_event_once_in_order(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    replicas = [await gateways(), await gateways()]
    pid = new_id()
    rng = random.Random(5)

    async def writer() -> None:
        for seq in range(1, TOTAL + 1):
            await replicas[seq % 2].ingest.ingest(comment_deleted(pid, seq))  # type: ignore[union-attr]
            if seq % 7 == 0:
                await asyncio.sleep(0.003)

    async def hopper(index: int) -> list[int]:
        uid = new_id()
        membership.add(pid, uid)
        seen: list[int] = []
        since: int | None = None
        hops = 0
        while not seen or seen[-1] < TOTAL:
            gw = replicas[(index + hops) % 2]
            path = f"/ws/projects/{pid}" + (f"?since={since}" if since is not None else "")
            client = await open_client(gw, path, user_id=uid)
            if since is None:
                await eventually(lambda c=client: _true(bool(c.frames)), what="hello")
                since = client.frames[0]["seq"]
                seen.append(since)  # a baseline marker, removed below
            stay = rng.uniform(0.02, 0.15)
            await asyncio.sleep(stay)
            if hops > 6:
                await eventually(lambda c=client: _true(c.seqs()[-1:] == [TOTAL]), timeout=20, what="tail")
            await client.close()
            assert client.close_code in (None, 1000), client.close_code
            assert not client.of_type("resync_required")
            got = client.seqs()
            seen.extend(got)
            if got:
                since = got[-1]
            hops += 1
        return seen

    write = asyncio.create_task(writer())
    results = await asyncio.gather(*(hopper(i) for i in range(6)))
    await write
    for seen in results:
        baseline, events = seen[0], seen[1:]
        assert events == list(range(baseline + 1, TOTAL + 1))
