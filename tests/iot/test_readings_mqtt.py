"""Readings over MQTT, end to end against a real broker (``KEROPS_TEST_MQTT_URL``).

The app under test subscribes on topics of its own (a random root per test), so parallel runs
share one broker. A test publishes the same batch (same ``message_id``) until the subscriber
answers on the results topic: re-sending is harmless by design.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from fastapi.testclient import TestClient
from paho.mqtt import client as paho

from kerops.config import Settings
from kerops.iot.mqtt import MqttIngestor
from tests.conftest import TEST_SECRET
from tests.fixtures.factories import Runner
from tests.fixtures.processes import stop
from tests.iot.readings_helpers import Sensor, make_sensor, stored_count

MQTT_URL = os.environ.get("KEROPS_TEST_MQTT_URL", "")
pytestmark = pytest.mark.skipif(
    not MQTT_URL, reason="KEROPS_TEST_MQTT_URL is not set (e.g. mqtt://127.0.0.1:1883)"
)
ROOT = f"kerops-test-{uuid.uuid4().hex[:8]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """A TCP proxy to the broker that the test can take down and bring back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def broker() -> tuple[str, int]:
    parts = urlsplit(MQTT_URL)
    return parts.hostname or "127.0.0.1", parts.port or 1883


@pytest.fixture
def proxy(broker: tuple[str, int]) -> Iterator[Proxy]:
    proxy = Proxy(broker)
    proxy.start()
    yield proxy
    proxy.close()


@pytest.fixture
def settings_overrides(proxy: Proxy) -> dict[str, Any]:
    # Through the proxy, on topics of this test only.
    return {
        "jobs_inline": True,
        "embedded_scheduler": False,
        "mqtt_url": f"mqtt://127.0.0.1:{proxy.port}",
        "mqtt_topic": f"{ROOT}/{uuid.uuid4().hex[:8]}/devices/+/readings",
        "mqtt_shared_group": "",
    }


