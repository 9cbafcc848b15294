"""What a consumer does with one message, whatever the backend: decode, run the handler, decide the outcome.

The backends only carry out the outcome: ``Ack`` (done), ``Retry`` (redeliver after a delay, attempt + 1),
``Park`` (move to ``<queue>.parked`` with the reason) or ``Requeue`` (put back untouched, e.g. on stop).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from boardcast_contracts import EventDecodeError, decode_event

from boardcast_messaging import metrics
from boardcast_messaging.base import ConsumerSpec, Delivery, Handler, PermanentFailure

log = structlog.get_logger("boardcast.messaging")


@dataclass(frozen=True, slots=True)
class Ack:
    pass


@dataclass(frozen=True, slots=True)
class Retry:
    delay: float
    next_attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class Park:
    reason: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Requeue:
    pass


Outcome = Ack | Retry | Park | Requeue


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


async def _attempt(
    spec: ConsumerSpec, handler: Handler, body: bytes, routing_key: str, redelivered: bool, attempt: int
) -> Outcome:
    """One try: decode and run the handler once; a failure becomes Retry while delays remain, else Park."""
    queue = spec.queue
    try:
        event = decode_event(body)
    except EventDecodeError as exc:
        # Retrying cannot fix bytes that do not decode: park at once so the queue carries on.
        log.warning("message_malformed", queue=queue, routing_key=routing_key, reason=exc.reason)
        return Park(f"malformed: {exc.reason}", attempt)
    if attempt == 1 and not redelivered:
        metrics.LAG.labels(queue).observe(max(0.0, (datetime.now(UTC) - event.occurred_at).total_seconds()))
    started = time.perf_counter()
    try:
        await handler(Delivery(event, routing_key, redelivered, attempt))
    except PermanentFailure as exc:
        metrics.FAILED.labels(queue).inc()
        log.warning("handler_permanent_failure", queue=queue, event_id=str(event.event_id), reason=str(exc))
        return Park(f"permanent: {_reason(exc)}", attempt)
    except Exception as exc:
        metrics.FAILED.labels(queue).inc()
        reason = _reason(exc)
        if attempt <= len(spec.retry_delays):
            log.warning(
                "handler_failed_will_retry",
                queue=queue,
                event_id=str(event.event_id),
                attempt=attempt,
                reason=reason,
                exc_info=True,
            )
            return Retry(float(spec.retry_delays[attempt - 1]), attempt + 1, reason)
        log.error(
            "handler_failed_parking",
            queue=queue,
            event_id=str(event.event_id),
            attempt=attempt,
            reason=reason,
        )
        return Park(f"failed after {attempt} attempts: {reason}", attempt)
    finally:
        metrics.PROCESSING.labels(queue).observe(time.perf_counter() - started)
    metrics.CONSUMED.labels(queue).inc()
    return Ack()


async def process(
    spec: ConsumerSpec,
    handler: Handler,
    body: bytes,
    routing_key: str,
    *,
    redelivered: bool,
    attempt: int,
    stopping: asyncio.Event,
) -> Outcome:
    """Handle one message to an outcome. With ``retry_in_place`` the retries happen here, holding the message
    (nothing behind it is handled meanwhile); a stop during the backoff hands it back as ``Requeue``."""
    outcome = await _attempt(spec, handler, body, routing_key, redelivered, attempt)
    while spec.retry_in_place and isinstance(outcome, Retry):
        metrics.RETRIED.labels(spec.queue).inc()
        try:
            await asyncio.wait_for(stopping.wait(), outcome.delay)
        except TimeoutError:
            pass
        else:
            return Requeue()
        outcome = await _attempt(spec, handler, body, routing_key, redelivered, outcome.next_attempt)
    if isinstance(outcome, Retry):
        metrics.RETRIED.labels(spec.queue).inc()
    elif isinstance(outcome, Park):
        metrics.PARKED.labels(spec.queue).inc()
    return outcome
