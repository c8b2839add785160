"""Fill a dedicated PostgreSQL database with a client base at scale, for the tickets benchmark.

At ``--scale 1`` (the default): 50 clients, 2,000 locales (client 0, the big one, has 55 %),
their floors and rooms, 100,000 assets, about 1,100 people (managers, requesters and viewers of
the locales, the clients' own technicians) with their locale memberships, one default workflow per
client (the app's own graph, ``kerops.operations.workflows.DEFAULT_STEPS``), and 1,000,000 service
tickets over two years with their checklist tasks and status history. ``--scale 0.05`` makes a
twentieth of the locales, assets and tickets, for a quick check.

Every row is what the app itself would have written: enum values, time-ordered UUIDv7 ids (taken
from each row's own creation time), timezone-aware times, per-client ticket numbers 1..n in
creation order with ``ticket_counters`` at n, statuses reached by moves the client's workflow
allows (one history row per move, by an actor the step admits, with a comment where the step
requires one), tasks all done before a ticket is resolved, SLA deadlines from
the platform's default SLA targets.

Rows go in with binary ``COPY`` (asyncpg ``copy_records_to_table``). The three big tables
(tickets, tasks, history) are loaded without their indexes and constraints, which are then
rebuilt from their definitions in the migrated schema: every primary key, unique and foreign key
is checked once over the whole table. Two processes generate and copy tickets in parallel. The
database is skipped when it already holds a finished fill (``--force`` rebuilds it); it ends with
``VACUUM ANALYZE``.

Usage::

    .venv/bin/python bench/seed_scale.py [--scale 1] [--force] [--database kerops_bench_scale]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import random
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import seed

from kerops.config import Settings
from kerops.core.enums import TechnicianSkill, TicketPriority, TicketStatus
from kerops.core.security import Security
from kerops.operations.workflows import (
    DEFAULT_STEPS,
    DEFAULT_WORKFLOW_DESCRIPTION,
    DEFAULT_WORKFLOW_NAME,
)

DEFAULT_DATABASE = "kerops_bench_scale"
#: Written last: a database without it is an unfinished fill.
MARKER_TABLE = "bench_scale_seed"
#: Loaded without indexes and constraints, rebuilt after the copy.
BIG_TABLES = ("service_tickets", "ticket_tasks", "ticket_history")
PLAN_ORDER = ("free", "basic", "pro", "enterprise")
CHUNK = 20_000
DAY = 86_400.0
HOUR = 3_600.0

S = TicketStatus


def _sla_hours() -> dict[TicketPriority, tuple[float, float]]:
    """The platform's default (response, resolution) hours per priority."""
    try:
        from kerops.operations.sla import DEFAULT_TARGETS  # minutes

        return {p: (r / 60, s / 60) for p, (r, s) in DEFAULT_TARGETS.items()}
    except ImportError:  # before SLA policies: hours in the tickets module
        from kerops.operations import tickets

        return dict(tickets.DEFAULT_SLA_HOURS)  # type: ignore[attr-defined]


SLA_HOURS = _sla_hours()

