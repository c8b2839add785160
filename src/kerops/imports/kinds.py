"""Each kind of import: its columns, the checks of its rows against the file and the stored data
(one query per lookup table, never one per row), and how its rows are written.

A kind's check lists every problem; its write runs only when there is none. Rows are matched by
their code (locales, assets), SKU (products), email (users), path (areas) or asset and name
(plans): a row that matches a stored record is refused (``already_exists``), so importing the
same file twice never duplicates anything.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import anyio
from sqlalchemy import Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets import plans as plans_service
from kerops.assets.models import Asset, AssetMaintenancePlan, AssetStatusChange
from kerops.assets.plans_schemas import PlanCreate, PlanTrigger
from kerops.assets.recurrence import IntervalUnit
from kerops.assets.service import MAX_ASSET_DEPTH
from kerops.core import access, audit, bulk, sync_log
from kerops.core.enums import (
    AssetStatus,
    ClientRole,
    LocalRole,
    ProductCategory,
    TicketPriority,
)
from kerops.core.errors import AppError, Conflict, Forbidden, PlanLimitExceeded
from kerops.core.i18n import N_, gettext
from kerops.core.limits import Resource, enforce_plan_limit
from kerops.core.mail import OutgoingMessage
from kerops.core.principal import Principal
from kerops.core.state import AppState
from kerops.core.types import utcnow, uuid7
from kerops.imports.columns import (
    Column,
    ImportKind,
    Prefixed,
    add_prefixed,
    choice,
    choices_help,
    code,
    day,
    declare,
    integer,
    number,
    read_decimal,
    text,
    yes_no,
)
from kerops.imports.fields import read_fields
from kerops.imports.products import PRODUCT_STORE_COLUMNS, STORE_KEYS, StoreColumns, unit_code
from kerops.imports.sheets import Row, Sheet
from kerops.inventory.models import Product
from kerops.inventory.schemas import ProductCreate
from kerops.inventory.units import UNITS
from kerops.tenancy.models import LocalArea, Locale
from kerops.tenancy.repository import MAX_AREA_DEPTH
from kerops.tenancy.schemas import AreaCreate, AreaKind, LocaleCreate
from kerops.users import service as users_service
from kerops.users.models import User
from kerops.users.schemas import UserInvite

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,31}$")


@dataclass
class Run:
    """One import being checked (and written, unless a dry run)."""

    session: AsyncSession
    principal: Principal
    state: AppState
    sheet: Sheet
    dry_run: bool
    #: Invitations to send once the transaction committed (users).
    messages: list[OutgoingMessage] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        """Whether this run writes (a real run and no problem found)."""
        return not self.dry_run and not self.sheet.problems


# --- columns -------------------------------------------------------------------------------------

LOCALE_REF = Column(
    "locale",
    "local",
    "locale",
    text(200),
    True,
    N_("The locale's code (or its exact name)."),
    "SCL-01",
    "SCL-01",
)
STATUS_ALIASES = {
    "operativo": "operational",
    "en mantencion": "maintenance",
    "mantencion": "maintenance",
    "detenido": "down",
    "fuera de servicio": "down",
    "en bodega": "in_storage",
    "bodega": "in_storage",
    "dado de baja": "disposed",
}
AREA_KIND_ALIASES = {"piso": "floor", "zona": "zone", "sala": "room", "otro": "other"}
CATEGORY_ALIASES = {
    "kit": "hardware_kit",
    "sensor": "sensor_unit",
    "instalacion": "setup_fee",
    "hora de asesoria": "consulting_hour",
    "repuesto": "spare_part",
}
ROLE_ALIASES = {"miembro": "client_member", "tecnico": "technician"}
IMPORTABLE_ROLES = ("client_member", "technician")
CLIENT_ROLE_ALIASES = {"administrador": "admin", "encargado": "manager", "observador": "viewer"}
LOCAL_ROLE_ALIASES = {"encargado": "manager", "solicitante": "requester", "observador": "viewer"}
TRIGGER_ALIASES = {"fecha": "date", "medidor": "meter"}
UNIT_ALIASES = {"dia": "day", "semana": "week", "mes": "month", "ano": "year", "año": "year"}
ANCHOR_ALIASES = {"calendario": "calendar", "cierre": "completion"}
PRIORITY_ALIASES = {"baja": "low", "media": "medium", "alta": "high", "critica": "critical"}
YES_NO = N_("sí or no (yes or no).")
DATE_HELP = N_("A date: dd-mm-aaaa or aaaa-mm-dd.")
NUMBER_HELP = N_("A number; in es-CL the decimals go after a comma (1.234,5).")


def _values(help_text: str, values: Any) -> str:
    """A help text naming the allowed machine values (kept apart for the notes)."""
    return f"{help_text}|{choices_help(values)}"


declare(
    ImportKind.locales,
    [
        Column(
            "code",
            "código",
            "code",
            code(32),
            True,
            N_("A code of your own, unique in your client: letters, digits, . _ -."),
            "SCL-01",
            "SCL-01",
        ),
        Column(
            "name",
            "nombre",
            "name",
            text(200),
            True,
            N_("The locale's name."),
            "Sucursal Providencia",
            "Providencia branch",
        ),
        Column(
            "address",
            "dirección",
            "address",
            text(500),
            False,
            N_("Street and number."),
            "Av. Providencia 1234",
            "1234 Providencia Ave.",
        ),
        Column(
            "city",
            "comuna",
            "city",
            text(120),
            False,
            N_("City or commune."),
            "Providencia",
            "Providencia",
        ),
        Column(
            "region",
            "región",
            "region",
            text(120),
            False,
            N_("Region."),
            "Metropolitana",
            "Metropolitana",
        ),
        Column(
            "country",
            "país",
            "country",
            text(2),
            False,
            N_("Two-letter country code (default CL)."),
            "CL",
            "CL",
        ),
        Column(
            "timezone",
            "zona horaria",
            "timezone",
            text(64),
            False,
            N_("IANA time zone (default America/Santiago)."),
            "America/Santiago",
            "America/Santiago",
        ),
        Column(
            "latitude", "latitud", "latitude", number, False, NUMBER_HELP, "-33,4263", "-33.4263"
        ),
        Column(
            "longitude", "longitud", "longitude", number, False, NUMBER_HELP, "-70,6100", "-70.6100"
        ),
        Column("is_active", "activo", "active", yes_no, False, YES_NO, "sí", "yes"),
    ],
)
declare(
    ImportKind.areas,
    [
        LOCALE_REF,
        Column(
            "path",
            "ruta",
            "path",
            text(2000),
            True,
            N_("The area's path from the top, parts separated by /; missing parents are created."),
            "Piso 1 / Sala de máquinas",
            "Floor 1 / Plant room",
        ),
        Column(
            "kind",
            "tipo",
            "kind",
            choice(AreaKind, AREA_KIND_ALIASES),
            False,
            _values(N_("What the area is."), AreaKind),
            "sala",
            "room",
        ),
        Column(
            "code",
            "código",
            "code",
            code(32),
            False,
            N_("A code of your own (optional)."),
            "P1-SM",
            "P1-SM",
        ),
        Column(
            "description", "descripción", "description", text(5000), False, N_("Free text."), "", ""
        ),
    ],
)
declare(
    ImportKind.assets,
    [
        LOCALE_REF,
        Column(
            "code",
            "código",
            "code",
            code(32),
            True,
            N_("A code of your own, unique in your client: letters, digits, . _ -."),
            "CH-01",
            "CH-01",
        ),
        Column(
            "name",
            "nombre",
            "name",
            text(200),
            True,
            N_("The asset's name."),
            "Chiller 1",
            "Chiller 1",
        ),
        Column(
            "area",
            "área",
            "area",
            text(2000),
            False,
            N_("The path of an area of the locale (Piso 1 / Sala de máquinas)."),
            "Piso 1 / Sala de máquinas",
            "Floor 1 / Plant room",
        ),
        Column(
            "parent",
            "activo padre",
            "parent",
            text(200),
            False,
            N_(
                "The code or name of the asset it is part of (in this file or stored), same locale."
            ),
            "",
            "",
        ),
        Column(
            "category",
            "categoría",
            "category",
            text(64),
            False,
            N_("A category name of your own."),
            "climatización",
            "hvac",
        ),
        Column("make", "marca", "make", text(120), False, N_("Make."), "Carrier", "Carrier"),
        Column("model", "modelo", "model", text(120), False, N_("Model."), "30XA", "30XA"),
        Column(
            "serial_number",
            "número de serie",
            "serial number",
            text(120),
            False,
            N_("Serial number."),
            "SN-12345",
            "SN-12345",
        ),
        Column(
            "status",
            "estado",
            "status",
            choice(AssetStatus, STATUS_ALIASES),
            False,
            _values(N_("Default operational."), AssetStatus),
            "operativo",
            "operational",
        ),
        Column(
            "install_date",
            "fecha de instalación",
            "install date",
            day,
            False,
            DATE_HELP,
            "15-03-2024",
            "2024-03-15",
        ),
        Column(
            "warranty_end_date",
            "fin de garantía",
            "warranty end",
            day,
            False,
            DATE_HELP,
            "15-03-2027",
            "2027-03-15",
        ),
        Column(
            "criticality",
            "criticidad",
            "criticality",
            integer,
            False,
            N_("1 (low) to 5 (critical); default 3."),
            "4",
            "4",
        ),
        Column("notes", "notas", "notes", text(5000), False, N_("Free text."), "", ""),
    ],
)
add_prefixed(
    ImportKind.assets,
    Prefixed(
        "meter",
        "medidor",
        "meter",
        number,
        N_("One column per meter, named after it: its current reading."),
        "horas",
        "1.250,5",
    ),
)
declare(
    ImportKind.products,
    [
        Column(
            "sku",
            "sku",
            "sku",
            code(64),
            True,
            N_("Your product code, unique in your catalogue."),
            "FIL-001",
            "FIL-001",
        ),
        Column(
            "name",
            "nombre",
            "name",
            text(200),
            True,
            N_("The product's name."),
            "Filtro de aire 24x24",
            "Air filter 24x24",
        ),
        Column(
            "category",
            "categoría",
            "category",
            choice(ProductCategory, CATEGORY_ALIASES),
            True,
            _values(N_("The kind of product."), ProductCategory),
            "repuesto",
            "spare_part",
        ),
        Column(
            "description", "descripción", "description", text(5000), False, N_("Free text."), "", ""
        ),
        Column(
            "unit",
            "unidad",
            "unit",
            unit_code,
            False,
            _values(N_("Unit of measure (default unit)."), list(UNITS)),
            "unidad",
            "unit",
        ),
        Column(
            "price",
            "precio",
            "price",
            read_decimal,
            False,
            N_("Sale price in the currency's units (pesos for CLP)."),
            "12.990",
            "12990",
        ),
        Column(
            "cost",
            "costo",
            "cost",
            read_decimal,
            False,
            N_("Cost in the currency's units."),
            "8.500",
            "8500",
        ),
        Column(
            "currency",
            "moneda",
            "currency",
            text(3),
            False,
            N_("ISO currency code (default CLP)."),
            "CLP",
            "CLP",
        ),
        Column("is_active", "activo", "active", yes_no, False, YES_NO, "sí", "yes"),
        *PRODUCT_STORE_COLUMNS,
    ],
)
declare(
    ImportKind.users,
    [
        Column(
            "email",
            "correo",
            "email",
            text(320),
            True,
            N_("The person's email; they get an invitation to choose a password."),
            "ana@example.cl",
            "ana@example.com",
        ),
        Column(
            "full_name",
            "nombre completo",
            "full name",
            text(200),
            True,
            N_("Name and surname."),
            "Ana Pérez",
            "Ana Perez",
        ),
        Column(
            "role",
            "rol",
            "role",
            choice(IMPORTABLE_ROLES, ROLE_ALIASES),
            True,
            _values(N_("Their role in your client."), IMPORTABLE_ROLES),
            "miembro",
            "client_member",
        ),
        Column(
            "client_role",
            "rol en el cliente",
            "client role",
            choice(ClientRole, CLIENT_ROLE_ALIASES),
            False,
            _values(N_("A client-wide role, for members."), ClientRole),
            "",
            "",
        ),
        Column(
            "locale",
            "local",
            "locale",
            text(200),
            False,
            N_("A locale's code (or exact name) to make them a member of."),
            "SCL-01",
            "SCL-01",
        ),
        Column(
            "local_role",
            "rol en el local",
            "locale role",
            choice(LocalRole, LOCAL_ROLE_ALIASES),
            False,
            _values(N_("Their role in that locale (default viewer)."), LocalRole),
            "encargado",
            "manager",
        ),
    ],
)
declare(
    ImportKind.plans,
    [
        Column(
            "asset", "activo", "asset", code(32), True, N_("The asset's code."), "CH-01", "CH-01"
        ),
        Column(
            "name",
            "nombre",
            "name",
            text(200),
            True,
            N_("The plan's name, unique per asset."),
            "Mantención trimestral",
            "Quarterly service",
        ),
        Column(
            "trigger",
            "disparador",
            "trigger",
            choice(PlanTrigger, TRIGGER_ALIASES),
            False,
            _values(N_("By date (default) or by meter."), PlanTrigger),
            "fecha",
            "date",
        ),
        Column(
            "interval_unit",
            "unidad de intervalo",
            "interval unit",
            choice(IntervalUnit, UNIT_ALIASES),
            False,
            _values(N_("Date plans: the unit of the interval."), IntervalUnit),
            "mes",
            "month",
        ),
        Column(
            "interval_count",
            "cada",
            "every",
            integer,
            False,
            N_("Date plans: how many units between visits."),
            "3",
            "3",
        ),
        Column(
            "anchor",
            "ancla",
            "anchor",
            choice(("calendar", "completion"), ANCHOR_ALIASES),
            False,
            _values(
                N_("Date plans: fixed dates or counted from each completion."),
                ("calendar", "completion"),
            ),
            "calendario",
            "calendar",
        ),
        Column(
            "start_date",
            "fecha de inicio",
            "start date",
            day,
            False,
            DATE_HELP,
            "01-01-2027",
            "2027-01-01",
        ),
        Column(
            "lead_time_days",
            "días de anticipación",
            "lead time days",
            integer,
            False,
            N_("Days before the due date the ticket is created."),
            "7",
            "7",
        ),
        Column(
            "meter_name",
            "medidor",
            "meter",
            text(64),
            False,
            N_("Meter plans: the meter's name."),
            "",
            "",
        ),
        Column(
            "meter_interval",
            "intervalo de medidor",
            "meter interval",
            number,
            False,
            N_("Meter plans: the reading between visits."),
            "",
            "",
        ),
        Column(
            "default_priority",
            "prioridad",
            "priority",
            choice(TicketPriority, PRIORITY_ALIASES),
            False,
            _values(N_("The tickets' priority (default medium)."), TicketPriority),
            "media",
            "medium",
        ),
        Column(
            "description", "descripción", "description", text(5000), False, N_("Free text."), "", ""
        ),
        Column("is_active", "activo", "active", yes_no, False, YES_NO, "sí", "yes"),
    ],
)


# --- shared checks -------------------------------------------------------------------------------


def _client_admin(run: Run) -> uuid.UUID:
    """The caller's client, for the imports only its owner and admins make."""
    principal = run.principal
    if principal.client_id is None or not principal.is_client_admin:
        raise Forbidden(
            gettext("Only the client's owner and admins can import this."), code="import_forbidden"
        )
    return principal.client_id


