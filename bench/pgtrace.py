"""A PostgreSQL wire-protocol proxy that records what a client sends: SQL and round trips.

Put it between a server under test and PostgreSQL (``postgresql://...@127.0.0.1:<proxy port>``)
to see, per request, every statement sent (simple queries, and prepared statements each time they
are executed) and the number of round trips (each ``Sync`` or simple ``Query`` waits for the
server's ``ReadyForQuery``). Only the benchmark's preflight check uses it, never the measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


@dataclass
class Trace:
    """What the clients of the proxy sent, in order."""

    #: ``(kind, sql)``: kind ``query`` (simple protocol) or ``execute`` (a bound statement).
    statements: list[tuple[str, str]] = field(default_factory=list)
    round_trips: int = 0

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.statements.clear()
        self.round_trips = 0


def _cstring(data: bytes, start: int) -> tuple[str, int]:
    end = data.index(b"\x00", start)
    return data[start:end].decode(), end + 1


class _Session:
    """One client connection: forwards bytes both ways and decodes the client's messages."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.buffer = bytearray()
        self.started = False
        self.prepared: dict[str, str] = {}

    def feed(self, data: bytes) -> bytes | None:
        """Record the complete messages in ``data``; returns a reply for an SSL request."""
        self.buffer += data
        reply = None
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return reply
                length, code = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    return reply
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    reply = b"N"
                else:
                    self.started = True
                del self.buffer[:length]
                continue
            if len(self.buffer) < 5:
                return reply
            kind = chr(self.buffer[0])
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < length + 1:
                return reply
            body = bytes(self.buffer[5 : length + 1])
            del self.buffer[: length + 1]
            self._message(kind, body)

    def _message(self, kind: str, body: bytes) -> None:
        if kind == "Q":
            sql, _ = _cstring(body, 0)
            self.trace.statements.append(("query", sql))
            self.trace.round_trips += 1
        elif kind == "P":
            name, pos = _cstring(body, 0)
            sql, _ = _cstring(body, pos)
            self.prepared[name] = sql
        elif kind == "B":
            _portal, pos = _cstring(body, 0)
            name, _ = _cstring(body, pos)
            self.trace.statements.append(("execute", self.prepared.get(name, f"<{name}>")))
        elif kind == "S":
            self.trace.round_trips += 1


class TraceProxy:
    """``async with TraceProxy(host, port) as proxy``: listens on ``proxy.port``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.trace = Trace()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TraceProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # The clients have hung up by now; give their sessions a moment to wind down.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = _Session(self.trace)
        writers = [writer]
        pumps: list[asyncio.Future[None]] = []
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            writers.append(up_writer)

            async def client_to_server() -> None:
                while data := await reader.read(65536):
                    reply = session.feed(data)
                    if reply is not None:
                        # An SSL request (always sent alone) is answered here, not forwarded.
                        writer.write(reply)
                        continue
                    up_writer.write(data)

            async def server_to_client() -> None:
                while data := await up_reader.read(65536):
                    writer.write(data)

            pumps = [
                asyncio.ensure_future(client_to_server()),
                asyncio.ensure_future(server_to_client()),
            ]
            # When either side hangs up, hang up the other one too.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for w in writers:
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()
            self._tasks.discard(task)
