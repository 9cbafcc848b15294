"""What only a real RabbitMQ can show: recovery from a cut connection, and the event contract on the wire."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aio_pika
import pytest
from boardcast_contracts import EVENT_MODELS, PROJECT_EVENT_TYPES, decode_event, encode_event, routing_key_for
from boardcast_messaging import ConsumerSpec, Delivery, PublishError
from boardcast_testkit import TcpProxy, eventually

from .conftest import make_event

pytestmark = pytest.mark.rabbitmq


async def test_consumer_and_publisher_recover_from_a_cut_connection(
    make_rabbit: Any, queue_name: Any, amqp_url: str, exchange: str
) -> None:
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    try:
        broker = await make_rabbit(f"amqp://guest:guest@{proxy.url_host_port}/")
        q = queue_name()
        seen: list[uuid.UUID] = []

        async def handler(d: Delivery) -> None:
            seen.append(d.event.event_id)

        await broker.consume(ConsumerSpec(q, ["project.#"]), handler)
        before = make_event(seq=1)
        await broker.publisher.publish_event(before)

        async def got_before() -> bool:
            return before.event_id in seen

        await eventually(got_before)

        await proxy.cut()

        async def noticed() -> bool:
            return not await broker.ready()

        await eventually(noticed, what="ready() turns false while cut")
        during = make_event(seq=2)
        with pytest.raises(PublishError):
            await broker.publisher.publish_event(during)
        # The outbox would keep `during`; here another (unproxied) producer sends it meanwhile.
        direct = await aio_pika.connect(amqp_url)
        try:
            channel = await direct.channel()
            ex = await channel.get_exchange(exchange)
            await ex.publish(aio_pika.Message(encode_event(during)), routing_key_for(during))
        finally:
            await direct.close()

        await asyncio.sleep(2.5)  # an outage long enough for several reconnect attempts to be refused
        await proxy.restore()
        restored_at = time.monotonic()
        after = make_event(seq=3)

        async def publishes_again() -> bool:
            try:
                await broker.publisher.publish_event(after)
            except PublishError:
                return False
            return True

        await eventually(publishes_again, timeout=15, interval=0.2, what="publisher works again")

        async def consumes_again() -> bool:
            return {during.event_id, after.event_id} <= set(seen)

        await eventually(consumes_again, timeout=15, what="consumer consumes again, nothing lost")
        recovered_in = time.monotonic() - restored_at
        assert recovered_in < 10, f"recovery took {recovered_in:.1f}s"
        await eventually(broker.ready, what="ready() true again")
    finally:
        await proxy.stop()


async def test_concurrent_publishes_are_pipelined(make_rabbit: Any, queue_name: Any) -> None:
    broker = await make_rabbit()
    q = queue_name()
    seen: list[int] = []

    async def handler(d: Delivery) -> None:
        seen.append(d.event.seq)  # type: ignore[union-attr]

    await broker.consume(ConsumerSpec(q, ["project.#"], single_active=True), handler)
    project = uuid.uuid4()
    events = [make_event(project_id=project, seq=i + 1) for i in range(300)]
    started = time.monotonic()
    await asyncio.gather(*(broker.publisher.publish_event(e) for e in events))
    elapsed = time.monotonic() - started

    async def all_in() -> bool:
        return len(seen) == 300

    await eventually(all_in)
    # One channel keeps publish order, so a batch gathered in seq order arrives in seq order.
    assert seen == list(range(1, 301))
    # 300 sequential confirm round-trips would take far longer than this on a loaded box.
    assert elapsed < 5, f"300 confirmed publishes took {elapsed:.2f}s"


async def test_every_event_type_routes_and_decodes(make_rabbit: Any, queue_name: Any) -> None:
    """Issue 2's contract test: the documented binding patterns receive exactly the events they promise."""
    broker = await make_rabbit()
    everything, one_project = queue_name("all"), queue_name("one")
    p1, p2 = uuid.uuid4(), uuid.uuid4()
    got: dict[str, list[Any]] = {everything: [], one_project: []}

    def recorder(name: str) -> Any:
        async def handler(d: Delivery) -> None:
            # The runner decoded it already; decoding the canonical bytes again must give the same event.
            assert decode_event(encode_event(d.event)) == d.event
            got[name].append(d.event)

        return handler

    bindings = [f"project.*.{t}" for t in sorted(PROJECT_EVENT_TYPES)] + ["account.#"]
    await broker.consume(ConsumerSpec(everything, bindings), recorder(everything))
    await broker.consume(ConsumerSpec(one_project, [f"project.{p1}.#"]), recorder(one_project))

    published = []
    for project in (p1, p2):
        for seq, event_type in enumerate(sorted(PROJECT_EVENT_TYPES), start=1):
            published.append(make_event(event_type, project, seq))
    published += [make_event(t) for t in EVENT_MODELS if t not in PROJECT_EVENT_TYPES]
    for event in published:
        await broker.publisher.publish_event(event)

    async def all_in() -> bool:
        return len(got[everything]) == len(published) and len(got[one_project]) == len(PROJECT_EVENT_TYPES)

    await eventually(all_in, what="both queues filled")
    assert sorted(str(e.event_id) for e in got[everything]) == sorted(str(e.event_id) for e in published)
    assert {e.type for e in got[everything]} == set(EVENT_MODELS)  # type: ignore[union-attr]
    assert {type(e) for e in got[everything]} == set(EVENT_MODELS.values())
    p1_events = [e for e in published if getattr(e, "project_id", None) == p1]
    assert sorted(str(e.event_id) for e in got[one_project]) == sorted(str(e.event_id) for e in p1_events)
    by_id = {e.event_id: e for e in published}
    assert all(by_id[e.event_id] == e for e in got[everything])


