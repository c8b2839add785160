"""Readings over MQTT: a subscriber feeding the same ingestion as ``POST /iot/readings``.

Topic: ``kerops/devices/{credential prefix}/readings`` (``KEROPS_MQTT_TOPIC``), QoS 1. Payload:
``{"key": "<device credential>", "readings": [...]}``, the readings as over HTTP. The broker's
ACLs are the transport wall (e.g. username = credential prefix, allowed to publish only on its own
topic); the subscriber still checks the full credential, as HTTP does, and that the topic names
that credential's prefix. The outcome (``{accepted, duplicates, rejected}``, or ``{error}``) is
published at QoS 0 on ``kerops/devices/{prefix}/results``.

A message is acknowledged only after its readings are committed (paho's manual ack): a crash or
a lost connection in between makes the broker deliver it again, and the readings' keys
(``message_id``, or metric and device time) make that harmless.

Two layouts:

- **Persistent** (``KEROPS_MQTT_CLIENT_ID`` set; what production wants): one ingest process
  (``kerops mqtt``, or ``kerops serve`` with in-process jobs) with that fixed client id, a
  persistent session (``clean_session=False``) and a plain subscription. The broker keeps the
  subscription and queues what arrives while the process is away, across its own restarts too.
- **Shared** (no client id): every process subscribes to ``$share/{group}/...`` with a clean
  session. Mosquitto 2.0 does not restore shared subscriptions from its persistence, and a clean
  session queues nothing: what arrives while no process is subscribed is lost.

The devices' topic has no level that a filter could split into partitions (the credential prefix
is one level), so the persistent layout has exactly one subscriber per client id. The subscriber
reconnects with a capped exponential backoff and subscribes again whenever the broker goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from taskiq import TaskiqEvents, TaskiqState

from kerops.core import row_scope
from kerops.core.audit import set_audit_context
from kerops.core.errors import AppError
from kerops.core.principal import AuditContext
from kerops.iot import ingest

if TYPE_CHECKING:
    from kerops.config import Settings
    from kerops.core.jobs import JobEngine, JobHost

log = logging.getLogger("kerops.iot.mqtt")

#: First and largest wait before reconnecting, in seconds.
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0


def _prefix_level(topic_filter: str) -> int:
    levels = topic_filter.split("/")
    return levels.index("+") if "+" in levels else -1


class MqttIngestor:
    """The MQTT subscriber of one process."""

    def __init__(self, state: JobHost, *, settings: Settings | None = None) -> None:
        self.state = state
        settings = settings or state.settings
        assert settings.mqtt_url, "KEROPS_MQTT_URL is not set"
        self.url = urlsplit(settings.mqtt_url)
        self.topic = settings.mqtt_topic
        self.client_id = settings.mqtt_client_id
        self.persistent = self.client_id is not None
        # A persistent session keeps only plain subscriptions across broker restarts.
        group = settings.mqtt_shared_group
        shared = group and not self.persistent
        self.subscription = f"$share/{group}/{self.topic}" if shared else self.topic
        self.backoff_start = BACKOFF_START
        self.backoff_max = BACKOFF_MAX
        #: Set while subscribed (tests and health checks wait on it).
        self.connected = asyncio.Event()
        self.handled = 0
        self._task: asyncio.Task[None] | None = None

    def _client(self) -> aiomqtt.Client:
        tls = ssl.create_default_context() if self.url.scheme == "mqtts" else None
        client = aiomqtt.Client(
            hostname=self.url.hostname or "127.0.0.1",
            port=self.url.port or (8883 if tls else 1883),
            username=unquote(self.url.username) if self.url.username else None,
            password=unquote(self.url.password) if self.url.password else None,
            identifier=self.client_id or f"kerops-{socket.gethostname()}-{os.getpid()}",
            clean_session=not self.persistent,
            tls_context=tls,
        )
        # Acknowledge only after the commit (aiomqtt has no option for it; paho has).
        client._client.manual_ack_set(True)
        return client

    async def start(self) -> None:
        """Connect and subscribe in the background (reconnecting for ever)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kerops-mqtt")

    async def stop(self) -> None:
        """Disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    async def _run(self) -> None:
        backoff = self.backoff_start
        while True:
            try:
                async with self._client() as client:
                    # Again on every connection: harmless when the session kept it.
                    await client.subscribe(self.subscription, qos=1)
                    self.connected.set()
                    backoff = self.backoff_start
                    log.info("mqtt subscribed", extra={"topic": self.subscription})
                    async for message in client.messages:
                        await self._handle(client, message)
            except aiomqtt.MqttError as exc:
                log.warning("mqtt connection lost", extra={"error": str(exc)})
            except Exception:
                # Nothing of the message is acknowledged: the broker delivers it again.
                log.exception("mqtt subscriber failed")
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        level = _prefix_level(self.topic)
        levels = topic.split("/")
        prefix = levels[level] if 0 <= level < len(levels) else ""
        outcome = await self.ingest_payload(prefix, message.payload)
        if prefix:
            results = "/".join([*levels[:-1], "results"])
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(results, json.dumps(outcome), qos=0)
        if message.qos > 0:
            self._ack(client, message)
        self.handled += 1

    def _ack(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Acknowledge a message whose readings are committed (aiomqtt has no call for it)."""
        # On a connection lost since, paho sends nothing: the broker delivers the message again.
        client._client.ack(message.mid, message.qos)

    async def ingest_payload(self, prefix: str, payload: Any) -> dict[str, Any]:
        """Check and store one message's readings; returns what to tell the device."""
        settings = self.state.settings
        if not isinstance(payload, bytes | bytearray):
            return {"error": "the payload must be JSON bytes"}
        if len(payload) > settings.iot_max_body_bytes:
            return {"error": "batch_too_large"}
        try:
            data = json.loads(payload)
        except ValueError:
            return {"error": "malformed_batch"}
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return {"error": 'the payload is {"key": ..., "readings": [...]}'}
        key = data.pop("key")
        if not prefix or not key.startswith(prefix + "_"):
            return {"error": "the topic must carry the key's prefix"}
        # Each message starts with no client's rows; its device's key sets its client's.
        scope = row_scope.use(row_scope.NO_ROWS)
        try:
            return await self._ingest(prefix, data, key)
        finally:
            row_scope.reset(scope)

    async def _ingest(self, prefix: str, data: dict[str, Any], key: str) -> dict[str, Any]:
        settings = self.state.settings
        async with self.state.db.sessions() as session:
            set_audit_context(session.sync_session, AuditContext(request_id=f"mqtt:{prefix}"))
            try:
                device = await ingest.authenticate(session, key)
                batch = ingest.batch_of(data, settings)
                result = await ingest.ingest(
                    session, device=device, readings=batch, settings=settings
                )
                await session.commit()
            except AppError as exc:
                await session.rollback()
                return {"error": exc.code, "detail": exc.detail}
            except BaseException:
                await session.rollback()
                raise
        await self.state.jobs.send_pending(session)
        return result.model_dump(mode="json")