CATEGORIES = [
    ("hvac", ["Carrier", "Daikin", "Trane", "York"], ["Split 24k", "Chiller 60T", "Fan coil"]),
    ("electrical", ["Schneider", "ABB", "Siemens"], ["Tablero TG", "UPS 10kVA", "Generador"]),
    ("plumbing", ["Grundfos", "Pedrollo", "Rheem"], ["Bomba 2HP", "Calefón 16L", "Estanque"]),
    (
        "refrigeration",
        ["Bohn", "Copeland", "Embraco"],
        ["Cámara de frío", "Vitrina", "Condensador"],
    ),
    ("elevator", ["Otis", "Schindler", "Kone"], ["Ascensor", "Escalera mecánica"]),
    ("lighting", ["Philips", "Osram"], ["Luminaria LED", "Panel LED"]),
    ("security", ["Hikvision", "Bosch"], ["Cámara IP", "Central de alarma", "Control de acceso"]),
]
ASSET_STATUSES = (["operational"] * 90) + (["maintenance"] * 5) + (["down"] * 3) + ["in_storage"]
FAULTS = [
    "no enciende",
    "hace ruido",
    "no enfría",
    "gotea",
    "alarma activa",
    "falla intermitente",
    "sin presión",
    "sobrecalentamiento",
    "mantención preventiva",
    "revisión general",
]
DESCRIPTIONS = [
    "Reportado por el personal del local al abrir.",
    "El equipo se detuvo durante la tarde; el local sigue operando.",
    "Se requiere visita técnica con repuestos.",
    "Cliente solicita revisión antes del fin de semana.",
    "",
]
CHECKS = [
    ("check", "Revisar conexiones eléctricas"),
    ("check", "Limpiar filtros"),
    ("number", "Medir temperatura de salida (°C)"),
    ("number", "Medir presión (bar)"),
    ("pass_fail", "Prueba de funcionamiento"),
    ("text", "Observaciones del técnico"),
    ("check", "Registrar fotos del antes y después"),
]
COMMENTS = [
    "Local cerrado, se reprograma la visita.",
    "Se espera repuesto del proveedor.",
    "Requiere aprobación del presupuesto.",
    "La falla volvió a aparecer.",
    "Cliente retira la solicitud.",
    "Ticket duplicado.",
]
SKILLS = [skill.value for skill in TechnicianSkill]
PRIORITIES = [p.value for p in TicketPriority]
PRIORITY_WEIGHTS = [25, 45, 22, 8]
#: Status of a ticket still in its first 60 days, and of an older one.
RECENT_STATUS = {
    S.open: 25,
    S.assigned: 12,
    S.accepted: 5,
    S.en_route: 3,
    S.in_progress: 14,
    S.on_hold: 3,
    S.waiting_parts: 4,
    S.waiting_approval: 2,
    S.resolved: 8,
    S.completed: 19,
    S.cancelled: 3,
    S.reopened: 2,
}
OLD_STATUS = {S.completed: 88, S.cancelled: 7, S.resolved: 3, S.on_hold: 1, S.waiting_parts: 1}
RECENT_DAYS = 60
#: Mean hours a move takes, by the status it reaches.
MEAN_HOURS = {
    S.assigned: 3,
    S.accepted: 1,
    S.en_route: 1,
    S.in_progress: 1,
    S.on_hold: 20,
    S.waiting_parts: 30,
    S.waiting_approval: 12,
    S.resolved: 4,
    S.completed: 30,
    S.cancelled: 10,
    S.reopened: 40,
}
#: What each move of the default workflow needs: (roles, requires a comment).
STEP_RULES = {
    (step.from_status, step.to_status): ({r.value for r in step.roles}, step.requires_comment)
    for step in DEFAULT_STEPS
}

TICKET_COLUMNS = [
    "id",
    "client_id",
    "number",
    "title",
    "description",
    "locale_id",
    "area_id",
    "asset_id",
    "requester_id",
    "technician_id",
    "vendor_id",
    "workflow_id",
    "maintenance_plan_id",
    "priority",
    "status",
    "required_skill",
    "required_certification",
    "source",
    "reporter_name",
    "reporter_contact",
    "planned_at",
    "sla_response_due_at",
    "sla_resolution_due_at",
    "sla_response_breached",
    "sla_resolution_breached",
    "responded_at",
    "resolved_at",
    "completed_at",
    "cancelled_at",
    "ai_cause",
    "ai_skill",
    "ai_parts",
    "ai_confidence",
    "ai_similar_ticket_ids",
    "ai_diagnosed_at",
    "labour_cost_minor",
    "parts_cost_minor",
    "currency",
    "created_at",
    "updated_at",
]
TASK_COLUMNS = [
    "id",
    "client_id",
    "locale_id",
    "ticket_id",
    "position",
    "label",
    "kind",
    "min_value",
    "max_value",
    "value_number",
    "value_text",
    "passed",
    "is_done",
    "completed_by_id",
    "completed_at",
    "follow_up_ticket_id",
    "created_at",
    "updated_at",
]
HISTORY_COLUMNS = [
    "id",
    "client_id",
    "locale_id",
    "ticket_id",
    "from_status",
    "to_status",
    "actor_id",
    "comment",
    "created_at",
]
ASSET_COLUMNS = [
    "id",
    "client_id",
    "locale_id",
    "area_id",
    "parent_id",
    "name",
    "category",
    "make",
    "model",
    "serial_number",
    "status",
    "install_date",
    "warranty_end_date",
    "criticality",
    "meter_readings",
    "last_maintenance_at",
    "next_maintenance_at",
    "qr_code",
    "notes",
    "created_at",
    "updated_at",
]
WORKFLOW_COLUMNS = [
    "id",
    "client_id",
    "name",
    "description",
    "is_default",
    "is_active",
    "created_at",
    "updated_at",
]
STEP_COLUMNS = [
    "id",
    "client_id",
    "workflow_id",
    "from_status",
    "to_status",
    "allowed_roles",
    "requires_comment",
    "requires_photo",
    "requires_all_tasks_done",
    "requires_signature",
    "requires_valid_licence",
    "position",
    "created_at",
    "updated_at",
]