@dataclass(frozen=True, slots=True)
class LocaleRef:
    """A locale the caller may write into."""

    id: uuid.UUID
    client_id: uuid.UUID
    code: str | None
    name: str


class Locales:
    """The locales the caller may write into, found by code or exact name."""

    def __init__(self, rows: Iterable[LocaleRef]) -> None:
        self.all = list(rows)
        self.by_code = {r.code.casefold(): r for r in self.all if r.code}
        names: dict[str, list[LocaleRef]] = {}
        for r in self.all:
            names.setdefault(r.name.casefold(), []).append(r)
        self.by_name = names

    def find(self, sheet: Sheet, row: Row, key: str) -> LocaleRef | None:
        """The locale a row names (a problem of the row when none or several)."""
        value = str(row.values[key]).casefold()
        found = self.by_code.get(value)
        if found is not None:
            return found
        named = self.by_name.get(value, [])
        if len(named) == 1:
            return named[0]
        sheet.problem(
            row,
            key,
            "locale_not_found",
            gettext("No locale with this code or name that you can write into."),
        )
        return None


async def _writable_locales(run: Run) -> Locales:
    """The caller's writable locales (403 when none: a requester may not import)."""
    columns = cast("Select[Any]", select(Locale.id, Locale.client_id, Locale.code, Locale.name))
    stmt = access.scoped(
        columns,
        Locale,
        run.principal,
        "write",
    )
    rows = [LocaleRef(*r) for r in (await run.session.execute(stmt)).all()]
    if not rows:
        raise Forbidden(gettext("You manage no locale to import into."), code="import_forbidden")
    return Locales(rows)