async def test_watchdog_rebuilds_what_recovery_left_closed(make_rabbit: Any, queue_name: Any) -> None:
    """Channels closed behind recovery's back (its known gaps) are rebuilt by the broker's own supervision."""
    broker = await make_rabbit(watchdog_interval=0.1)
    q = queue_name()
    seen: list[uuid.UUID] = []

    async def handler(d: Delivery) -> None:
        seen.append(d.event.event_id)

    handle = await broker.consume(ConsumerSpec(q, ["project.#"]), handler)
    # A channel closed as if by the application is one robust recovery will never reopen.
    await handle._channel.close()
    await broker._channel.close()
    assert not await broker.ready()

    await eventually(broker.ready, timeout=5, what="watchdog rebuilt both channels")
    event = make_event()
    await broker.publisher.publish_event(event)

    async def consumed() -> bool:
        return seen == [event.event_id]

    await eventually(consumed, timeout=5)


async def test_stop_returns_while_rabbitmq_is_unreachable(make_rabbit: Any, queue_name: Any) -> None:
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    try:
        broker = await make_rabbit(f"amqp://guest:guest@{proxy.url_host_port}/")

        async def handler(d: Delivery) -> None:
            pass

        await broker.consume(ConsumerSpec(queue_name(), ["project.#"]), handler)
        await proxy.cut()
        started = time.monotonic()
        await asyncio.wait_for(broker.stop(), 20)
        assert time.monotonic() - started < 15
    finally:
        await proxy.stop()


async def test_watchdog_resubscribes_after_a_broker_side_cancel(
    make_rabbit: Any, queue_name: Any, amqp_url: str
) -> None:
    """Deleting the queue makes RabbitMQ cancel the consumer, which robust recovery ignores (aio-pika#334)."""
    broker = await make_rabbit(watchdog_interval=0.1)
    q = queue_name()
    seen: list[uuid.UUID] = []

    async def handler(d: Delivery) -> None:
        seen.append(d.event.event_id)

    await broker.consume(ConsumerSpec(q, ["project.#"]), handler)
    direct = await aio_pika.connect(amqp_url)
    try:
        channel = await direct.channel()
        await channel.queue_delete(q)
    finally:
        await direct.close()

    async def cancelled_then_back() -> bool:
        return await broker.ready()

    await eventually(cancelled_then_back, timeout=5, what="consumer re-subscribed")
    event = make_event()

    async def delivered() -> bool:
        try:
            await broker.publisher.publish_event(event)
        except PublishError:
            return False  # the queue (and its binding) not re-declared yet
        return True

    await eventually(delivered, timeout=5)

    async def consumed() -> bool:
        return event.event_id in seen

    await eventually(consumed, timeout=5)