@dataclass(frozen=True)
class ScaleSize:
    """How much to create (``--scale`` multiplies locales, assets and tickets)."""

    clients: int = 50
    locales: int = 2_000
    big_client_share: float = 0.55
    assets: int = 100_000
    tickets: int = 1_000_000
    days: int = 730

    @classmethod
    def at(cls, scale: float) -> ScaleSize:
        """The full size times ``scale`` (at least one locale per client)."""
        full = cls()
        return cls(
            locales=max(full.clients * 2, round(full.locales * scale)),
            assets=max(full.clients, round(full.assets * scale)),
            tickets=max(1_000, round(full.tickets * scale)),
        )


@dataclass
class FillReport:
    """What the fill created and how long each phase took."""

    database: str
    size: ScaleSize
    rows: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False


def uuid7_at(seconds: float, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 (layout of ``kerops.core.types.uuid7``) for a row created at ``seconds``."""
    rand = rng.getrandbits(74)
    value = (int(seconds * 1000) & 0xFFFFFFFFFFFF) << 80
    value |= 0x7 << 76
    value |= (rand >> 62) << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFFFFFFFFFFFFFF
    return uuid.UUID(int=value)


def at(seconds: float) -> datetime:
    """A timezone-aware UTC time (microseconds, as PostgreSQL keeps it)."""
    return datetime.fromtimestamp(round(seconds, 6), UTC)


# --- the client base (one process) ---------------------------------------------------------------


@dataclass
class Client:
    """One client and its people, as the ticket generator needs them."""

    index: int
    owner_id: uuid.UUID
    workflow_id: uuid.UUID
    locales: list[int] = field(default_factory=list)
    managers: list[uuid.UUID] = field(default_factory=list)
    requesters: list[uuid.UUID] = field(default_factory=list)
    viewers: list[uuid.UUID] = field(default_factory=list)
    technicians: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Locale:
    """One locale: ids the tickets point at."""

    id: uuid.UUID
    client: int
    rooms: list[uuid.UUID] = field(default_factory=list)
    #: (asset id, area id, name, category)
    assets: list[tuple[uuid.UUID, uuid.UUID | None, str, str]] = field(default_factory=list)
    managers: list[uuid.UUID] = field(default_factory=list)
    requesters: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Base:
    """The generated client base, and its rows per table."""

    clients: list[Client]
    locales: list[Locale]
    rows: dict[str, list[tuple[Any, ...]]]
    columns: dict[str, list[str]]


def _plan(limits: dict[str, tuple[int | None, ...]], needs: tuple[int, int, int]) -> str:
    """The smallest plan whose limits (locales, users, assets) admit ``needs``."""
    for plan in PLAN_ORDER:
        caps = limits.get(plan)
        if caps is None:
            continue
        if all(cap is None or need <= cap for cap, need in zip(caps, needs, strict=True)):
            return plan
    return "enterprise"


def build_base(
    size: ScaleSize,
    password_hash: str,
    limits: dict[str, tuple[int | None, ...]],
    rng: random.Random,
    start: float,
) -> Base:
    """Clients, people, locales, areas, members, workflows and assets (before ``start``)."""
    # The accounts open over the 30 days before the first ticket.
    clock = start - 30 * DAY

    def tick(step: float = 1.0) -> float:
        nonlocal clock
        clock += step
        return clock

    big = min(round(size.locales * size.big_client_share), size.locales - (size.clients - 1))
    owners_of = [0] * big + list(range(1, size.clients))
    weights = [rng.choice((1, 2, 3)) for _ in range(1, size.clients)]
    owners_of += rng.choices(
        range(1, size.clients), weights=weights, k=size.locales - big - (size.clients - 1)
    )
    rng.shuffle(owners_of)
    per_client = [owners_of.count(c) for c in range(size.clients)]
    assets_per_client = [0] * size.clients
    locale_assets = [0] * size.locales
    for _ in range(size.assets):
        index = rng.randrange(size.locales)
        locale_assets[index] += 1
        assets_per_client[owners_of[index]] += 1

    client_rows: list[tuple[Any, ...]] = []
    users: list[tuple[Any, ...]] = []
    clients: list[Client] = []
    workflows: list[tuple[Any, ...]] = []
    steps: list[tuple[Any, ...]] = []
    for c in range(size.clients):
        n = per_client[c]
        counts = {
            "manager": max(1, math.ceil(n / 8)),
            "requester": max(1, math.ceil(n / 4)),
            "viewer": math.ceil(n / 20),
            "tech": max(2, math.ceil(n / 15)),
        }
        created = tick(600)
        owner_id = uuid7_at(created, rng)
        plan = _plan(limits, (n, sum(counts.values()) + 1, assets_per_client[c]))
        client_rows.append(
            seed._client_row(
                client_id=owner_id, name=f"Client {c:03d}", plan=plan, created=at(created)
            )
        )
        users.append(
            seed._user_row(
                email=seed.owner_email(c),
                full_name=seed._person(rng),
                password_hash=password_hash,
                role="client_owner",
                client_id=owner_id,
                invited_by=None,
                user_id=owner_id,
                created=at(created),
            )
        )
        workflow_id = uuid7_at(created + 1, rng)
        workflows.append(
            (
                workflow_id,
                owner_id,
                DEFAULT_WORKFLOW_NAME,
                DEFAULT_WORKFLOW_DESCRIPTION,
                True,
                True,
                at(created + 1),
                at(created + 1),
            )
        )
        for position, step in enumerate(DEFAULT_STEPS):
            steps.append(
                (
                    uuid7_at(created + 1, rng),
                    owner_id,
                    workflow_id,
                    step.from_status.value,
                    step.to_status.value,
                    json.dumps([role.value for role in step.roles]),
                    step.requires_comment,
                    False,
                    step.requires_all_tasks_done,
                    False,
                    step.requires_valid_licence,
                    position * 10,
                    at(created + 1),
                    at(created + 1),
                )
            )
        client = Client(c, owner_id, workflow_id)
        clients.append(client)
        for kind, count in counts.items():
            for i in range(count):
                created = tick(30)
                user_id = uuid7_at(created, rng)
                role = "technician" if kind == "tech" else "client_member"
                row = seed._user_row(
                    email=f"{kind}{i:03d}@client{c:03d}.example.com",
                    full_name=seed._person(rng),
                    password_hash=password_hash,
                    role=role,
                    client_id=owner_id,
                    invited_by=owner_id,
                    user_id=user_id,
                    created=at(created),
                )
                if kind == "tech":
                    skills = rng.sample(SKILLS, k=rng.randint(1, 3))
                    row = (*row[:9], json.dumps(skills), *row[10:])
                users.append(row)
                {
                    "manager": client.managers,
                    "requester": client.requesters,
                    "viewer": client.viewers,
                    "tech": client.technicians,
                }[kind].append(user_id)

    locales: list[Locale] = []
    locale_rows: list[tuple[Any, ...]] = []
    areas: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    assets: list[tuple[Any, ...]] = []
    numbers = [0] * size.clients
    for index, c in enumerate(owners_of):
        client = clients[c]
        numbers[c] += 1
        number = numbers[c]
        created = tick(60)
        locale_id = uuid7_at(created, rng)
        city, region, lat, lon = rng.choice(seed.CITIES)
        locale_rows.append(
            (
                locale_id,
                client.owner_id,
                f"{rng.choice(seed.KINDS)} {city} {number}",
                f"L{number:04d}",
                f"{rng.choice(seed.STREETS)} {rng.randint(100, 9999)}",
                city,
                region,
                "CL",
                round(lat + rng.uniform(-0.05, 0.05), 6),
                round(lon + rng.uniform(-0.05, 0.05), 6),
                "America/Santiago",
                True,
                at(created),
                at(created),
            )
        )
        locale = Locale(locale_id, c)
        locales.append(locale)
        client.locales.append(index)
        for f in range(1, rng.randint(1, 2) + 1):
            floor_id = uuid7_at(created, rng)
            areas.append(
                (
                    floor_id,
                    client.owner_id,
                    locale_id,
                    None,
                    f"Piso {f}",
                    "floor",
                    f"P{f}",
                    "",
                    at(created),
                    at(created),
                )
            )
            for r in range(1, rng.randint(1, 3) + 1):
                room_id = uuid7_at(created, rng)
                locale.rooms.append(room_id)
                areas.append(
                    (
                        room_id,
                        client.owner_id,
                        locale_id,
                        floor_id,
                        f"Sala {f}{r:02d}",
                        "room",
                        f"S{f}{r:02d}",
                        "",
                        at(created),
                        at(created),
                    )
                )
        # People: one manager (round robin), one or two requesters, sometimes a viewer.
        people = [(client.managers[(number - 1) % len(client.managers)], "manager")]
        for person in rng.sample(client.requesters, k=min(len(client.requesters), 2)):
            people.append((person, "requester"))
        if client.viewers and rng.random() < 0.5:
            people.append((rng.choice(client.viewers), "viewer"))
        for person, role in people:
            members.append(
                (
                    uuid7_at(created, rng),
                    client.owner_id,
                    locale_id,
                    person,
                    role,
                    at(created),
                    at(created),
                )
            )
            if role == "manager":
                locale.managers.append(person)
            elif role == "requester":
                locale.requesters.append(person)
        for a in range(locale_assets[index]):
            asset_created = created + 60 + a
            category, makes, models = rng.choice(CATEGORIES)
            model = rng.choice(models)
            area_id = rng.choice(locale.rooms) if rng.random() < 0.9 else None
            asset_id = uuid7_at(asset_created, rng)
            name = f"{model} {a + 1}"
            install = at(asset_created - rng.uniform(0, 5 * 365 * DAY)).date()
            assets.append(
                (
                    asset_id,
                    client.owner_id,
                    locale_id,
                    area_id,
                    None,
                    name,
                    category,
                    rng.choice(makes),
                    model,
                    f"SN{rng.getrandbits(40):010X}",
                    rng.choice(ASSET_STATUSES),
                    install,
                    install + timedelta(days=730),
                    rng.randint(1, 5),
                    "{}",
                    None,
                    None,
                    f"{rng.getrandbits(144):036x}",
                    "",
                    at(asset_created),
                    at(asset_created),
                )
            )
            locale.assets.append((asset_id, area_id, name, category))
    return Base(
        clients=clients,
        locales=locales,
        rows={
            "clients": client_rows,
            "users": users,
            "workflows": workflows,
            "workflow_steps": steps,
            "locales": locale_rows,
            "local_areas": areas,
            "local_members": members,
            "assets": assets,
        },
        columns={
            "clients": seed.CLIENT_COLUMNS,
            "users": seed.USER_COLUMNS,
            "workflows": WORKFLOW_COLUMNS,
            "workflow_steps": STEP_COLUMNS,
            "locales": seed.LOCALE_COLUMNS,
            "local_areas": seed.AREA_COLUMNS,
            "local_members": seed.MEMBER_COLUMNS,
            "assets": ASSET_COLUMNS,
        },
    )


# --- tickets (two processes) ---------------------------------------------------------------------


@dataclass
class Skeleton:
    """Per ticket, in creation order: when, where, and its number within its client."""

    created: array[float]
    locale: array[int]
    number: array[int]
    last_number: list[int]


def build_skeleton(size: ScaleSize, base: Base, rng: random.Random, start: float) -> Skeleton:
    """Creation times spread over ``size.days`` (a little busier lately), locales, numbers."""
    end = start + size.days * DAY - 600
    span = end - start
    # Growth: the density rises linearly from 1 to 2 over the period (inverse-CDF sampling).
    times = sorted(
        start + span * (math.sqrt(1 + 3 * rng.random()) - 1) for _ in range(size.tickets)
    )
    count = len(base.locales)
    locale = array("i", (rng.randrange(count) for _ in range(size.tickets)))
    counters = [0] * len(base.clients)
    number = array("i", bytes(4 * size.tickets))
    for i, index in enumerate(locale):
        c = base.locales[index].client
        counters[c] += 1
        number[i] = counters[c]
    return Skeleton(array("d", times), locale, number, counters)


def _path(final: TicketStatus, rng: random.Random) -> list[TicketStatus]:
    """The statuses a ticket went through to reach ``final`` along the default workflow."""
    if final is S.cancelled:
        return [S.open, S.cancelled] if rng.random() < 0.6 else [S.open, S.assigned, S.cancelled]
    start = [S.open, S.assigned, S.accepted]
    if final in (S.open, S.assigned, S.accepted):
        return start[: start.index(final) + 1]
    if final is S.en_route:
        return [*start, S.en_route]
    work = [*start, *([S.en_route] if rng.random() < 0.5 else []), S.in_progress]
    if final in (S.on_hold, S.waiting_parts, S.waiting_approval):
        return [*work, final]
    if rng.random() < 0.15:
        work += [rng.choice((S.on_hold, S.waiting_parts, S.waiting_approval)), S.in_progress]
    if final is S.in_progress:
        return work
    resolved = [*work, S.resolved]
    if final is S.resolved:
        return resolved
    return [*resolved, final]  # completed, reopened


class TicketMaker:
    """Builds the rows of one ticket: the ticket, its tasks, its history."""

    def __init__(self, base: Base, skeleton: Skeleton, now: float, seed_value: int) -> None:
        self.base = base
        self.skeleton = skeleton
        self.now = now
        self.rng = random.Random(seed_value)
        self.recent = (list(RECENT_STATUS), list(RECENT_STATUS.values()))
        self.old = (list(OLD_STATUS), list(OLD_STATUS.values()))

    def rows(self, i: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        rng = self.rng
        created = self.skeleton.created[i]
        locale = self.base.locales[self.skeleton.locale[i]]
        client = self.base.clients[locale.client]
        choices, weights = self.recent if self.now - created < RECENT_DAYS * DAY else self.old
        final = rng.choices(choices, weights)[0]
        path = _path(final, rng)
        priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        ticket_id = uuid7_at(created, rng)
        # Move times: exponential waits, squeezed into the time left when a ticket is recent.
        waits = [rng.expovariate(1 / (MEAN_HOURS[s] * HOUR)) for s in path[1:]]
        room = (self.now - created) * 0.95
        if sum(waits) > room:
            factor = room / sum(waits)
            waits = [w * factor for w in waits]
        times = [created]
        for wait in waits:
            times.append(times[-1] + max(1.0, wait))
        source_roll = rng.random()
        source = "manual" if source_roll < 0.85 else "scan" if source_roll < 0.95 else "sensor"
        requester = None
        if source == "manual":
            people = locale.requesters or locale.managers
            requester = rng.choice(people) if rng.random() < 0.9 else client.owner_id
        technician = (
            rng.choice(client.technicians) if len(path) > 1 and path[1] is S.assigned else None
        )
        if locale.assets and rng.random() < 0.75:
            asset_id, area_id, asset_name, _category = rng.choice(locale.assets)
        else:
            asset_id, asset_name = None, None
            area_id = rng.choice(locale.rooms) if locale.rooms and rng.random() < 0.5 else None
        fault = rng.choice(FAULTS)
        title = f"{asset_name}: {fault}" if asset_name else f"Local: {fault}"
        response_hours, resolution_hours = SLA_HOURS[TicketPriority(priority)]
        response_due = created + response_hours * HOUR
        resolution_due = created + resolution_hours * HOUR
        moved = dict(zip(path, times, strict=True))
        responded = next((t for s, t in zip(path, times, strict=True) if s is S.accepted), None)
        resolved = max(
            (t for s, t in zip(path, times, strict=True) if s is S.resolved), default=None
        )
        completed = moved.get(S.completed)
        cancelled = moved.get(S.cancelled)
        closed = final in (S.completed, S.cancelled, S.resolved)
        response_breached = final is not S.cancelled and (
            (responded or (self.now if not closed else response_due)) > response_due
        )
        resolution_breached = final is not S.cancelled and (
            (resolved or (self.now if not closed else resolution_due)) > resolution_due
        )
        labour = parts = 0
        if final in (S.completed, S.resolved):
            labour = rng.randrange(20, 300) * 1000
            parts = rng.randrange(0, 500) * 1000 if rng.random() < 0.4 else 0
        ticket = (
            ticket_id,
            client.owner_id,
            self.skeleton.number[i],
            title[:200],
            rng.choice(DESCRIPTIONS),
            locale.id,
            area_id,
            asset_id,
            requester,
            technician,
            None,
            client.workflow_id,
            None,
            priority,
            final.value,
            rng.choice(SKILLS) if rng.random() < 0.3 else None,
            None,
            source,
            seed._person(rng) if source == "scan" else None,
            f"+5699{rng.randrange(10**7):07d}" if source == "scan" else None,
            at(created + 2 * DAY) if rng.random() < 0.1 else None,
            at(response_due),
            at(resolution_due),
            response_breached,
            resolution_breached,
            at(responded) if responded else None,
            at(resolved) if resolved else None,
            at(completed) if completed else None,
            at(cancelled) if cancelled else None,
            None,
            None,
            "[]",
            None,
            "[]",
            None,
            labour,
            parts,
            "CLP",
            at(created),
            at(times[-1]),
        )
        history: list[tuple[Any, ...]] = [
            (
                uuid7_at(created, rng),
                client.owner_id,
                locale.id,
                ticket_id,
                None,
                S.open.value,
                requester,
                "",
                at(created),
            )
        ]
        manager = locale.managers[0] if locale.managers else client.owner_id
        for k in range(1, len(path)):
            roles, needs_comment = STEP_RULES[(path[k - 1], path[k])]
            if "technician" in roles and technician is not None:
                actor = technician
            elif "requester" in roles and requester is not None and rng.random() < 0.5:
                actor = requester
            else:
                actor = manager if rng.random() < 0.8 else client.owner_id
            history.append(
                (
                    uuid7_at(times[k], rng),
                    client.owner_id,
                    locale.id,
                    ticket_id,
                    path[k - 1].value,
                    path[k].value,
                    actor,
                    rng.choice(COMMENTS) if needs_comment else "",
                    at(times[k]),
                )
            )
        tasks: list[tuple[Any, ...]] = []
        count = rng.choices((0, 1, 2, 3, 4), (35, 20, 20, 15, 10))[0]
        done_all = resolved is not None
        started = moved.get(S.in_progress)
        for position, (kind, label) in enumerate(rng.sample(CHECKS, k=count)):
            done = done_all or (started is not None and rng.random() < 0.5)
            when = None
            if done:
                finish = resolved if resolved is not None else self.now
                begin = started if started is not None else created
                when = begin + (finish - begin) * rng.random()
            low = high = number = text = passed = None
            if kind == "number":
                low, high = 0.0, 30.0
                number = round(rng.uniform(-2, 32), 1) if done else None
            elif kind == "pass_fail":
                passed = (rng.random() < 0.9) if done else None
            elif kind == "text" and done:
                text = "Equipo operativo al cierre."
            tasks.append(
                (
                    uuid7_at(created, rng),
                    client.owner_id,
                    locale.id,
                    ticket_id,
                    position,
                    label,
                    kind,
                    low,
                    high,
                    number,
                    text,
                    passed,
                    done,
                    technician if done else None,
                    at(when) if when is not None else None,
                    None,
                    at(created),
                    at(when) if when is not None else at(created),
                )
            )
        return ticket, tasks, history


# Shared with the forked copy processes (set before they start).
_SHARED: dict[str, Any] = {}


def _chunks(total: int) -> list[tuple[int, int]]:
    return [(lo, min(total, lo + CHUNK)) for lo in range(0, total, CHUNK)]


def _chunk_rows(
    maker: TicketMaker, lo: int, hi: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    tickets: list[tuple[Any, ...]] = []
    tasks: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    for i in range(lo, hi):
        ticket, ticket_tasks, ticket_history = maker.rows(i)
        tickets.append(ticket)
        tasks.extend(ticket_tasks)
        history.extend(ticket_history)
    return tickets, tasks, history


async def _copy_tickets(url: str, worker: int, workers: int) -> dict[str, int]:
    base: Base = _SHARED["base"]
    skeleton: Skeleton = _SHARED["skeleton"]
    maker = TicketMaker(base, skeleton, _SHARED["now"], _SHARED["seed"] * 1000 + worker)
    counts = {"service_tickets": 0, "ticket_tasks": 0, "ticket_history": 0}
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET synchronous_commit = off")
        for lo, hi in _chunks(len(skeleton.created))[worker::workers]:
            tickets, tasks, history = _chunk_rows(maker, lo, hi)
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "service_tickets", records=tickets, columns=TICKET_COLUMNS
                )
                await conn.copy_records_to_table(
                    "ticket_tasks", records=tasks, columns=TASK_COLUMNS
                )
                await conn.copy_records_to_table(
                    "ticket_history", records=history, columns=HISTORY_COLUMNS
                )
            counts["service_tickets"] += len(tickets)
            counts["ticket_tasks"] += len(tasks)
            counts["ticket_history"] += len(history)
    finally:
        await conn.close()
    return counts


def _copy_worker(args: tuple[str, int, int]) -> dict[str, int]:
    url, worker, workers = args
    return asyncio.run(_copy_tickets(url, worker, workers))


# --- the database ---------------------------------------------------------------------------------


async def is_filled(admin_url: str, name: str) -> dict[str, Any] | None:
    """The marker of a finished fill of database ``name``, if there is one."""
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    if not exists:
        return None
    conn = await asyncpg.connect(seed.database_url(admin_url, name))
    try:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", MARKER_TABLE):
            return None
        row = await conn.fetchrow(f"SELECT filled_at, report FROM {MARKER_TABLE}")
        return {"filled_at": row["filled_at"].isoformat(), **json.loads(row["report"])}
    finally:
        await conn.close()


async def _big_table_ddl(conn: asyncpg.Connection) -> tuple[list[str], list[str], list[str]]:
    """(drop statements, index/key re-creations, foreign key re-creations) of the big tables."""
    tables = list(BIG_TABLES)
    constraints = await conn.fetch(
        """
        SELECT c.conname, c.contype::text AS contype, c.conrelid::regclass::text AS tbl,
               pg_get_constraintdef(c.oid) AS def
        FROM pg_constraint c
        WHERE c.contype IN ('p', 'u', 'f')
          AND (c.conrelid::regclass::text = ANY($1) OR c.confrelid::regclass::text = ANY($1))
        """,
        tables,
    )
    indexes = await conn.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY($1)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                          AND c.contype IN ('p', 'u'))
        """,
        tables,
    )
    fks = [c for c in constraints if c["contype"] == "f"]
    keys = [c for c in constraints if c["contype"] != "f"]
    drops = [f'ALTER TABLE {c["tbl"]} DROP CONSTRAINT "{c["conname"]}"' for c in fks]
    drops += [f'ALTER TABLE {c["tbl"]} DROP CONSTRAINT "{c["conname"]}"' for c in keys]
    drops += [f"DROP INDEX {i['name']}" for i in indexes]
    builds = [f'ALTER TABLE {c["tbl"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}' for c in keys]
    builds += [i["def"] for i in indexes]
    refs = [f'ALTER TABLE {c["tbl"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}' for c in fks]
    return drops, builds, refs


