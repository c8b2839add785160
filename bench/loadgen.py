"""An HTTP/1.1 load generator on raw asyncio sockets with keep-alive.

Two modes:

- :func:`open_loop`: requests *arrive* at a constant rate whatever the server does (an open
  model). Each request's latency is measured from its intended send time, so when the server
  falls behind, the time a request waits for a free connection is counted (no coordinated
  omission). Requests still unanswered when the window and its grace period end are counted as
  timed out, with the time waited so far as their latency.
- :func:`closed_loop`: each connection sends its next request as soon as the previous answer
  arrives; gives the maximum throughput at that concurrency (its latencies are service times
  only, so only its request rate is reported).

A target is either one request sent over and over (:class:`Target`) or a list of different
requests sent in turn (:class:`RequestCycle`: e.g. a different ticket each time, or POST bodies).
Any 2xx answer counts as a success.

The parser expects ``Content-Length`` responses (as uvicorn sends for these routes).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import resource
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

#: Latencies and arrival times come from this clock (``loop.time()`` under uvloop is the loop's
#: cached millisecond clock: too coarse, and stale while callbacks run).
clock = time.perf_counter


class ProtocolError(Exception):
    """A response this client cannot read (no Content-Length)."""


@dataclass(frozen=True)
class Target:
    """One request, sent over and over."""

    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...] = ()

    def request_bytes(self) -> bytes:
        """The raw HTTP/1.1 request."""
        lines = [f"GET {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def stream(self) -> Iterator[bytes]:
        """The request, forever."""
        return itertools.repeat(self.request_bytes())


class Source(Protocol):
    """Where requests go and what they are (one after another)."""

    host: str
    port: int

    def stream(self) -> Iterator[bytes]:
        """The requests to send, in order."""
        ...


def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]] = (),
    body: Any = None,
) -> bytes:
    """A raw HTTP/1.1 request; ``body`` (if any) is sent as JSON."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    payload = b""
    if body is not None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class RequestCycle:
    """Different requests sent in turn; the position carries over from one window to the next
    (so a request that changes state, such as a transition, is not sent twice in a row)."""

    def __init__(self, host: str, port: int, requests: Sequence[bytes]) -> None:
        if not requests:
            raise ValueError("no requests")
        self.host = host
        self.port = port
        self.requests = list(requests)
        self.position = 0
        self.sent = 0

    def stream(self) -> Iterator[bytes]:
        """The requests from where the last window stopped, wrapping around."""
        while True:
            data = self.requests[self.position]
            self.position = (self.position + 1) % len(self.requests)
            self.sent += 1
            yield data


def _ok(status: int) -> bool:
    return 200 <= status < 300


