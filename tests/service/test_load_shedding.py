"""CDS Hooks load shedding counts hook calls whose answer is not yet sent, nothing else.

Before: a call kept counting while its background registry write ran after the answer, so
503s came with 8 requests outstanding under a limit of 16, and under 8 clients for 60 s the
hook shed 1.9-4.7 % of calls. Driven at the ASGI level, so "in flight" is exact.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from osteotarget.web.guards import CdsLoadShedder

LIMIT = 4


class Hook:
    """An app that answers when told to, then runs 'background work' until told to stop."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()
        self.background_done = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.answer.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})
        await self.background_done.wait()  # e.g. a registry write after the answer


async def call(app: Any) -> int:
    scope = {"type": "http", "method": "POST", "path": "/cds-services/x", "headers": []}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


def test_background_work_after_the_answer_never_counts() -> None:
    async def scenario() -> list[int]:
        hook = Hook()
        shedder = CdsLoadShedder(hook, limit=LIMIT)
        hook.answer.set()
        # LIMIT calls answered, each still running its background work.
        first = [asyncio.create_task(call(shedder)) for _ in range(LIMIT)]
        await asyncio.sleep(0.05)
        assert shedder.in_flight == 0
        # So LIMIT more are all served, not shed.
        second = [asyncio.create_task(call(shedder)) for _ in range(LIMIT)]
        await asyncio.sleep(0.05)
        hook.background_done.set()
        return await asyncio.gather(*first, *second)

    assert asyncio.run(scenario()) == [200] * (2 * LIMIT)


def test_nothing_is_shed_below_the_limit_and_everything_above_is() -> None:
    async def scenario() -> tuple[list[int], int, int]:
        hook = Hook()
        hook.background_done.set()
        shedder = CdsLoadShedder(hook, limit=LIMIT)
        waiting = [asyncio.create_task(call(shedder)) for _ in range(LIMIT)]
        await asyncio.sleep(0.05)
        in_flight = shedder.in_flight
        over = await call(shedder)  # answered at once: 503
        hook.answer.set()
        return await asyncio.gather(*waiting), in_flight, over

    statuses, in_flight, over = asyncio.run(scenario())
    assert statuses == [200] * LIMIT and in_flight == LIMIT and over == 503