#: The limited resources as a message names them.
RESOURCE_LABELS: dict[str, str] = {
    "locales": N_("locales"),
    "users": N_("users"),
    "assets": N_("assets"),
    "iot_devices": N_("IoT devices"),
}


async def _plan_limit(run: Run, client_id: uuid.UUID, resource: Resource, adding: int) -> None:
    """The plan's limit for ``adding`` more: a problem of a dry run, a 403 of a real run."""
    if adding == 0:
        return
    try:
        await enforce_plan_limit(run.session, client_id=client_id, resource=resource, adding=adding)
    except PlanLimitExceeded as exc:
        if not run.dry_run:
            raise PlanLimitExceeded(
                gettext(
                    "This import adds {adding} {resource}; the client's plan allows at most "
                    "{maximum} and {current} are in use.",
                    adding=adding,
                    resource=gettext(RESOURCE_LABELS[resource]),
                    maximum=exc.extra.get("maximum"),
                    current=exc.extra.get("current"),
                ),
                **exc.extra,
            ) from None
        run.sheet.problem(
            run.sheet.header_row,
            None,
            "plan_limit_exceeded",
            gettext(
                "This import adds {adding} {resource}; the client's plan allows at most "
                "{maximum} and {current} are in use.",
                adding=adding,
                resource=gettext(RESOURCE_LABELS[resource]),
                maximum=exc.extra.get("maximum"),
                current=exc.extra.get("current"),
            ),
        )


