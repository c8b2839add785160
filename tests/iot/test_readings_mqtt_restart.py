"""Readings over MQTT across broker restarts, against a private Mosquitto each test starts (its own
port and persistence directory; the machine's shared broker is never restarted).

The ingest runs the persistent layout (a fixed client id, a persistent session, a plain QoS 1
subscription). Every reading a device got acknowledged by the broker must be stored exactly once,
whether the ingest was away or running when the broker restarted, and when the broker delivers a
message again.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import redis
from fastapi.testclient import TestClient
from paho.mqtt import client as paho
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.iot.models import IoTReading
from kerops.iot.mqtt import MqttIngestor
from tests.conftest import TEST_SECRET
from tests.fixtures.factories import Runner
from tests.fixtures.processes import stop
from tests.iot.readings_helpers import Sensor, iso, make_sensor

MOSQUITTO = shutil.which("mosquitto")
pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")
#: Longest wait for the broker, the device's acknowledgements or the stored readings.
WAIT = 30.0


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """A private broker with persistence that the test stops (SIGTERM: it saves) and starts."""

    def __init__(self, directory: Path) -> None:
        assert MOSQUITTO is not None
        self.port = _free_port()
        self.directory = directory
        self.conf = directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {directory}/",
            # Save after every change, so nothing queued waits for the shutdown's save.
            "autosave_on_changes true",
            "autosave_interval 1",
            "max_queued_messages 10000",
            f"log_dest file {directory}/mosquitto.log",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot write here
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert MOSQUITTO is not None and self.process is None
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=WAIT)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    if broker.process is not None:
        broker.process.kill()
        broker.process.wait()


class Device:
    """A device publishing at QoS 1 with a persistent session of its own (paho queues what it
    publishes while the broker is away and sends it when it is back)."""

    def __init__(self, port: int, topic_root: str, sensor: Sensor) -> None:
        prefix = sensor.device["credential_prefix"]
        self.key = sensor.key
        self.topic = f"{topic_root}/{prefix}/readings"
        self.results: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"device-{uuid.uuid4().hex[:12]}",
            clean_session=False,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_message = lambda _c, _u, m: self.results.put(json.loads(m.payload))
        self.client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(
            f"{topic_root}/{prefix}/results", qos=1
        )
        subscribed = threading.Event()
        self.client.on_subscribe = lambda _c, _u, _m, _rc, _p: subscribed.set()
        #: Message ids the broker acknowledged (PUBACK).
        self.acknowledged: set[int] = set()
        self.client.on_publish = lambda _c, _u, mid, _rc, _p: self.acknowledged.add(mid)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(WAIT), "the device did not subscribe to its results"
        self.sent: list[int] = []

    def publish(self, readings: list[dict[str, Any]]) -> None:
        """Publish one message (QoS 1); the broker acknowledges it now or after reconnecting."""
        payload = json.dumps({"key": self.key, "readings": readings})
        info = self.client.publish(self.topic, payload, qos=1)
        assert info.rc in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN), info.rc
        self.sent.append(info.mid)

    def wait_acknowledged(self) -> None:
        """Wait until the broker acknowledged every message published."""
        deadline = time.monotonic() + WAIT
        while not self.acknowledged.issuperset(self.sent):
            assert time.monotonic() < deadline, "the broker did not acknowledge every message"
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def topic_root() -> str:
    return f"kerops-test-{uuid.uuid4().hex[:8]}/devices"


@pytest.fixture
def device_for(mosquitto: Mosquitto, topic_root: str) -> Iterator[Callable[[Sensor], Device]]:
    made: list[Device] = []

    def make(sensor: Sensor) -> Device:
        device = Device(mosquitto.port, topic_root, sensor)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()


class Ingest:
    """The persistent-layout subscriber, run in the app's event loop, started and stopped."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.portal = client.portal
        assert self.portal is not None
        self.subscriber = MqttIngestor(client.app.state.kerops, settings=settings)  # type: ignore[attr-defined]
        self.subscriber.backoff_max = 1.0

    def start(self) -> None:
        """Start and wait until subscribed."""
        assert self.portal is not None
        self.portal.call(self.subscriber.start)
        deadline = time.monotonic() + WAIT
        while not self.subscriber.connected.is_set():
            assert time.monotonic() < deadline, "the ingest did not subscribe"
            time.sleep(0.05)

    def stop(self) -> None:
        assert self.portal is not None
        self.portal.call(self.subscriber.stop)


@pytest.fixture
def ingest(
    client: TestClient, settings: Settings, mosquitto: Mosquitto, topic_root: str
) -> Iterator[Ingest]:
    ingest_settings = settings.model_copy(
        update={
            "mqtt_url": f"mqtt://127.0.0.1:{mosquitto.port}",
            "mqtt_topic": f"{topic_root}/+/readings",
            "mqtt_client_id": f"kerops-ingest-{uuid.uuid4().hex[:8]}",
            "mqtt_shared_group": "kerops",  # the default: a client id must not use it
        }
    )
    runner = Ingest(client, ingest_settings)
    yield runner
    runner.stop()


def _readings(number: int, start: datetime) -> list[dict[str, Any]]:
    """Message ``number``: one reading with a message id, one known by its device time."""
    return [
        {"metric": "temperature", "value": number, "message_id": f"r-{number}"},
        {
            "metric": "temperature",
            "value": 10_000 + number,
            "ts": iso(start + timedelta(seconds=number)),
        },
    ]


def _expected(numbers: range) -> list[float]:
    return sorted([float(n) for n in numbers] + [10_000.0 + n for n in numbers])


def _stored_values(run: Runner, sensor: Sensor) -> list[float]:
    async def values(session: AsyncSession) -> list[float]:
        stmt = select(IoTReading.value).where(IoTReading.device_id == uuid.UUID(sensor.id))
        return sorted((await session.execute(stmt)).scalars())

    result: list[float] = run(values)
    return result


