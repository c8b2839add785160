"""Fill a fresh PostgreSQL database with a realistic client base for the benchmarks.

The database is dropped and created again, migrated with the project's migrations, then filled
with ``COPY`` (asyncpg ``copy_records_to_table``) rather than the ORM, so a full seed takes a few
seconds. Ids are UUIDv7 from :func:`kerops.core.types.uuid7`, generated in creation order with the
clients interleaved, so the keyset order of every list is the one production would have.

Usage::

    .venv/bin/python bench/seed.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                   [--database kerops_bench]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from kerops.config import Settings, normalise_database_url
from kerops.core.migrate import upgrade
from kerops.core.security import Security
from kerops.core.types import uuid7

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_DATABASE = "kerops_bench"
#: The signing secret shared by the seeded data, the app under test and the raw reference.
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
#: Every seeded account has this password.
PASSWORD = "bench-password-0123456789"
#: Marker table written last, so a half-seeded database is never mistaken for a ready one.
MARKER_TABLE = "bench_seed"

CITIES = [
    ("Santiago", "Metropolitana", -33.45, -70.66),
    ("Providencia", "Metropolitana", -33.43, -70.61),
    ("Las Condes", "Metropolitana", -33.41, -70.57),
    ("Maipú", "Metropolitana", -33.51, -70.76),
    ("Valparaíso", "Valparaíso", -33.05, -71.62),
    ("Viña del Mar", "Valparaíso", -33.02, -71.55),
    ("Concepción", "Biobío", -36.83, -73.05),
    ("Temuco", "La Araucanía", -38.74, -72.60),
    ("Antofagasta", "Antofagasta", -23.65, -70.40),
    ("La Serena", "Coquimbo", -29.90, -71.25),
    ("Rancagua", "O'Higgins", -34.17, -70.74),
    ("Puerto Montt", "Los Lagos", -41.47, -72.94),
]
STREETS = ["Av. Providencia", "Av. Apoquindo", "Los Leones", "Av. Libertad", "O'Higgins", "Prat"]
KINDS = ["Sucursal", "Tienda", "Bodega", "Planta", "Oficina", "Local"]
FIRST_NAMES = ["Camila", "Matías", "Valentina", "Benjamín", "Javiera", "Vicente", "Fernanda"]
LAST_NAMES = ["González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva"]


@dataclass(frozen=True)
class SeedSize:
    """How much data to create."""

    clients: int = 50
    locales: int = 2_000
    #: Locales of client 0, the big one (just over 1,000, so a list has a deep page ~50 pages in).
    big_client_locales: int = 1_100
    members_per_client: int = 4
    big_client_members: int = 40
    #: Floors per locale (1..n); each floor has 1..``rooms_per_floor`` rooms.
    floors_per_locale: int = 2
    rooms_per_floor: int = 2
    #: Members given a role in each locale (1..n).
    members_per_locale: int = 3


@dataclass
class SeedReport:
    """What was created, for the benchmark report."""

    database: str
    size: SeedSize
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    big_client_email: str = ""


def owner_email(index: int) -> str:
    """The login of client number ``index`` (client 0 is the big one)."""
    return f"owner{index:03d}@client{index:03d}.example.com"


def member_email(client: int, index: int) -> str:
    """The login of member ``index`` of client ``client``."""
    return f"member{index:03d}@client{client:03d}.example.com"


def database_url(admin_url: str, name: str) -> str:
    """The plain ``postgresql://`` URL of database ``name`` on the admin URL's server."""
    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    return urlunsplit(urlsplit(plain)._replace(path=f"/{name}"))


async def database_is_seeded(admin_url: str, name: str) -> bool:
    """Whether ``name`` exists and holds a finished seed."""
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    if not exists:
        return False
    conn = await asyncpg.connect(database_url(admin_url, name))
    try:
        return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", MARKER_TABLE))
    finally:
        await conn.close()


async def recreate_database(admin_url: str, name: str) -> None:
    """Drop ``name`` if it exists and create it empty."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def migrate(url: str) -> None:
    """Bring the database to the newest migration."""
    with tempfile.TemporaryDirectory(prefix="kerops-bench-") as tmp:
        upgrade(
            Settings(
                database_url=normalise_database_url(url),
                data_dir=Path(tmp),
                secret_key=SECRET_KEY,
            )
        )


class Clock:
    """Creation times: one step forward per row, starting about a year and a half ago."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.now = start
        self.step = step

    def tick(self) -> datetime:
        """The next creation time."""
        self.now += self.step
        return self.now


