"""Readings over MQTT: a subscriber feeding the same ingestion as ``POST /iot/readings``.

Topic: ``kerops/devices/{credential prefix}/readings`` (``KEROPS_MQTT_TOPIC``), QoS 1. Payload:
``{"key": "<device credential>", "readings": [...]}``, the readings as over HTTP. The broker's
ACLs are the transport wall (e.g. username = credential prefix, allowed to publish only on its own
topic); the subscriber still checks the full credential, as HTTP does, and that the topic names
that credential's prefix. The outcome (``{accepted, duplicates, rejected}``, or ``{error}``) is
published at QoS 0 on ``kerops/devices/{prefix}/results``.

A message is acknowledged only after its readings are committed (paho's manual ack): a crash in
between makes the broker deliver it again, and ``message_id`` makes that harmless. Several
processes share the subscription (``$share/{KEROPS_MQTT_SHARED_GROUP}/...``), so each message is
handled once. The subscriber reconnects with a capped exponential backoff when the broker goes
away. It runs inside ``kerops serve`` (in-process jobs) or in every ``kerops worker`` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from taskiq import TaskiqEvents, TaskiqState

from kerops.core.audit import set_audit_context
from kerops.core.errors import AppError
from kerops.core.principal import AuditContext
from kerops.iot import ingest

if TYPE_CHECKING:
    from kerops.core.jobs import JobEngine
    from kerops.core.state import AppState

log = logging.getLogger("kerops.iot.mqtt")

#: First and largest wait before reconnecting, in seconds.
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0


def _prefix_level(topic_filter: str) -> int:
    levels = topic_filter.split("/")
    return levels.index("+") if "+" in levels else -1


class MqttIngestor:
    """The MQTT subscriber of one process."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        settings = state.settings
        assert settings.mqtt_url, "KEROPS_MQTT_URL is not set"
        self.url = urlsplit(settings.mqtt_url)
        self.topic = settings.mqtt_topic
        group = settings.mqtt_shared_group
        self.subscription = f"$share/{group}/{self.topic}" if group else self.topic
        self.client_id = settings.mqtt_client_id
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
            clean_session=self.client_id is None,
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
        backoff = BACKOFF_START
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(self.subscription, qos=1)
                    self.connected.set()
                    backoff = BACKOFF_START
                    log.info("mqtt subscribed", extra={"topic": self.subscription})
                    async for message in client.messages:
                        await self._handle(client, message)
            except aiomqtt.MqttError as exc:
                log.warning("mqtt connection lost", extra={"error": str(exc)})
            except Exception:
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
            client._client.ack(message.mid, message.qos)
        self.handled += 1

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


async def start_mqtt(state: AppState) -> MqttIngestor | None:
    """Start the subscriber when ``KEROPS_MQTT_URL`` is set (else None)."""
    if not state.settings.mqtt_url:
        return None
    subscriber = MqttIngestor(state)
    await subscriber.start()
    return subscriber


def worker_mqtt_hooks(engine: JobEngine) -> None:
    """In a worker process: run the subscriber beside the jobs (after the state is built)."""
    holder: dict[str, MqttIngestor | None] = {"subscriber": None}

    async def startup(_: TaskiqState) -> None:
        if engine.state is not None:
            holder["subscriber"] = await start_mqtt(engine.state)

    async def shutdown(_: TaskiqState) -> None:
        if holder["subscriber"] is not None:
            await holder["subscriber"].stop()

    engine.broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, startup)
    engine.broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, shutdown)