async def test_nacked_publish_raises(make_rabbit: Any, queue_name: Any, exchange: str) -> None:
    """A queue that refuses what it cannot hold makes RabbitMQ nack the publish: PublishError, not silence."""
    broker = await make_rabbit()
    q = queue_name("full")
    broker.declared_queues.add(q)
    channel = await broker._connection.channel()
    try:
        declared = await channel.declare_queue(
            q, durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
        )
        await declared.bind(exchange, "project.#")
    finally:
        await channel.close()
    await broker.publisher.publish_event(make_event(seq=1))
    with pytest.raises(PublishError, match="nack"):
        await broker.publisher.publish_event(make_event(seq=2))


class StallingProxy:
    """Forwards to RabbitMQ, but while ``stalled`` holds back what RabbitMQ sends (its confirms, too)."""

    def __init__(self) -> None:
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5672)
        for src, dst, gated in ((reader, up_writer, False), (up_reader, writer, True)):
            task = asyncio.create_task(self._pipe(src, dst, gated))
            self._tasks.add(task)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, gated: bool) -> None:
        try:
            while data := await src.read(65536):
                if gated:
                    await self.flowing.wait()
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()

    async def stop(self) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()


async def test_confirm_timeout_raises_and_publishing_resumes(make_rabbit: Any, queue_name: Any) -> None:
    proxy = await StallingProxy().start()
    try:
        broker = await make_rabbit(f"amqp://guest:guest@127.0.0.1:{proxy.port}/", confirm_timeout=0.5)
        sink = _Sink()
        await broker.consume(ConsumerSpec(queue_name(), ["project.#"]), sink)
        proxy.flowing.clear()
        with pytest.raises(PublishError, match="no confirm"):
            await broker.publisher.publish_event(make_event(seq=1))
        proxy.flowing.set()
        await broker.publisher.publish_event(make_event(seq=2))

        async def both_arrived() -> bool:
            # The timed-out one was taken after all: the caller retrying it is what at-least-once means.
            return len(sink.seen) == 2

        await eventually(both_arrived)
    finally:
        await proxy.stop()


class _Sink:
    def __init__(self) -> None:
        self.seen: list[Delivery] = []

    async def __call__(self, d: Delivery) -> None:
        self.seen.append(d)


async def test_start_waits_for_a_broker_that_comes_up_late(exchange: str) -> None:
    """A service started before RabbitMQ accepts connections waits for it instead of dying."""
    from boardcast_messaging.rabbit import RabbitBroker

    proxy = await TcpProxy("127.0.0.1", 5672).start()
    await proxy.cut()  # the port refuses connections, like a broker that is not up yet
    broker = RabbitBroker(f"amqp://guest:guest@{proxy.url_host_port}/", exchange=exchange, service="late")
    starting = asyncio.create_task(broker.start())
    try:
        await asyncio.sleep(1.5)  # refused several times meanwhile
        assert not starting.done(), "start() gave up while the broker was still coming up"
        await proxy.restore()
        await asyncio.wait_for(starting, 20)
        assert await broker.ready()
    finally:
        starting.cancel()
        await broker.stop()
        await proxy.stop()


async def test_start_gives_up_after_its_deadline() -> None:
    from boardcast_messaging.rabbit import RabbitBroker

    proxy = await TcpProxy("127.0.0.1", 5672).start()
    await proxy.cut()
    broker = RabbitBroker(
        f"amqp://guest:guest@{proxy.url_host_port}/", exchange="never", service="late", start_timeout=1.0
    )
    began = time.monotonic()
    with pytest.raises((OSError, TimeoutError, aio_pika.exceptions.AMQPError)):
        await broker.start()
    assert time.monotonic() - began < 15
    await proxy.stop()
