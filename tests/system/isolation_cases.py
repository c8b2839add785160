"""Isolation cases of the system routes: settings, plan limits, app versions."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.types import uuid7
from kerops.system.models import AppVersion, Setting
from tests.isolation import Case, World, public

P = "/api/v1"
SETTING_KEY = "support.email"


def _setting(w: World) -> dict[str, str]:
    def make() -> str:
        async def create(session: AsyncSession) -> None:
            session.add(Setting(key=SETTING_KEY, value_type="string", value="soporte@ker.cl"))

        w.run(create)
        return SETTING_KEY

    return {"key": w.once("setting", make)}


def _app_version(w: World) -> dict[str, uuid.UUID]:
    def make() -> uuid.UUID:
        version_id = uuid7()

        async def create(session: AsyncSession) -> None:
            session.add(
                AppVersion(
                    id=version_id,
                    platform="android",
                    version="2.1.0",
                    min_supported_version="2.0.0",
                )
            )

        w.run(create)
        return version_id

    return {"version_id": w.once("app_version", make)}


PUBLIC = {
    ("GET", f"{P}/app-versions/check"): public(
        "an installed app asks whether to update before anyone signs in; it reads only the "
        "public release catalogue and no tenant data"
    ),
}

CASES = {
    # Settings: platform staff only, 403 for everyone else.
    ("GET", f"{P}/settings"): Case(expect=frozenset({403})),
    ("GET", f"{P}/settings/{{key}}"): Case(params=_setting, expect=frozenset({403})),
    ("PUT", f"{P}/settings/{{key}}"): Case(
        params=_setting,
        body=lambda w: {"value_type": "string", "value": "taken@example.cl"},
        expect=frozenset({403}),
    ),
    ("DELETE", f"{P}/settings/{{key}}"): Case(params=_setting, expect=frozenset({403})),
    # Labels of enum values: the same fixed tables for every signed-in user (no tenant data).
    ("GET", f"{P}/labels"): Case(kind="list"),
    # Plan limits: a public catalogue to read, staff-only to change.
    ("GET", f"{P}/plan-limits"): Case(kind="list"),
    ("PATCH", f"{P}/plan-limits/{{plan}}"): Case(
        params=lambda w: {"plan": "free"},
        body=lambda w: {"max_locales": 1000},
        expect=frozenset({403}),
    ),
    # App versions: the release catalogue is readable by every signed-in user (no tenant data);
    # writes are staff-only.
    ("GET", f"{P}/app-versions"): Case(kind="list"),
    ("POST", f"{P}/app-versions"): Case(
        body=lambda w: {
            "platform": "ios",
            "version": "9.0.0",
            "min_supported_version": "9.0.0",
        },
        expect=frozenset({403}),
    ),
    ("GET", f"{P}/app-versions/{{version_id}}"): Case(params=_app_version, kind="list"),
    ("PATCH", f"{P}/app-versions/{{version_id}}"): Case(
        params=_app_version, body=lambda w: {"is_active": False}, expect=frozenset({403})
    ),
    ("DELETE", f"{P}/app-versions/{{version_id}}"): Case(
        params=_app_version, expect=frozenset({403})
    ),
}