def _duplicate(sheet: Sheet, row: Row, key: str, seen: dict[str, int], value: str) -> bool:
    """Whether ``value`` was already given by an earlier row (a problem of this one)."""
    folded = value.casefold()
    first = seen.get(folded)
    if first is not None:
        sheet.problem(
            row,
            key,
            "duplicate_in_file",
            gettext("Row {row} already has this value.", row=first),
        )
        return True
    seen[folded] = row.number
    return False


def _exists(sheet: Sheet, row: Row, key: str) -> None:
    sheet.problem(
        row,
        key,
        "already_exists",
        gettext("This is already stored; an import only adds new records."),
    )


def _bad_code(sheet: Sheet, row: Row, key: str) -> bool:
    value = row.values.get(key)
    if value is not None and not _CODE.match(str(value)):
        sheet.problem(
            row,
            key,
            "invalid_code",
            gettext("A code has up to 32 letters, digits, dots, dashes or underscores."),
        )
        return True
    return False


def _split_path(sheet: Sheet, row: Row, key: str) -> tuple[str, ...] | None:
    parts = tuple(part.strip() for part in str(row.values[key]).split("/"))
    if any(not part or len(part) > 200 for part in parts):
        sheet.problem(
            row,
            key,
            "invalid_path",
            gettext("Separate the areas with / and name each (at most 200 characters)."),
        )
        return None
    if len(parts) > MAX_AREA_DEPTH:
        sheet.problem(
            row,
            key,
            "area_too_deep",
            gettext("Areas nest at most {max} levels deep.", max=MAX_AREA_DEPTH),
        )
        return None
    return parts


async def _area_paths(
    session: AsyncSession, locale_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, tuple[str, ...]], uuid.UUID]:
    """The stored areas of the locales by (locale, folded path), in one query."""
    ids = list(locale_ids)
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(LocalArea.id, LocalArea.locale_id, LocalArea.parent_id, LocalArea.name).where(
                LocalArea.locale_id.in_(ids)
            )
        )
    ).all()
    by_id = {r.id: r for r in rows}
    paths: dict[uuid.UUID, tuple[str, ...]] = {}

    def path(area_id: uuid.UUID, depth: int = 0) -> tuple[str, ...]:
        known = paths.get(area_id)
        if known is not None:
            return known
        area = by_id[area_id]
        parent = area.parent_id
        above = path(parent, depth + 1) if parent in by_id and depth < MAX_AREA_DEPTH else ()
        paths[area_id] = (*above, area.name.casefold())
        return paths[area_id]

    return {(r.locale_id, path(r.id)): r.id for r in rows}


# --- locales -------------------------------------------------------------------------------------


async def import_locales(run: Run) -> int:
    """Locales of the caller's client (owner and admins), matched by code."""
    sheet = run.sheet
    client_id = _client_admin(run)
    codes = {
        str(c).casefold()
        for c in (
            await run.session.execute(
                select(Locale.code).where(Locale.client_id == client_id, Locale.code.is_not(None))
            )
        ).scalars()
    }
    fields = await read_fields(run.session, sheet, client_id)
    seen: dict[str, int] = {}
    ready: list[LocaleCreate] = []
    for row in sheet.rows:
        if not row.ok:
            continue
        value = str(row.values["code"])
        if _bad_code(sheet, row, "code") or _duplicate(sheet, row, "code", seen, value):
            continue
        if value.casefold() in codes:
            _exists(sheet, row, "code")
            continue
        custom = fields.values(row)
        if custom is None:
            continue
        data = {k: v for k, v in row.values.items() if k != "is_active"}
        if "is_active" in row.values:
            data["is_active"] = row.values["is_active"]
        data["custom_fields"] = custom
        model = sheet.validate(row, LocaleCreate, data)
        if model is not None:
            ready.append(model)
    if sheet.problems:
        return len(ready)
    await _plan_limit(run, client_id, "locales", len(ready))
    if run.writes:
        run.session.add_all(
            Locale(client_id=client_id, **m.model_dump(exclude={"client_id"})) for m in ready
        )
        await run.session.flush()
    return len(ready)


