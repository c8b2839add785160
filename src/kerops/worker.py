"""Entry points of ``kerops worker`` and ``kerops scheduler`` (settings from the environment).

taskiq's worker and scheduler import ``kerops.worker:broker`` / ``kerops.worker:scheduler`` in
each process; every job is bound to an app state built when the worker process starts.
"""

from __future__ import annotations

from kerops.config import get_settings
from kerops.core.state import AppState


def _make_state() -> AppState:
    from kerops.main import build_state

    return build_state(get_settings())


def _engine() -> tuple[object, object]:
    from kerops import modules
    from kerops.core.jobs import JobEngine, worker_state_hooks
    from kerops.iot.mqtt import worker_mqtt_hooks

    modules.install()
    engine = JobEngine(get_settings())
    worker_state_hooks(engine, _make_state)
    worker_mqtt_hooks(engine)  # IoT readings over MQTT when KEROPS_MQTT_URL is set
    return engine.broker, engine.scheduler()


broker, scheduler = _engine()