def _user_row(
    *,
    email: str,
    full_name: str,
    password_hash: str,
    role: str,
    client_id: uuid.UUID | None,
    invited_by: uuid.UUID | None,
    user_id: uuid.UUID,
    created: datetime,
) -> tuple[Any, ...]:
    return (
        user_id,
        email,
        None,
        full_name,
        password_hash,
        role,
        client_id,
        None,
        None,
        "[]",
        True,
        "es-CL",
        "America/Santiago",
        invited_by,
        created,
        None,
        created,
        created,
    )


def _client_row(
    *, client_id: uuid.UUID, name: str, plan: str, created: datetime
) -> tuple[Any, ...]:
    """A client's row: its id is its owner's user id (the owner is the user of that id)."""
    return (client_id, name, client_id, plan, created, created)


CLIENT_COLUMNS = ["id", "name", "owner_user_id", "plan", "created_at", "updated_at"]
USER_COLUMNS = [
    "id",
    "email",
    "phone",
    "full_name",
    "password_hash",
    "role",
    "client_id",
    "client_role",
    "vendor_id",
    "skills",
    "is_active",
    "language",
    "timezone",
    "invited_by_id",
    "email_verified_at",
    "last_login_at",
    "created_at",
    "updated_at",
]
LOCALE_COLUMNS = [
    "id",
    "client_id",
    "name",
    "code",
    "address",
    "city",
    "region",
    "country",
    "latitude",
    "longitude",
    "timezone",
    "is_active",
    "created_at",
    "updated_at",
]
AREA_COLUMNS = [
    "id",
    "client_id",
    "locale_id",
    "parent_id",
    "name",
    "kind",
    "code",
    "description",
    "created_at",
    "updated_at",
]
MEMBER_COLUMNS = ["id", "client_id", "locale_id", "user_id", "role", "created_at", "updated_at"]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"


def _locale_owners(size: SeedSize, rng: random.Random) -> list[int]:
    """The client index of each locale, in creation order (clients interleaved)."""
    others = size.locales - size.big_client_locales
    small = size.clients - 1
    if small < 1 or others < small:
        raise ValueError("every small client needs at least one locale")
    # Uneven shares: weights 1..3, then every small client gets at least one locale.
    weights = [rng.choice((1, 2, 3)) for _ in range(small)]
    owners = [0] * size.big_client_locales + list(range(1, size.clients))
    owners += rng.choices(range(1, size.clients), weights=weights, k=others - small)
    rng.shuffle(owners)
    return owners