# --- areas ---------------------------------------------------------------------------------------


async def import_areas(run: Run) -> int:
    """Nested areas by path; the parents a path names that do not exist yet are created first."""
    sheet = run.sheet
    locales = await _writable_locales(run)
    defined: dict[tuple[uuid.UUID, tuple[str, ...]], tuple[Row, tuple[str, ...], AreaCreate]] = {}
    seen: dict[str, int] = {}
    targets: list[tuple[Row, LocaleRef, tuple[str, ...]]] = []
    for row in sheet.rows:
        if not row.ok:
            continue
        locale = locales.find(sheet, row, "locale")
        parts = _split_path(sheet, row, "path")
        if locale is None or parts is None or _bad_code(sheet, row, "code"):
            continue
        folded = tuple(p.casefold() for p in parts)
        if _duplicate(sheet, row, "path", seen, f"{locale.id}/{'/'.join(folded)}"):
            continue
        targets.append((row, locale, parts))
    stored = await _area_paths(run.session, {locale.id for _, locale, _ in targets})
    for row, locale, parts in targets:
        folded = tuple(p.casefold() for p in parts)
        if (locale.id, folded) in stored:
            _exists(sheet, row, "path")
            continue
        data: dict[str, Any] = {
            "name": parts[-1],
            **{k: row.values[k] for k in ("kind", "code", "description") if k in row.values},
        }
        model = sheet.validate(row, AreaCreate, data, {"name": "path"})
        if model is not None:
            defined[(locale.id, folded)] = (row, parts, model)
    # Every area to create: the rows' areas and the parents they name that are not stored.
    new: dict[tuple[uuid.UUID, tuple[str, ...]], tuple[str, AreaCreate | None]] = {}
    for (locale_id, folded), (_row, parts, _model) in defined.items():
        for depth in range(1, len(folded) + 1):
            key = (locale_id, folded[:depth])
            if key in stored or key in new:
                continue
            own = defined.get(key)
            new[key] = (parts[depth - 1], own[2] if own is not None else None)
    created_rows = len(defined)
    if sheet.problems or not run.writes:
        return created_rows
    client_of = {r.id: r.client_id for r in locales.all}
    ids = dict(stored)
    areas: list[LocalArea] = []
    for (locale_id, folded), (name, model) in sorted(new.items(), key=lambda item: len(item[0][1])):
        area_id = uuid7()
        ids[(locale_id, folded)] = area_id
        parent = ids.get((locale_id, folded[:-1])) if len(folded) > 1 else None
        areas.append(
            LocalArea(
                id=area_id,
                client_id=client_of[locale_id],
                locale_id=locale_id,
                parent_id=parent,
                name=name,
                kind=(model.kind if model is not None else AreaKind.zone).value,
                code=model.code if model is not None else None,
                description=model.description if model is not None else "",
            )
        )
    run.session.add_all(areas)
    await run.session.flush()
    return created_rows


# --- assets --------------------------------------------------------------------------------------


@dataclass
class _AssetRow:
    row: Row
    locale: LocaleRef
    values: dict[str, Any]
    parent_ref: str | None
    id: uuid.UUID = field(default_factory=uuid7)
    parent_id: uuid.UUID | None = None
    parent_row: _AssetRow | None = None
    depth: int = 0