async def start_mqtt(state: JobHost) -> MqttIngestor | None:
    """Start the subscriber when ``KEROPS_MQTT_URL`` is set (else None)."""
    if not state.settings.mqtt_url:
        return None
    subscriber = MqttIngestor(state)
    await subscriber.start()
    return subscriber


def worker_mqtt_hooks(engine: JobEngine) -> None:
    """In a worker process: run the shared subscriber beside the jobs (after the state is built);
    with a fixed client id, ``kerops mqtt`` runs the one subscriber instead."""
    holder: dict[str, MqttIngestor | None] = {"subscriber": None}

    async def startup(_: TaskiqState) -> None:
        state = engine.state
        if state is not None and state.settings.mqtt_client_id is None:
            holder["subscriber"] = await start_mqtt(state)

    async def shutdown(_: TaskiqState) -> None:
        if holder["subscriber"] is not None:
            await holder["subscriber"].stop()

    engine.broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, startup)
    engine.broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, shutdown)


async def run_ingest(state: JobHost) -> None:
    """``kerops mqtt``: run the subscriber of the persistent layout until SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await state.jobs.start(state)
    subscriber = MqttIngestor(state)
    await subscriber.start()
    try:
        await stopping.wait()
    finally:
        await subscriber.stop()
        await state.jobs.stop()
        await state.db.dispose()