def build_rows(
    size: SeedSize, password_hash: str, rng: random.Random
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the seed, per table, in creation order."""
    clock = Clock(datetime.now(UTC) - timedelta(days=540), timedelta(seconds=1))
    plans = ["free", "basic", "pro", "enterprise"]
    clients: list[tuple[Any, ...]] = []
    users: list[tuple[Any, ...]] = []
    owner_ids: list[uuid.UUID] = []
    members_of: list[list[uuid.UUID]] = []
    for c in range(size.clients):
        owner_id = uuid7()
        owner_ids.append(owner_id)
        created = clock.tick()
        plan = "enterprise" if c == 0 else rng.choice(plans)
        clients.append(
            _client_row(client_id=owner_id, name=f"Client {c:03d}", plan=plan, created=created)
        )
        users.append(
            _user_row(
                email=owner_email(c),
                full_name=_person(rng),
                password_hash=password_hash,
                role="client_owner",
                client_id=owner_id,
                invited_by=None,
                user_id=owner_id,
                created=created,
            )
        )
        members_of.append([])
    for c in range(size.clients):
        count = size.big_client_members if c == 0 else size.members_per_client
        for m in range(count):
            member_id = uuid7()
            members_of[c].append(member_id)
            users.append(
                _user_row(
                    email=member_email(c, m),
                    full_name=_person(rng),
                    password_hash=password_hash,
                    role="client_member",
                    client_id=owner_ids[c],
                    invited_by=owner_ids[c],
                    user_id=member_id,
                    created=clock.tick(),
                )
            )

    locales: list[tuple[Any, ...]] = []
    areas: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    numbers = [0] * size.clients
    roles = ["manager", "requester", "viewer"]
    for c in _locale_owners(size, rng):
        numbers[c] += 1
        number = numbers[c]
        client_id = owner_ids[c]
        city, region, lat, lon = rng.choice(CITIES)
        created = clock.tick()
        locale_id = uuid7()
        locales.append(
            (
                locale_id,
                client_id,
                f"{rng.choice(KINDS)} {city} {number}",
                f"L{number:04d}",
                f"{rng.choice(STREETS)} {rng.randint(100, 9999)}",
                city,
                region,
                "CL",
                round(lat + rng.uniform(-0.05, 0.05), 6),
                round(lon + rng.uniform(-0.05, 0.05), 6),
                "America/Santiago",
                rng.random() > 0.05,
                created,
                created,
            )
        )
        for f in range(1, rng.randint(1, size.floors_per_locale) + 1):
            floor_id = uuid7()
            floor = (floor_id, client_id, locale_id, None, f"Piso {f}", "floor", f"P{f}", "")
            areas.append((*floor, created, created))
            for r in range(1, rng.randint(1, size.rooms_per_floor) + 1):
                areas.append(
                    (
                        uuid7(),
                        client_id,
                        locale_id,
                        floor_id,
                        f"Sala {f}{r:02d}",
                        "room",
                        f"S{f}{r:02d}",
                        "",
                        created,
                        created,
                    )
                )
        people = rng.sample(
            members_of[c], k=min(len(members_of[c]), rng.randint(1, size.members_per_locale))
        )
        for i, person in enumerate(people):
            role = "manager" if i == 0 else rng.choice(roles)
            members.append((uuid7(), client_id, locale_id, person, role, created, created))
    return {
        "clients": clients,
        "users": users,
        "locales": locales,
        "local_areas": areas,
        "local_members": members,
    }


async def fill(url: str, size: SeedSize, password_hash: str, seed: int) -> dict[str, int]:
    """Copy the generated rows into the (migrated, empty) database; returns rows per table."""
    rows = build_rows(size, password_hash, random.Random(seed))
    columns = {
        "clients": CLIENT_COLUMNS,
        "users": USER_COLUMNS,
        "locales": LOCALE_COLUMNS,
        "local_areas": AREA_COLUMNS,
        "local_members": MEMBER_COLUMNS,
    }
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            # One transaction: a client's row and its owner's point at each other (deferred).
            for table in ("clients", "users", "locales", "local_areas", "local_members"):
                await conn.copy_records_to_table(table, records=rows[table], columns=columns[table])
            await conn.execute(
                f"CREATE TABLE {MARKER_TABLE} (seeded_at timestamptz NOT NULL, size jsonb)"
            )
            await conn.execute(
                f"INSERT INTO {MARKER_TABLE} VALUES (now(), $1::jsonb)",
                json.dumps(asdict(size)),
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {table: len(table_rows) for table, table_rows in rows.items()}


def seed(
    admin_url: str = DEFAULT_ADMIN_URL,
    name: str = DEFAULT_DATABASE,
    size: SeedSize | None = None,
    *,
    random_seed: int = 7,
) -> SeedReport:
    """Create, migrate and fill database ``name``; must not run inside an event loop."""
    size = size or SeedSize()
    started = time.perf_counter()
    url = database_url(admin_url, name)
    asyncio.run(recreate_database(admin_url, name))
    migrate(url)
    with tempfile.TemporaryDirectory(prefix="kerops-bench-") as tmp:
        security = Security(Settings(data_dir=Path(tmp), secret_key=SECRET_KEY))
        password_hash = security.hash_password(PASSWORD)
    counts = asyncio.run(fill(url, size, password_hash, random_seed))
    return SeedReport(
        database=name,
        size=size,
        rows=counts,
        seconds=round(time.perf_counter() - started, 2),
        big_client_email=owner_email(0),
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: seed the benchmark database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="any database to connect")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="database to (re)create")
    parser.add_argument("--clients", type=int, default=SeedSize.clients)
    parser.add_argument("--locales", type=int, default=SeedSize.locales)
    parser.add_argument("--big-client-locales", type=int, default=SeedSize.big_client_locales)
    parser.add_argument("--random-seed", type=int, default=7)
    args = parser.parse_args(argv)
    size = SeedSize(
        clients=args.clients, locales=args.locales, big_client_locales=args.big_client_locales
    )
    report = seed(args.admin_url, args.database, size, random_seed=args.random_seed)
    rows = ", ".join(f"{count:,} {table}" for table, count in report.rows.items())
    print(f"seeded {report.database} in {report.seconds:.1f} s: {rows}")
    print(f"big client login: {report.big_client_email} / {PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