@dataclass
class Result:
    """What one window measured; latencies in seconds."""

    mode: str
    duration: float
    offered_rps: float | None
    completed: int = 0
    errors: int = 0
    timed_out: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    #: Open loop: the answered requests' latencies by request (its bytes), for windows that mix
    #: requests of different kinds.
    by_request: dict[bytes, list[float]] = field(default_factory=dict)
    #: CPU time this process spent generating load, as a share of one core.
    generator_cpu: float = 0.0
    #: Share of all cores busy (whole machine) during the window.
    machine_cpu: float = 0.0
    #: Closed loop: successful answers including those that arrive after the window (requests
    #: sent inside it), and the time from the start to the last answer.
    ok_total: int = 0
    span: float = 0.0

    @property
    def drained_rps(self) -> float:
        """Closed loop: successful answers per second until the last one arrived (unlike
        ``achieved_rps``, also meaningful when a request takes longer than the window)."""
        return self.ok_total / self.span if self.span > 0 else 0.0

    @property
    def achieved_rps(self) -> float:
        """Successful answers received inside the window, per second."""
        return self.completed / self.duration

    def percentile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the latencies, nearest rank; NaN when there are none."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
        return ordered[index]


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.expected = -1
        self.status = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionResetError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.expected < 0:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self.buffer[:head_end]).lower()
            self.status = int(head[9:12])
            start = head.find(b"\r\ncontent-length:")
            if start < 0:
                self._fail(ProtocolError("response without Content-Length"))
                return
            end = head.find(b"\r\n", start + 2)
            length = int(head[start + 17 : end if end >= 0 else len(head)])
            self.expected = head_end + 4 + length
        if len(self.buffer) >= self.expected:
            del self.buffer[: self.expected]
            self.expected = -1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(self.status)

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    async def request(self, data: bytes) -> int:
        """Send one request and wait for its status."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter

    def close(self) -> None:
        """Hang up."""
        if self.transport is not None:
            self.transport.close()


async def _connect(target: Source) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, target.host, target.port)
    return protocol


#: Server processes the connections are spread over evenly (0: as the kernel hands them out).
#: The benchmarks set it to their uvicorn worker count (``balance_connections``).
BALANCE_OVER = 0
#: The most reconnections spent spreading one set of connections.
BALANCE_TRIES = 400


def balance_connections(workers: int) -> None:
    """Spread every later set of connections evenly over the server's ``workers`` processes.

    The workers of a uvicorn server share one listening socket, and the kernel hands a burst of
    new connections to them unevenly: 16 keep-alive connections measured here went 16/0, 15/1,
    13/3, 10/6 or 8/8 from one set to the next. A closed loop over 16/0 measures one worker, and
    the app/raw ratio of maximum rates moved up to 2x from run to run with it. Both servers now
    get the same even spread, checked with ``ss``."""
    global BALANCE_OVER
    BALANCE_OVER = workers


def _owners(port: int) -> dict[int, int]:
    """The server process (pid) holding each connection to ``port``, by the client's port."""
    listed = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    owners: dict[int, int] = {}
    for line in listed.splitlines():
        fields = line.split()
        if len(fields) < 5 or "pid=" not in line:
            continue
        peer_port = int(fields[3].rsplit(":", 1)[1])
        owners[peer_port] = int(line.split("pid=", 1)[1].split(",", 1)[0])
    return owners


async def _accepted(target: Source) -> _Connection:
    """A new connection a worker has accepted (a request answered on it: the 404 of a path no
    server has, which changes nothing)."""
    connection = await _connect(target)
    probe = f"GET /__loadgen_probe HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n\r\n"
    await connection.request(probe.encode())
    return connection


def _local_port(connection: _Connection) -> int:
    assert connection.transport is not None
    port: int = connection.transport.get_extra_info("sockname")[1]
    return port


async def _balanced(target: Source, count: int, workers: int) -> list[_Connection]:
    conns = list(await asyncio.gather(*(_accepted(target) for _ in range(count))))
    for _ in range(BALANCE_TRIES):
        owners = _owners(target.port)
        by_worker: dict[int, list[_Connection]] = {}
        for connection in conns:
            by_worker.setdefault(owners.get(_local_port(connection), 0), []).append(connection)
        sizes = sorted(len(group) for group in by_worker.values())
        if 0 not in by_worker and len(sizes) == min(workers, count) and sizes[-1] - sizes[0] <= 1:
            return conns
        busiest = max(by_worker, key=lambda pid: len(by_worker[pid]))
        extra = by_worker[busiest][-1]
        extra.close()
        conns.remove(extra)
        conns.append(await _accepted(target))
    raise RuntimeError(f"could not spread {count} connections over {workers} workers")


async def _connect_all(target: Source, count: int) -> list[_Connection]:
    if BALANCE_OVER > 1:
        return await _balanced(target, count, BALANCE_OVER)
    return list(await asyncio.gather(*(_connect(target) for _ in range(count))))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class _Meter:
    """CPU use of this process and of the machine between start and stop."""

    def __enter__(self) -> _Meter:
        self.wall = time.perf_counter()
        self.cpu = _cpu_seconds()
        self.ticks = _machine_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        self.generator = (_cpu_seconds() - self.cpu) / wall if wall > 0 else 0.0
        busy, total = _machine_ticks()
        spent = total - self.ticks[1]
        self.machine = (busy - self.ticks[0]) / spent if spent > 0 else 0.0


