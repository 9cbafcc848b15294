"""The adapter suite: one set of behaviours, run against the in-process bus and (marked) a real RabbitMQ."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from boardcast_contracts import encode_event, routing_key_for
from boardcast_messaging import ConsumerSpec, Delivery, PermanentFailure, PublishError
from boardcast_testkit import eventually

from .conftest import make_event

FAST = (0.05, 0.1)


class Recorder:
    """A handler that records what it saw; optionally fails or blocks on chosen events."""

    def __init__(self) -> None:
        self.seen: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.seen.append(delivery)

    @property
    def ids(self) -> list[uuid.UUID]:
        return [d.event.event_id for d in self.seen]


async def test_topic_routing_star_and_hash(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    project, other = uuid.uuid4(), uuid.uuid4()
    specs = {
        "created_any": ["project.*.task_created"],
        "all_project": ["project.#"],
        "account": ["account.#"],
        "one_project": [f"project.{project}.#"],
    }
    recs = {k: Recorder() for k in specs}
    for k, bindings in specs.items():
        await broker.consume(ConsumerSpec(queue_name(k), bindings, retry_delays=FAST), recs[k])
    created = make_event("task_created", project)
    created_other = make_event("task_created", other)
    comment = make_event("comment_created", other)
    admin = make_event("admin_changed")
    for ev in (created, created_other, comment, admin):
        await broker.publisher.publish_event(ev)

    expected = {
        "created_any": {created.event_id, created_other.event_id},
        "all_project": {created.event_id, created_other.event_id, comment.event_id},
        "account": {admin.event_id},
        "one_project": {created.event_id},
    }

    async def all_arrived() -> bool:
        return all(set(recs[k].ids) == v for k, v in expected.items())

    await eventually(all_arrived, what="every queue receives exactly its events")
    for k, v in expected.items():
        assert sorted(recs[k].ids) == sorted(v), k  # no duplicates either
    delivery = recs["one_project"].seen[0]
    assert delivery.routing_key == f"project.{project}.task_created"
    assert delivery.attempt == 1
    assert delivery.event == created


async def test_unroutable_publish_raises(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    await broker.consume(ConsumerSpec(queue_name(), ["account.#"]), Recorder())
    with pytest.raises(PublishError):
        await broker.publisher.publish_event(make_event("task_created"))


async def test_failed_handler_redelivers_until_success(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    calls: list[int] = []

    async def flaky(d: Delivery) -> None:
        calls.append(d.attempt)
        if d.attempt < 2:
            raise RuntimeError("transient")

    q = queue_name()
    await broker.consume(ConsumerSpec(q, ["project.#"], retry_delays=FAST), flaky)
    await broker.publisher.publish_event(make_event())

    async def done() -> bool:
        return calls == [1, 2]

    await eventually(done, what="one failure, then success on attempt 2")
    assert await broker.parked(q) == []


async def test_unfinished_handler_is_not_acked(make_broker: Any, queue_name: Any) -> None:
    """A consumer that dies mid-handler leaves the message queued: the next consumer gets it, redelivered."""
    broker = await make_broker(grace=0.2)
    q = queue_name()
    started = asyncio.Event()

    async def hangs(d: Delivery) -> None:
        started.set()
        await asyncio.Event().wait()

    handle = await broker.consume(ConsumerSpec(q, ["project.#"], prefetch=1), hangs)
    event = make_event()
    await broker.publisher.publish_event(event)
    await asyncio.wait_for(started.wait(), 10)
    await handle.stop()  # grace runs out: the handler is cancelled, nothing was acked

    rec = Recorder()
    await broker.consume(ConsumerSpec(q, ["project.#"]), rec)

    async def again() -> bool:
        return rec.ids == [event.event_id]

    await eventually(again, what="the unacked message is delivered again")
    assert rec.seen[0].redelivered is True


async def test_competing_consumers_share_a_queue(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    a, b = Recorder(), Recorder()

    async def slow(rec: Recorder, d: Delivery) -> None:
        await asyncio.sleep(0.01)
        await rec(d)

    await broker.consume(ConsumerSpec(q, ["project.#"], prefetch=1), lambda d: slow(a, d))
    await broker.consume(ConsumerSpec(q, ["project.#"], prefetch=1), lambda d: slow(b, d))
    events = [make_event(seq=i + 1) for i in range(20)]
    for ev in events:
        await broker.publisher.publish_event(ev)

    async def all_handled() -> bool:
        return len(a.ids) + len(b.ids) == 20

    await eventually(all_handled, what="20 messages handled between the two replicas")
    assert sorted(a.ids + b.ids) == sorted(e.event_id for e in events)  # each exactly once
    assert a.ids and b.ids, "both replicas took a share"


async def test_single_active_consumer(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    first, second = Recorder(), Recorder()
    spec = ConsumerSpec(q, ["project.#"], single_active=True)
    h1 = await broker.consume(spec, first)
    await broker.consume(spec, second)
    for i in range(5):
        await broker.publisher.publish_event(make_event(seq=i + 1))

    async def first_has_all() -> bool:
        return len(first.ids) == 5

    await eventually(first_has_all)
    assert second.ids == []
    await h1.stop()
    await broker.publisher.publish_event(make_event(seq=6))

    async def second_took_over() -> bool:
        return len(second.ids) == 1

    await eventually(second_took_over, what="the standby consumer takes over")


async def test_failing_handler_isolated_from_other_queues(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    bad_q, good_q = queue_name("bad"), queue_name("good")

    async def broken(d: Delivery) -> None:
        raise RuntimeError("down")

    good = Recorder()
    await broker.consume(ConsumerSpec(bad_q, ["project.#"], retry_delays=(0.05,)), broken)
    await broker.consume(ConsumerSpec(good_q, ["project.#"]), good)
    events = [make_event(seq=i + 1) for i in range(3)]
    for ev in events:
        await broker.publisher.publish_event(ev)

    async def good_got_all() -> bool:
        return sorted(good.ids) == sorted(e.event_id for e in events)

    await eventually(good_got_all)

    async def bad_parked() -> bool:
        return len(await broker.parked(bad_q)) == 3

    await eventually(bad_parked, what="the broken queue parks its messages")


async def test_bounded_delayed_retries_then_parked_with_reason(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    attempts: list[tuple[int, float]] = []

    async def always_fails(d: Delivery) -> None:
        attempts.append((d.attempt, time.monotonic()))
        raise ValueError("boom at the database")

    await broker.consume(ConsumerSpec(q, ["project.#"], retry_delays=(0.1, 0.2)), always_fails)
    event = make_event()
    await broker.publisher.publish_event(event)

    async def parked() -> list[Any]:
        return await broker.parked(q)

    [msg] = await eventually(parked, what="parked after the last retry")
    assert [a for a, _ in attempts] == [1, 2, 3]
    assert attempts[1][1] - attempts[0][1] >= 0.09
    assert attempts[2][1] - attempts[1][1] >= 0.19
    assert msg.attempts == 3
    assert "boom at the database" in msg.reason and "ValueError" in msg.reason
    assert msg.body == encode_event(event)
    assert msg.routing_key == routing_key_for(event)
    assert msg.message_id == str(event.event_id)
    assert await broker.queue_depth(q) == 0


async def test_malformed_and_permanent_failures_parked_at_once(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    bad_event = make_event(seq=2)
    calls: list[uuid.UUID] = []

    async def handler(d: Delivery) -> None:
        calls.append(d.event.event_id)
        if d.event.event_id == bad_event.event_id:
            raise PermanentFailure("task belongs to no known project")

    await broker.consume(ConsumerSpec(q, ["project.#"], retry_delays=(5.0,)), handler)
    rk = f"project.{uuid.uuid4()}.task_created"
    await broker.publisher.publish(rk, b"{not json", message_id="m-1")
    await broker.publisher.publish(rk, b'{"type": "task_exploded", "schema_version": 1}', message_id="m-2")
    await broker.publisher.publish_event(bad_event)
    good = make_event(seq=3)
    await broker.publisher.publish_event(good)

    async def carried_on() -> bool:
        return good.event_id in calls and len(await broker.parked(q)) == 3

    await eventually(carried_on, what="three parked without retry delay, the good one handled")
    parked = {p.message_id: p for p in await broker.parked(q)}
    assert parked["m-1"].reason.startswith("malformed") and parked["m-1"].attempts == 1
    assert "unknown event type" in parked["m-2"].reason
    assert "no known project" in parked[str(bad_event.event_id)].reason
    assert calls.count(bad_event.event_id) == 1


async def test_graceful_stop_leaves_the_rest_queued(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    release = asyncio.Event()
    started = asyncio.Event()
    done: list[uuid.UUID] = []

    async def slow(d: Delivery) -> None:
        started.set()
        await release.wait()
        done.append(d.event.event_id)

    handle = await broker.consume(ConsumerSpec(q, ["project.#"], prefetch=1), slow)
    events = [make_event(seq=i + 1) for i in range(5)]
    for ev in events:
        await broker.publisher.publish_event(ev)
    await asyncio.wait_for(started.wait(), 10)
    stopping = asyncio.create_task(handle.stop())
    await asyncio.sleep(0.05)  # stop must wait for the handler in hand, not return yet
    assert not stopping.done()
    release.set()
    await stopping
    assert done == [events[0].event_id]

    async def rest_queued() -> bool:
        return await broker.queue_depth(q) == 4

    await eventually(rest_queued, what="the four unprocessed messages stay queued")
    rec = Recorder()
    await broker.consume(ConsumerSpec(q, ["project.#"]), rec)

    async def rest_handled() -> bool:
        return sorted(rec.ids) == sorted(e.event_id for e in events[1:])

    await eventually(rest_handled)


async def test_retry_in_place_keeps_order(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    project = uuid.uuid4()
    events = [make_event(project_id=project, seq=i + 1) for i in range(6)]
    handled: list[int] = []
    failures = {2: 2}  # seq 2 fails twice before it goes through

    async def handler(d: Delivery) -> None:
        seq: int = d.event.seq  # type: ignore[union-attr]
        if failures.get(seq, 0) > 0:
            failures[seq] -= 1
            raise RuntimeError("redis blip")
        handled.append(seq)

    spec = ConsumerSpec(q, [f"project.{project}.#"], prefetch=10, retry_in_place=True, retry_delays=FAST * 2)
    await broker.consume(spec, handler)
    for ev in events:
        await broker.publisher.publish_event(ev)

    async def all_in_order() -> bool:
        return len(handled) == 6

    await eventually(all_in_order)
    assert handled == [1, 2, 3, 4, 5, 6]
    assert await broker.parked(q) == []


async def test_retry_in_place_still_bounded(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    handled: list[int] = []
    first = make_event(seq=1)

    async def handler(d: Delivery) -> None:
        if d.event.event_id == first.event_id:
            raise RuntimeError("never")
        handled.append(d.event.seq)  # type: ignore[union-attr]

    await broker.consume(ConsumerSpec(q, ["project.#"], retry_in_place=True, retry_delays=(0.05,)), handler)
    await broker.publisher.publish_event(first)
    await broker.publisher.publish_event(make_event(seq=2))

    async def parked_then_next() -> bool:
        return handled == [2] and len(await broker.parked(q)) == 1

    await eventually(parked_then_next)
    assert (await broker.parked(q))[0].attempts == 2


async def test_parked_messages_can_be_replayed(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    healthy = False
    handled: list[Delivery] = []

    async def handler(d: Delivery) -> None:
        if not healthy:
            raise RuntimeError("dependency down")
        handled.append(d)

    await broker.consume(ConsumerSpec(q, ["project.#"], retry_delays=(0.05,)), handler)
    event = make_event()
    await broker.publisher.publish_event(event)

    async def parked() -> bool:
        return len(await broker.parked(q)) == 1

    await eventually(parked)
    healthy = True
    assert await broker.replay_parked(q) == 1

    async def handled_once() -> bool:
        return [d.event.event_id for d in handled] == [event.event_id]

    await eventually(handled_once)
    assert handled[0].attempt == 1
    assert handled[0].routing_key == routing_key_for(event)
    assert await broker.parked(q) == []


async def test_publish_after_stop_raises(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    await broker.consume(ConsumerSpec(queue_name(), ["#"]), Recorder())
    await broker.publisher.publish_event(make_event())
    await broker.stop()
    assert not await broker.ready()
    with pytest.raises(PublishError):
        await broker.publisher.publish_event(make_event())


async def test_prefetch_bounds_concurrent_handlers(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    in_flight, peak = 0, 0
    release = asyncio.Event()

    async def handler(d: Delivery) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1

    await broker.consume(ConsumerSpec(queue_name(), ["project.#"], prefetch=3), handler)
    for i in range(6):
        await broker.publisher.publish_event(make_event(seq=i + 1))

    async def three_at_once() -> bool:
        return in_flight == 3

    await eventually(three_at_once, what="prefetch=3 handlers run side by side")
    release.set()

    async def drained() -> bool:
        return in_flight == 0

    await eventually(drained)
    assert peak == 3


async def test_redeclaring_a_queue_with_other_arguments_is_refused(make_broker: Any, queue_name: Any) -> None:
    broker = await make_broker()
    q = queue_name()
    rec = Recorder()
    await broker.consume(ConsumerSpec(q, ["project.#"]), rec)
    with pytest.raises(ValueError, match="other arguments"):
        await broker.consume(ConsumerSpec(q, ["project.#"], single_active=True), Recorder())
    assert await broker.ready()  # the refused consumer left nothing half-open behind
    event = make_event()
    await broker.publisher.publish_event(event)

    async def first_consumer_unharmed() -> bool:
        return rec.ids == [event.event_id]

    await eventually(first_consumer_unharmed)