async def import_assets(run: Run) -> int:
    """Assets by code, in their locale's areas (by path) and under their parents (by code or
    name, in the file or stored), written in bulk."""
    sheet = run.sheet
    session = run.session
    locales = await _writable_locales(run)
    client_id = locales.all[0].client_id
    stored = (
        await session.execute(
            select(Asset.id, Asset.locale_id, Asset.parent_id, Asset.code, Asset.name).where(
                Asset.client_id == client_id
            )
        )
    ).all()
    stored_codes = {r.code.casefold(): r for r in stored if r.code}
    stored_names: dict[tuple[uuid.UUID, str], list[Any]] = {}
    for r in stored:
        stored_names.setdefault((r.locale_id, r.name.casefold()), []).append(r)
    stored_parent = {r.id: r.parent_id for r in stored}
    fields = await read_fields(session, sheet, client_id)
    needs_areas = "area" in sheet.headers
    area_ids = await _area_paths(session, (r.id for r in locales.all)) if needs_areas else {}

    seen: dict[str, int] = {}
    items: list[_AssetRow] = []
    for row in sheet.rows:
        if not row.ok:
            continue
        locale = locales.find(sheet, row, "locale")
        value = str(row.values["code"])
        if _bad_code(sheet, row, "code") or _duplicate(sheet, row, "code", seen, value):
            continue
        if value.casefold() in stored_codes:
            _exists(sheet, row, "code")
            continue
        if locale is None:
            continue
        area_id = None
        if "area" in row.values:
            parts = _split_path(sheet, row, "area")
            if parts is None:
                continue
            area_id = area_ids.get((locale.id, tuple(p.casefold() for p in parts)))
            if area_id is None:
                sheet.problem(
                    row, "area", "area_not_found", gettext("The locale has no area with this path.")
                )
                continue
        custom = fields.values(row)
        values = _asset_values(sheet, row)
        if values is None or custom is None:
            continue
        values["custom_fields"] = custom
        values.update(locale_id=locale.id, area_id=area_id, code=value)
        items.append(_AssetRow(row, locale, values, row.values.get("parent")))

    by_code = {i.values["code"].casefold(): i for i in items}
    by_name: dict[tuple[uuid.UUID, str], list[_AssetRow]] = {}
    for item in items:
        by_name.setdefault((item.locale.id, item.values["name"].casefold()), []).append(item)
    good: list[_AssetRow] = []
    for item in items:
        ref = item.parent_ref
        if ref is not None:
            folded = str(ref).casefold()
            in_file = by_code.get(folded)
            stored_row = stored_codes.get(folded)
            if in_file is None and stored_row is None:
                named = by_name.get((item.locale.id, folded), [])
                named_stored = stored_names.get((item.locale.id, folded), [])
                if len(named) + len(named_stored) > 1:
                    sheet.problem(
                        item.row,
                        "parent",
                        "parent_ambiguous",
                        gettext("Several assets have this name; name the parent by its code."),
                    )
                    continue
                in_file = named[0] if named else None
                stored_row = named_stored[0] if named_stored else None
            if in_file is not None and in_file.locale.id == item.locale.id:
                item.parent_row = in_file
            elif stored_row is not None and stored_row.locale_id == item.locale.id:
                item.parent_id = stored_row.id
            else:
                sheet.problem(
                    item.row,
                    "parent",
                    "parent_not_found",
                    gettext("No asset with this code or name in the row's locale."),
                )
                continue
        good.append(item)
    _asset_depths(sheet, good, stored_parent)
    good = [item for item in good if item.row.ok]
    if sheet.problems:
        return len(good)
    await _plan_limit(run, client_id, "assets", len(good))
    if run.writes:
        await _write_assets(run, sorted(good, key=lambda item: item.depth))
    return len(good)


#: An asset's columns an import sets, with their defaults (``AssetCreate``'s).
_ASSET_DEFAULTS: dict[str, Any] = {
    "category": "",
    "make": "",
    "model": "",
    "serial_number": None,
    "install_date": None,
    "warranty_end_date": None,
    "criticality": 3,
    "notes": "",
}


def _asset_values(sheet: Sheet, row: Row) -> dict[str, Any] | None:
    """A row's asset columns, checked as ``AssetCreate`` checks them (the text lengths, dates
    and numbers were checked as the cells were read): field by field rather than through the
    model, ten thousand rows at a time."""
    given = row.values
    # The defaults, then what the row gives (its other cells, the locale's and parent's
    # references, are read by name and never written as they are).
    values = {**_ASSET_DEFAULTS, **given}
    values["status"] = AssetStatus(given.get("status", AssetStatus.operational))
    meters = row.named.get("meter", {})
    values["meter_readings"] = meters
    ok = True
    if not 1 <= values["criticality"] <= 5:
        sheet.problem(row, "criticality", "out_of_range", gettext("Write a number from 1 to 5."))
        ok = False
    install, warranty = values["install_date"], values["warranty_end_date"]
    if install is not None and warranty is not None and warranty < install:
        sheet.problem(
            row,
            "warranty_end_date",
            "warranty_before_install",
            gettext("The warranty cannot end before the installation."),
        )
        ok = False
    if len(meters) > MAX_METERS or any(not 0 < len(name) <= 64 for name in meters):
        sheet.problem(
            row,
            None,
            "invalid_meters",
            gettext("At most {max} meters, each named in 1 to 64 characters.", max=MAX_METERS),
        )
        ok = False
    return values if ok else None


#: The most meters an asset may have (``AssetCreate``'s ``Meters``).
MAX_METERS = 50


def _asset_depths(
    sheet: Sheet, items: list[_AssetRow], stored_parent: dict[uuid.UUID, uuid.UUID | None]
) -> None:
    """Each row's depth in its tree; a cycle within the file or a tree too deep is a problem."""
    stored_depth: dict[uuid.UUID, int] = {}

    def depth_of_stored(asset_id: uuid.UUID) -> int:
        chain: list[uuid.UUID] = []
        current: uuid.UUID | None = asset_id
        while current is not None and current not in stored_depth and len(chain) <= MAX_ASSET_DEPTH:
            chain.append(current)
            current = stored_parent.get(current)
        base = stored_depth.get(current, 0) if current is not None else 0
        for offset, node in enumerate(reversed(chain), start=1):
            stored_depth[node] = base + offset
        return stored_depth.get(asset_id, MAX_ASSET_DEPTH + 1)

    for item in items:
        path: list[_AssetRow] = []
        current: _AssetRow | None = item
        cycle = False
        while current is not None and current.depth == 0:
            if current in path:
                cycle = True
                break
            path.append(current)
            current = current.parent_row
        if cycle:
            for node in path:
                if node.row.ok:
                    sheet.problem(
                        node.row,
                        "parent",
                        "asset_cycle",
                        gettext("These rows make an asset a part of itself."),
                    )
                node.depth = MAX_ASSET_DEPTH + 1
            continue
        base = current.depth if current is not None else 0
        last = path[-1] if path else None
        if current is None and last is not None and last.parent_id is not None:
            base = depth_of_stored(last.parent_id)
        for offset, node in enumerate(reversed(path), start=1):
            node.depth = base + offset
    for item in items:
        if item.row.ok and item.depth > MAX_ASSET_DEPTH:
            sheet.problem(
                item.row,
                "parent",
                "asset_too_deep",
                gettext("Assets nest at most {max} levels deep.", max=MAX_ASSET_DEPTH),
            )