async def _plan_limits(conn: asyncpg.Connection) -> dict[str, tuple[int | None, ...]]:
    rows = await conn.fetch("SELECT plan, max_locales, max_users, max_assets FROM plan_limits")
    return {r["plan"]: (r["max_locales"], r["max_users"], r["max_assets"]) for r in rows}


def _timed(phases: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    phases[name] = round(now - started, 1)
    print(f"  {name}: {phases[name]:.1f} s", flush=True)
    return now


def fill(
    admin_url: str,
    name: str,
    size: ScaleSize,
    *,
    workers: int = 2,
    random_seed: int = 11,
    force: bool = False,
) -> FillReport:
    """Create, migrate and fill database ``name`` (skipped when already filled, unless
    ``force``); must not run inside an event loop."""
    report = FillReport(database=name, size=size)
    found = asyncio.run(is_filled(admin_url, name))
    if found is not None and not force:
        report.skipped = True
        report.rows = found.get("rows", {})
        report.phases = found.get("phases", {})
        report.seconds = found.get("seconds", 0.0)
        return report
    started = step = time.perf_counter()
    url = seed.database_url(admin_url, name)
    asyncio.run(seed.recreate_database(admin_url, name))
    seed.migrate(url)
    step = _timed(report.phases, "create and migrate", step)
    with tempfile.TemporaryDirectory(prefix="kerops-bench-") as tmp:
        security = Security(Settings(data_dir=Path(tmp), secret_key=seed.SECRET_KEY))
        password_hash = security.hash_password(seed.PASSWORD)
    now = time.time()
    first = now - size.days * DAY
    rng = random.Random(random_seed)

    async def prepare() -> tuple[Base, list[str], list[str], list[str]]:
        conn = await asyncpg.connect(url)
        try:
            limits = await _plan_limits(conn)
            base = build_base(size, password_hash, limits, rng, first)
            async with conn.transaction():
                for table, rows in base.rows.items():
                    await conn.copy_records_to_table(
                        table, records=rows, columns=base.columns[table]
                    )
            drops, builds, refs = await _big_table_ddl(conn)
            for statement in drops:
                await conn.execute(statement)
        finally:
            await conn.close()
        return base, drops, builds, refs

    base, _drops, builds, refs = asyncio.run(prepare())
    report.rows.update({table: len(rows) for table, rows in base.rows.items()})
    step = _timed(report.phases, "client base", step)
    skeleton = build_skeleton(size, base, rng, first)
    _SHARED.update(base=base, skeleton=skeleton, now=now, seed=random_seed)
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        results = pool.map(_copy_worker, [(url, w, workers) for w in range(workers)])
    for counts in results:
        for table, count in counts.items():
            report.rows[table] = report.rows.get(table, 0) + count
    step = _timed(report.phases, "tickets, tasks, history (generate + COPY)", step)

    async def finish() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            for statement in builds:
                await conn.execute(statement)
            nonlocal step
            step = _timed(report.phases, "primary keys, unique keys, indexes", step)
            for statement in refs:
                await conn.execute(statement)
            step = _timed(report.phases, "foreign keys (validated)", step)
            counters = [
                (client.owner_id, last)
                for client, last in zip(base.clients, skeleton.last_number, strict=True)
                if last
            ]
            await conn.copy_records_to_table(
                "ticket_counters", records=counters, columns=["client_id", "last_number"]
            )
            report.rows["ticket_counters"] = len(counters)
            await conn.execute("VACUUM ANALYZE")
            step = _timed(report.phases, "VACUUM ANALYZE", step)
            report.seconds = round(time.perf_counter() - started, 1)
            await conn.execute(
                f"CREATE TABLE {MARKER_TABLE} (filled_at timestamptz NOT NULL, report jsonb)"
            )
            await conn.execute(
                f"INSERT INTO {MARKER_TABLE} VALUES (now(), $1::jsonb)",
                json.dumps(
                    {
                        "size": asdict(size),
                        "rows": report.rows,
                        "phases": report.phases,
                        "seconds": report.seconds,
                    }
                ),
            )
        finally:
            await conn.close()

    asyncio.run(finish())
    return report


def iter_rows(report: FillReport) -> Iterator[str]:
    """``1,000,000 service_tickets``, … for printing."""
    for table, count in report.rows.items():
        yield f"{count:,} {table}"


def main(argv: list[str] | None = None) -> int:
    """Command line: fill the scale database (unless already filled)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL, help="any database")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="database to fill")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 tickets")
    parser.add_argument("--workers", type=int, default=2, help="ticket copy processes")
    parser.add_argument("--random-seed", type=int, default=11)
    parser.add_argument("--force", action="store_true", help="rebuild even if already filled")
    args = parser.parse_args(argv)
    size = ScaleSize.at(args.scale)
    print(f"filling {args.database}: {size}", flush=True)
    report = fill(
        args.admin_url,
        args.database,
        size,
        workers=args.workers,
        random_seed=args.random_seed,
        force=args.force,
    )
    if report.skipped:
        print(f"{args.database} is already filled (use --force to rebuild): ", end="")
    else:
        print(f"filled {args.database} in {report.seconds:.0f} s: ", end="")
    print(", ".join(iter_rows(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