def _wait_stored(run: Runner, sensor: Sensor, expected: list[float]) -> list[float]:
    """The sensor's stored values once there are as many as expected (or at the timeout)."""
    deadline = time.monotonic() + WAIT
    while len(stored := _stored_values(run, sensor)) < len(expected):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return stored


def test_readings_queued_for_the_ingest_survive_a_broker_restart(
    client: TestClient,
    run: Runner,
    mosquitto: Mosquitto,
    ingest: Ingest,
    device_for: Callable[[Sensor], Device],
) -> None:
    sensor = make_sensor(client, run)
    start = datetime.now(UTC) - timedelta(hours=1)
    ingest.start()  # the broker now holds its session and subscription
    ingest.stop()
    device = device_for(sensor)
    for number in range(10):  # queued by the broker for the ingest
        device.publish(_readings(number, start))
    device.wait_acknowledged()
    mosquitto.stop()
    for number in range(10, 15):  # kept by the device until the broker is back
        device.publish(_readings(number, start))
    mosquitto.start()
    device.wait_acknowledged()
    for number in range(15, 20):  # after the restart, still before the ingest is back
        device.publish(_readings(number, start))
    device.wait_acknowledged()
    ingest.start()
    expected = _expected(range(20))
    assert _wait_stored(run, sensor, expected) == expected


def test_readings_published_across_a_broker_restart_while_the_ingest_runs_are_stored_once(
    client: TestClient,
    run: Runner,
    mosquitto: Mosquitto,
    ingest: Ingest,
    device_for: Callable[[Sensor], Device],
) -> None:
    sensor = make_sensor(client, run)
    start = datetime.now(UTC) - timedelta(hours=1)
    ingest.start()
    device = device_for(sensor)
    for number in range(15):
        device.publish(_readings(number, start))
    device.wait_acknowledged()
    mosquitto.restart()  # some of them may be taken, stored and not yet acknowledged
    for number in range(15, 30):
        device.publish(_readings(number, start))
    device.wait_acknowledged()
    expected = _expected(range(30))
    assert _wait_stored(run, sensor, expected) == expected
    assert ingest.subscriber.connected.is_set()


def test_a_message_delivered_again_is_stored_once(
    client: TestClient,
    run: Runner,
    ingest: Ingest,
    device_for: Callable[[Sensor], Device],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sensor = make_sensor(client, run)
    start = datetime.now(UTC) - timedelta(hours=1)
    acks: list[int] = []
    ack = ingest.subscriber._ack

    def lose_the_first_ack(mqtt: aiomqtt.Client, message: aiomqtt.Message) -> None:
        # The readings are committed, then the connection drops before the acknowledgement.
        acks.append(message.mid)
        if len(acks) == 1:
            raise aiomqtt.MqttError("connection lost before the acknowledgement")
        ack(mqtt, message)

    monkeypatch.setattr(ingest.subscriber, "_ack", lose_the_first_ack)
    ingest.start()
    device = device_for(sensor)
    device.publish(_readings(1, start))
    device.wait_acknowledged()
    first = device.results.get(timeout=WAIT)
    again = device.results.get(timeout=WAIT)  # the broker delivered it again
    assert first == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert _stored_values(run, sensor) == _expected(range(1, 2))


BROKER_URL = os.environ.get("KEROPS_TEST_BROKER_URL", "")


@pytest.mark.skipif(
    not BROKER_URL, reason="KEROPS_TEST_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/14)"
)
def test_the_kerops_mqtt_process_keeps_its_session_across_its_restart(
    client: TestClient,
    run: Runner,
    settings: Settings,
    mosquitto: Mosquitto,
    topic_root: str,
    device_for: Callable[[Sensor], Device],
) -> None:
    sensor = make_sensor(client, run)
    start = datetime.now(UTC) - timedelta(hours=1)
    queue_name = f"kerops-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "KEROPS_DATA_DIR": str(settings.data_dir),
        "KEROPS_SECRET_KEY": TEST_SECRET,
        "KEROPS_BROKER_URL": BROKER_URL,
        "KEROPS_BROKER_QUEUE": queue_name,
        "KEROPS_MQTT_URL": f"mqtt://127.0.0.1:{mosquitto.port}",
        "KEROPS_MQTT_TOPIC": f"{topic_root}/+/readings",
        "KEROPS_MQTT_CLIENT_ID": f"kerops-ingest-{uuid.uuid4().hex[:8]}",
        "KEROPS_LOG_LEVEL": "WARNING",
    }
    env.pop("KEROPS_DATABASE_URL", None)
    if settings.database_url:
        env["KEROPS_DATABASE_URL"] = settings.database_url

    def ingest_process() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "kerops.cli", "mqtt"]
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    device = device_for(sensor)
    process = ingest_process()
    try:
        deadline = time.monotonic() + WAIT
        answer: dict[str, Any] = {}
        while not answer:  # re-sent until the process has subscribed and answers
            assert time.monotonic() < deadline, "no answer from kerops mqtt"
            assert process.poll() is None, "kerops mqtt exited"
            device.publish(_readings(1, start))
            with contextlib.suppress(queue.Empty):
                answer = device.results.get(timeout=1)
        assert answer["accepted"] + answer["duplicates"] == 2
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 0  # a clean stop
        device.publish(_readings(2, start))  # queued by the broker for the stopped process
        device.wait_acknowledged()
        process = ingest_process()
        expected = _expected(range(1, 3))
        assert _wait_stored(run, sensor, expected) == expected
    finally:
        stop(process)
        redis.Redis.from_url(BROKER_URL).delete(queue_name)