#: The asset columns an import writes, in the order of its rows.
_ASSET_COLUMNS = (
    "id",
    "client_id",
    "locale_id",
    "area_id",
    "parent_id",
    "name",
    "code",
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
    "custom_fields",
    "created_at",
    "updated_at",
)
#: The columns of an asset's first status change.
_CHANGE_COLUMNS = (
    "id",
    "client_id",
    "locale_id",
    "asset_id",
    "from_status",
    "to_status",
    "changed_at",
    "changed_by_id",
    "reason",
)


async def _write_assets(run: Run, items: list[_AssetRow]) -> None:
    """The assets, their first status change and the audit rows of the assets, each table in
    one ``executemany`` of the driver (``kerops.core.bulk``): no ORM object, no parameter
    processing per value."""
    session = run.session
    now = utcnow()
    user_id = run.principal.user_id
    token = secrets.token_urlsafe
    assets: list[list[Any]] = []
    changes: list[list[Any]] = []
    for item in items:
        values = item.values
        locale = item.locale
        parent_id = item.parent_row.id if item.parent_row is not None else item.parent_id
        status = values["status"]
        assets.append(
            [
                item.id,
                locale.client_id,
                locale.id,
                values["area_id"],
                parent_id,
                values["name"],
                values["code"],
                values["category"],
                values["make"],
                values["model"],
                values["serial_number"],
                status,
                values["install_date"],
                values["warranty_end_date"],
                values["criticality"],
                values["meter_readings"],
                None,
                None,
                token(24),
                values["notes"],
                values["custom_fields"],
                now,
                now,
            ]
        )
        changes.append(
            [uuid7(), locale.client_id, locale.id, item.id, None, status, now, user_id, "created"]
        )
    # One audit row per asset (its status included); its first status change, written with it,
    # is the asset's history and gets no audit row of its own. The audit rows are built in a
    # worker thread while the assets and their status changes are written (the database works
    # meanwhile); the rows are only read there.
    building = asyncio.ensure_future(
        anyio.to_thread.run_sync(
            audit.created_records, session.sync_session, Asset, _ASSET_COLUMNS, assets
        )
    )
    log = cast("Table", audit.log_model().__table__)
    try:
        await bulk.insert_rows(session, cast("Table", Asset.__table__), _ASSET_COLUMNS, assets)
        await bulk.insert_rows(
            session, cast("Table", AssetStatusChange.__table__), _CHANGE_COLUMNS, changes
        )
        log_rows = await building
        await bulk.insert_rows(session, log, audit.LOG_COLUMNS, log_rows, serialised={"changes"})
    except bulk.RowsRefused as exc:
        # Another request stored one of these codes (or QR codes) meanwhile.
        raise Conflict(
            gettext("Some of these assets were stored meanwhile; nothing was imported."),
            code="import_conflict",
        ) from exc
    finally:
        if not building.done():
            await asyncio.wait({building})
    # The technicians' apps learn of them as of any new asset (the sync log, at commit).
    sync_log.touched(session, Asset, (item.id for item in items))


# --- products ------------------------------------------------------------------------------------

#: Currencies whose amounts have no minor units (the rest: cents).
_NO_DECIMALS = frozenset({"CLP", "CLF", "JPY", "KRW", "PYG"})


def _minor(sheet: Sheet, row: Row, key: str, currency: str) -> int | None:
    amount: Decimal = row.values[key]
    exponent = 0 if currency in _NO_DECIMALS else 2
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        sheet.problem(
            row,
            key,
            "too_many_decimals",
            gettext(
                "{currency} amounts have at most {digits} decimals.",
                currency=currency,
                digits=exponent,
            ),
        )
        return None
    return int(scaled)


async def import_products(run: Run) -> int:
    """Products of the client's own catalogue (owner and admins), matched by SKU."""
    sheet = run.sheet
    client_id = _client_admin(run)
    skus = {
        s.casefold()
        for s in (
            await run.session.execute(select(Product.sku).where(Product.client_id == client_id))
        ).scalars()
    }
    seen: dict[str, int] = {}
    ready: list[tuple[ProductCreate, dict[str, Any]]] = []
    stores = await StoreColumns.load(run.session, run.principal, client_id)
    for row in sheet.rows:
        if not row.ok:
            continue
        sku = str(row.values["sku"])
        if _duplicate(sheet, row, "sku", seen, sku):
            continue
        if sku.casefold() in skus:
            _exists(sheet, row, "sku")
            continue
        store = stores.read(sheet, row)
        data = {k: v for k, v in row.values.items() if k not in ("price", "cost", *STORE_KEYS)}
        currency = str(row.values.get("currency", "CLP")).upper()
        data["currency"] = currency
        for key, target in (("price", "price_minor"), ("cost", "cost_minor")):
            if key in row.values:
                data[target] = _minor(sheet, row, key, currency)
        if not row.ok:
            continue
        model = sheet.validate(
            row, ProductCreate, data, {"price_minor": "price", "cost_minor": "cost"}
        )
        if model is not None and store is not None:
            ready.append((model, store))
    if run.writes:
        run.session.add_all(
            Product(client_id=client_id, **m.model_dump(exclude={"client_id", *store}), **store)
            for m, store in ready
        )
        await run.session.flush()
    return len(ready)


# --- users ---------------------------------------------------------------------------------------


