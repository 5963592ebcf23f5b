"""An exact "this update is finished" from the bot under test to the driver: one UDP datagram.

Under load the bot handles several people's updates at once, so the order of Bot API calls no
longer tells the driver when an update is finished. Both bots in the benchmark (parcelbot and the
echo baseline) therefore run as a `SignallingApplication`: after `process_update` returns it sends
the update's id in one datagram to the driver on loopback (PARCELBOT_BENCH_DONE=host:port), a few
microseconds of work. The bot has by then received the answer to its last Bot API call, so "done"
is "last reply received". Without the variable nothing is sent.

The datagram also carries when `process_update` began (time.monotonic(), CLOCK_MONOTONIC, which both
processes share), so the driver can split each latency into waiting to be started (the getUpdates
round trip, parsing, the update queue, a place among the updates side by side) and the update's own
processing.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

from telegram import Update
from telegram.ext import Application

ENV = "PARCELBOT_BENCH_DONE"


def _target() -> tuple[str, int] | None:
    value = os.environ.get(ENV, "")
    host, _, port = value.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


class SignallingApplication(Application):
    """PTB's Application plus one datagram per finished update."""

    _done_to = _target()
    _done_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if _done_to else None

    async def process_update(self, update: object) -> None:
        started = time.monotonic()
        try:
            await super().process_update(update)
        finally:
            if self._done_socket is not None and isinstance(update, Update):
                self._done_socket.sendto(f"{update.update_id} {started:.6f}".encode(), self._done_to)


class DoneListener(asyncio.DatagramProtocol):
    """The driver's end: calls `on_done(update_id, started)` for every datagram."""

    def __init__(self) -> None:
        self.on_done: Callable[[int, float], None] = lambda update_id, started: None
        self.port = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        update_id, _, started = data.partition(b" ")
        if update_id.isdigit():
            try:
                self.on_done(int(update_id), float(started))
            except ValueError:
                return

    @classmethod
    async def start(cls) -> tuple[asyncio.DatagramTransport, DoneListener]:
        loop = asyncio.get_running_loop()
        transport, listener = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        listener.port = transport.get_extra_info("sockname")[1]
        return transport, listener

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"
