"""Which MQTT layout a process takes from its settings (no broker needed)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient
from taskiq import TaskiqEvents

from kerops import cli
from kerops.config import Settings
from kerops.core.state import AppState
from kerops.iot import mqtt
from tests.conftest import TEST_SECRET

TOPIC = "kerops/devices/+/readings"


def _state(client: TestClient, settings: Settings, **mqtt_settings: Any) -> AppState:
    update = {"mqtt_url": "mqtt://127.0.0.1:1", "mqtt_topic": TOPIC, **mqtt_settings}
    state: AppState = client.app.state.kerops  # type: ignore[attr-defined]
    return dataclasses.replace(state, settings=settings.model_copy(update=update))


def _clean_session(client: TestClient, subscriber: mqtt.MqttIngestor) -> bool:
    """The clean-session flag of the subscriber's connection (built in the app's loop)."""

    async def build() -> bool:
        return bool(subscriber._client()._client._clean_session)

    assert client.portal is not None
    return client.portal.call(build)


def test_a_client_id_takes_a_persistent_session_with_a_plain_subscription(
    client: TestClient, settings: Settings
) -> None:
    state = _state(client, settings, mqtt_client_id="kerops-ingest", mqtt_shared_group="kerops")
    subscriber = mqtt.MqttIngestor(state)
    assert subscriber.subscription == TOPIC
    assert _clean_session(client, subscriber) is False


def test_without_a_client_id_processes_share_the_subscription(
    client: TestClient, settings: Settings
) -> None:
    subscriber = mqtt.MqttIngestor(_state(client, settings, mqtt_shared_group="kerops"))
    assert subscriber.subscription == f"$share/kerops/{TOPIC}"
    assert _clean_session(client, subscriber) is True


@pytest.mark.parametrize(("client_id", "subscribes"), [(None, True), ("kerops-ingest", False)])
def test_workers_subscribe_only_without_a_client_id(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    client_id: str | None,
    subscribes: bool,
) -> None:
    started: list[AppState] = []

    async def start_mqtt(state: AppState) -> None:
        started.append(state)

    class Broker:
        def __init__(self) -> None:
            self.handlers: dict[TaskiqEvents, Any] = {}

        def add_event_handler(self, event: TaskiqEvents, handler: Any) -> None:
            self.handlers[event] = handler

    monkeypatch.setattr(mqtt, "start_mqtt", start_mqtt)
    engine = Broker()
    fake = type(
        "Engine",
        (),
        {"broker": engine, "state": _state(client, settings, mqtt_client_id=client_id)},
    )
    mqtt.worker_mqtt_hooks(fake)  # type: ignore[arg-type]

    async def startup() -> None:
        await engine.handlers[TaskiqEvents.WORKER_STARTUP](None)

    assert client.portal is not None
    client.portal.call(startup)
    assert bool(started) is subscribes


def test_kerops_mqtt_needs_a_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEROPS_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("KEROPS_MQTT_URL", "mqtt://127.0.0.1:1")
    monkeypatch.delenv("KEROPS_MQTT_CLIENT_ID", raising=False)
    assert cli.main(["mqtt"]) == 2


def test_a_blank_client_id_is_no_client_id() -> None:
    # An empty KEROPS_MQTT_CLIENT_ID= (as compose files write "unset") keeps the shared layout.
    assert Settings(secret_key=TEST_SECRET, mqtt_client_id=" ").mqtt_client_id is None
    assert Settings(secret_key=TEST_SECRET, mqtt_client_id="ingest-1").mqtt_client_id == "ingest-1"