class Device:
    """A paho client publishing as one device and listening for its results."""

    def __init__(self, broker: tuple[str, int], topic_root: str, prefix: str) -> None:
        self.readings = f"{topic_root}/{prefix}/readings"
        self.results: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, m: self.results.put(json.loads(m.payload))
        self.client.connect(*broker)
        self.client.subscribe(f"{topic_root}/{prefix}/results", qos=1)
        self.client.loop_start()

    def send_until_answered(self, payload: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        """Publish (QoS 1) every second until the subscriber answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.client.publish(self.readings, json.dumps(payload), qos=1)
            try:
                return self.results.get(timeout=1)
            except queue.Empty:
                continue
        raise AssertionError("no answer from the subscriber")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _topic_root(settings: Settings) -> str:
    return settings.mqtt_topic.rsplit("/", 2)[0]


@pytest.fixture
def connect(broker: tuple[str, int], settings: Settings) -> Iterator[Callable[..., Device]]:
    """``connect(sensor, topic_root=None)``: a device client for the sensor on the broker, under
    the app's topic root unless another is given; closed after the test."""
    made: list[Device] = []

    def device_for(sensor: Sensor, topic_root: str | None = None) -> Device:
        root = topic_root or _topic_root(settings)
        device = Device(broker, root, sensor.device["credential_prefix"])
        made.append(device)
        return device

    yield device_for
    for device in made:
        device.close()


def test_readings_published_over_mqtt_are_stored(
    client: TestClient, run: Runner, connect: Callable[..., Device]
) -> None:
    sensor = make_sensor(client, run)
    device = connect(sensor)
    batch = {
        "key": sensor.key,
        "readings": [
            {"metric": "temperature", "value": 20 + i, "message_id": f"mq-{i}"} for i in range(3)
        ]
        + [{"metric": "humidity", "value": 1}],
    }
    answer = device.send_until_answered(batch)
    # The first answer may be for a re-sent copy: then the readings count as duplicates.
    assert answer["accepted"] + answer["duplicates"] == 3
    assert [r["reason"] for r in answer["rejected"]] == ["unknown_metric"]
    assert stored_count(run, sensor.id) == 3


def test_a_wrong_key_or_topic_stores_nothing(
    client: TestClient, run: Runner, connect: Callable[..., Device]
) -> None:
    sensor = make_sensor(client, run)
    other = make_sensor(client, run)
    device = connect(sensor)
    reading = [{"metric": "temperature", "value": 1}]
    # Another device's key on this device's topic.
    answer = device.send_until_answered({"key": other.key, "readings": reading})
    assert "prefix" in answer["error"]
    wrong = sensor.key[:-4] + "abcd"
    answer = device.send_until_answered({"key": wrong, "readings": reading})
    assert answer["error"] == "unauthorized"
    assert stored_count(run, sensor.id) == 0 and stored_count(run, other.id) == 0


def test_the_subscriber_reconnects_after_the_broker_goes_away(
    client: TestClient, run: Runner, proxy: Proxy, connect: Callable[..., Device]
) -> None:
    sensor = make_sensor(client, run)
    device = connect(sensor)
    first = {
        "key": sensor.key,
        "readings": [{"metric": "temperature", "value": 1, "message_id": "a"}],
    }
    device.send_until_answered(first)
    proxy.stop()  # the subscriber loses its connection
    time.sleep(1.5)
    proxy.start()
    second = {
        "key": sensor.key,
        "readings": [{"metric": "temperature", "value": 2, "message_id": "b"}],
    }
    device.send_until_answered(second, timeout=40)
    assert stored_count(run, sensor.id) == 2


def test_ingest_payload_refuses_bad_payloads(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    sensor = make_sensor(client, run)
    subscriber = MqttIngestor(client.app.state.kerops)  # type: ignore[attr-defined]
    prefix = sensor.device["credential_prefix"]

    def ingest(payload: bytes) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            return await subscriber.ingest_payload(prefix, payload)

        result: dict[str, Any] = client.portal.call(call)  # type: ignore[union-attr]
        return result

    assert ingest(b"{nope")["error"] == "malformed_batch"
    assert "key" in ingest(b'{"readings": []}')["error"]
    too_many = {"key": sensor.key, "readings": [{"metric": "temperature", "value": 1}] * 5001}
    assert ingest(json.dumps(too_many).encode())["error"] == "batch_too_large"
    ok = {"key": sensor.key, "readings": [{"metric": "temperature", "value": 1}]}
    assert ingest(json.dumps(ok).encode())["accepted"] == 1


BROKER_URL = os.environ.get("KEROPS_TEST_BROKER_URL", "")


@pytest.mark.skipif(
    not BROKER_URL, reason="KEROPS_TEST_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/14)"
)
def test_a_worker_process_subscribes_and_stores_readings(
    client: TestClient, run: Runner, settings: Settings, connect: Callable[..., Device]
) -> None:
    # With a job broker, `kerops worker` processes run the subscriber (not `serve`): one worker
    # on a topic of its own, sharing the test's database, answers the device and stores.
    sensor = make_sensor(client, run)
    root = f"{ROOT}/worker-{uuid.uuid4().hex[:8]}"
    queue_name = f"kerops-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "KEROPS_DATA_DIR": str(settings.data_dir),
        "KEROPS_SECRET_KEY": TEST_SECRET,
        "KEROPS_BROKER_URL": BROKER_URL,
        "KEROPS_BROKER_QUEUE": queue_name,
        "KEROPS_MQTT_URL": MQTT_URL,
        "KEROPS_MQTT_TOPIC": f"{root}/devices/+/readings",
        "KEROPS_MQTT_SHARED_GROUP": "",
        "KEROPS_LOG_LEVEL": "WARNING",
    }
    env.pop("KEROPS_DATABASE_URL", None)
    if settings.database_url:
        env["KEROPS_DATABASE_URL"] = settings.database_url
    worker = subprocess.Popen(
        [sys.executable, "-m", "kerops.cli", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        device = connect(sensor, topic_root=f"{root}/devices")
        batch = {
            "key": sensor.key,
            "readings": [
                {"metric": "temperature", "value": 30 + i, "message_id": f"w-{i}"} for i in range(2)
            ],
        }
        answer = device.send_until_answered(batch, timeout=60)
        assert worker.poll() is None, "the worker exited"
    finally:
        stop(worker)
        redis.Redis.from_url(BROKER_URL).delete(queue_name)
    assert answer["accepted"] + answer["duplicates"] == 2
    assert stored_count(run, sensor.id) == 2