async def _send(
    target: Source, connection: _Connection, data: bytes
) -> tuple[_Connection, int | None]:
    """One request; on a broken connection, reconnect (the request counts as an error)."""
    if connection.closed:
        connection = await _connect(target)
    try:
        return connection, await connection.request(data)
    except (ConnectionError, ProtocolError):
        connection.close()
        return await _connect(target), None


async def closed_loop(target: Source, *, connections: int, duration: float) -> Result:
    """Saturate the server: ``connections`` clients, each sending back to back."""
    requests = target.stream()
    result = Result(mode="closed", duration=duration, offered_rps=None)
    conns = await _connect_all(target, connections)
    begin = clock()
    end = begin + duration

    async def client(connection: _Connection) -> None:
        while True:
            sent = clock()
            if sent >= end:
                return
            connection, status = await _send(target, connection, next(requests))
            done = clock()
            if status is None:
                result.errors += 1
                continue
            result.statuses[status] += 1
            if _ok(status):
                result.ok_total += 1
                result.span = max(result.span, done - begin)
            if done <= end:
                if _ok(status):
                    result.completed += 1
                else:
                    result.errors += 1
                result.latencies.append(done - sent)

    with _Meter() as meter:
        await asyncio.gather(*(client(c) for c in conns))
    for connection in conns:
        connection.close()
    result.generator_cpu, result.machine_cpu = meter.generator, meter.machine
    return result


async def open_loop(
    target: Source,
    *,
    rate: float,
    duration: float,
    connections: int,
    grace: float = 2.0,
) -> Result:
    """Requests arrive at ``rate`` per second for ``duration`` seconds (constant arrival rate)."""
    requests = target.stream()
    result = Result(mode="open", duration=duration, offered_rps=rate)
    conns = await _connect_all(target, connections)
    queue: asyncio.Queue[float] = asyncio.Queue()
    start = clock() + 0.05
    end = start + duration
    total = int(rate * duration)
    in_flight: dict[int, float] = {}

    async def schedule() -> None:
        sent = 0
        while sent < total:
            # Release every arrival whose intended time has come (timers fire with ~1 ms resolution;
            # the latency still counts from the intended time).
            elapsed = clock() - start
            due = 0 if elapsed < 0 else min(total, int(elapsed * rate) + 1)
            while sent < due:
                queue.put_nowait(start + sent / rate)
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - clock()))

    async def client(slot: int, connection: _Connection) -> None:
        while True:
            intended = await queue.get()
            in_flight[slot] = intended
            data = next(requests)
            connection, status = await _send(target, connection, data)
            done = clock()
            del in_flight[slot]
            queue.task_done()
            if status is None:
                result.errors += 1
                continue
            result.statuses[status] += 1
            if not _ok(status):
                result.errors += 1
            elif done <= end:
                result.completed += 1
            result.latencies.append(done - intended)
            result.by_request.setdefault(data, []).append(done - intended)

    with _Meter() as meter:
        clients = [asyncio.ensure_future(client(i, c)) for i, c in enumerate(conns)]
        await schedule()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(queue.join(), timeout=max(0.0, end - clock()) + grace)
        now = clock()
        for client_task in clients:
            client_task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    # Unanswered requests waited at least this long: count them, never drop them.
    waiting = [now - intended for intended in in_flight.values()]
    while not queue.empty():
        waiting.append(now - queue.get_nowait())
    result.timed_out = len(waiting)
    result.latencies.extend(waiting)
    for connection in conns:
        connection.close()
    result.generator_cpu, result.machine_cpu = meter.generator, meter.machine
    return result