async def import_users(run: Run) -> int:
    """People invited into the caller's client (owner and admins), as ``POST /users/invite``
    does: no password, an invitation email each; matched by email."""
    sheet = run.sheet
    client_id = _client_admin(run)
    needs_locales = "locale" in sheet.headers
    locales = await _writable_locales(run) if needs_locales else Locales([])
    emails = [users_service.normalise_email(str(r.values["email"])) for r in sheet.rows if r.ok]
    taken = (
        {
            e
            for e in (
                await run.session.execute(select(User.email).where(User.email.in_(emails)))
            ).scalars()
        }
        if emails
        else set()
    )
    seen: dict[str, int] = {}
    ready: list[tuple[Row, UserInvite]] = []
    for row in sheet.rows:
        if not row.ok:
            continue
        email = users_service.normalise_email(str(row.values["email"]))
        if _duplicate(sheet, row, "email", seen, email):
            continue
        if email in taken:
            _exists(sheet, row, "email")
            continue
        data: dict[str, Any] = {
            k: v
            for k, v in row.values.items()
            if k in ("email", "full_name", "role", "client_role", "local_role")
        }
        if "locale" in row.values:
            locale = locales.find(sheet, row, "locale")
            if locale is None:
                continue
            data["locale_id"] = locale.id
        elif "local_role" in row.values:
            sheet.problem(
                row, "local_role", "locale_required", gettext("Name the locale of this role.")
            )
            continue
        if row.values.get("client_role") is not None and row.values["role"] != "client_member":
            sheet.problem(
                row,
                "client_role",
                "client_role_invalid",
                gettext("Client-wide roles are for the client's members."),
            )
            continue
        model = sheet.validate(row, UserInvite, data, {"locale_id": "locale"})
        if model is not None:
            ready.append((row, model))
    if sheet.problems:
        return len(ready)
    await _plan_limit(run, client_id, "users", len(ready))
    if run.writes:
        await _each(run, ready, _invite)
    return len(ready)


async def _invite(run: Run, invite: UserInvite) -> None:
    _user, message = await users_service.invite_user(
        run.session, run.state, principal=run.principal, invite=invite
    )
    run.messages.append(message)


async def _each(
    run: Run,
    ready: list[tuple[Row, Any]],
    write: Callable[[Run, Any], Awaitable[None]],
) -> None:
    """Write row by row through the module's own service; the first refusal ends the run (and
    its transaction) as a problem of its row."""
    for row, model in ready:
        try:
            await write(run, model)
        except AppError as exc:
            run.sheet.problem(row, None, exc.code, exc.detail)
            return


# --- maintenance plans ---------------------------------------------------------------------------

_DATE_ONLY = ("interval_unit", "interval_count", "anchor", "start_date", "lead_time_days")
_METER_ONLY = ("meter_name", "meter_interval")


async def import_plans(run: Run) -> int:
    """Maintenance plans by asset code, with their recurrence; matched by asset and name."""
    sheet = run.sheet
    session = run.session
    codes = {str(r.values["asset"]) for r in sheet.rows if r.ok}
    columns = cast("Select[Any]", select(Asset.id, Asset.code))
    stmt = access.scoped(columns, Asset, run.principal, "write")
    if not (
        await session.execute(
            access.scoped(select(Locale.id), Locale, run.principal, "write").limit(1)
        )
    ).first():
        raise Forbidden(gettext("You manage no locale to import into."), code="import_forbidden")
    assets = (
        {c: i for i, c in (await session.execute(stmt.where(Asset.code.in_(codes)))).all()}
        if codes
        else {}
    )
    existing = (
        {
            (a, n.casefold())
            for a, n in (
                await session.execute(
                    select(AssetMaintenancePlan.asset_id, AssetMaintenancePlan.name).where(
                        AssetMaintenancePlan.asset_id.in_(list(assets.values()))
                    )
                )
            ).all()
        }
        if assets
        else set()
    )
    seen: dict[str, int] = {}
    ready: list[tuple[Row, tuple[uuid.UUID, PlanCreate]]] = []
    for row in sheet.rows:
        if not row.ok:
            continue
        asset_id = assets.get(str(row.values["asset"]))
        if asset_id is None:
            sheet.problem(
                row,
                "asset",
                "asset_not_found",
                gettext("No asset with this code that you can write into."),
            )
            continue
        name = str(row.values["name"])
        if _duplicate(sheet, row, "name", seen, f"{asset_id}/{name}"):
            continue
        if (asset_id, name.casefold()) in existing:
            _exists(sheet, row, "name")
            continue
        data = {k: v for k, v in row.values.items() if k != "asset"}
        trigger = data.get("trigger", "date")
        wrong = _METER_ONLY if trigger == "date" else _DATE_ONLY
        needed = ("interval_unit", "interval_count") if trigger == "date" else _METER_ONLY
        for key in wrong:
            if key in data:
                sheet.problem(
                    row, key, "field_not_allowed", gettext("Not allowed on a plan of this trigger.")
                )
        for key in needed:
            if key not in data:
                sheet.problem(row, key, "missing", gettext("Required on a plan of this trigger."))
        if not row.ok:
            continue
        model = sheet.validate(row, PlanCreate, data)
        if model is not None:
            ready.append((row, (asset_id, model)))
    if run.writes:
        await _each(run, ready, _create_plan)
    return len(ready)


async def _create_plan(run: Run, item: tuple[uuid.UUID, PlanCreate]) -> None:
    asset_id, data = item
    await plans_service.create_plan(
        run.session, principal=run.principal, asset_id=asset_id, data=data
    )


IMPORTERS: dict[ImportKind, Callable[[Run], Awaitable[int]]] = {
    ImportKind.locales: import_locales,
    ImportKind.areas: import_areas,
    ImportKind.assets: import_assets,
    ImportKind.products: import_products,
    ImportKind.users: import_users,
    ImportKind.plans: import_plans,
}
