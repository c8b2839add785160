"""In-app notifications: who hears of an event, what they read, and their inbox."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, Update, bindparam, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kerops.core import access, formats, sync_log
from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.core.errors import NotFound
from kerops.core.filtering import one_of
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext, ngettext, supported
from kerops.core.labels import label
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.iot import alerts as iot_alerts
from kerops.notifications.models import EmailState, Notification
from kerops.operations.schemas import ticket_code
from kerops.tenancy.models import LocalMember
from kerops.users.models import Client, User

# --- recipients ----------------------------------------------------------------------------------

#: Who hears of each event, by audience:
#: ``managers`` the managers of the event's locale (the client's owner when it has none),
#: ``owner`` the client's owner, ``vendor_admins`` the admins of the event's vendor,
#: ``technician`` and ``requester`` the users the payload names.
AUDIENCES: dict[str, tuple[str, ...]] = {
    "ticket.created": ("managers",),
    "ticket.assigned": ("technician", "vendor_admins"),
    "ticket.status_changed": ("requester", "managers"),
    "sla.warning": ("managers",),
    "sla.breached": ("managers", "owner"),
    "plan.generated": ("managers",),
    "sensor.alert": ("managers",),
    "certification.expiring": ("technician", "owner", "vendor_admins"),
    "stock.low": ("managers", "owner"),
}


def _payload_id(event: Event, key: str) -> uuid.UUID | None:
    value = (event.payload or {}).get(key)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to notify of an event."""

    id: uuid.UUID
    email: str | None
    language: str = DEFAULT_LANGUAGE
    timezone: str | None = None


@functools.lru_cache(maxsize=256)
def _recipients_query(
    audiences: frozenset[str], named: tuple[str, ...], *, by_vendor: bool, by_client: bool
) -> Select[uuid.UUID, str, str, str, bool, bool, bool]:
    """The recipients statement for one shape of event (its audiences, which people its payload
    names, whether it has a vendor and a client), with the event's values as parameters: built
    and compiled once per shape, not per event."""
    managers = select(LocalMember.user_id).where(
        LocalMember.client_id == bindparam("client_id"),
        LocalMember.locale_id == bindparam("locale_id"),
        LocalMember.role == LocalRole.manager,
    )
    # A client-wide manager manages every locale of the client (``belongs`` keeps it the event's).
    client_wide_manager = (User.role == UserRole.client_member) & (
        User.client_role == ClientRole.manager
    )
    is_manager = (
        or_(User.id.in_(managers.scalar_subquery()), client_wide_manager)
        if "managers" in audiences and by_client
        else false()
    )
    is_vendor_admin = (
        (User.vendor_id == bindparam("vendor_id")) & (User.role == UserRole.vendor_admin)
        if "vendor_admins" in audiences and by_vendor
        else false()
    )
    wanted: list[Any] = [is_manager, is_vendor_admin]
    wanted += [User.id == bindparam(f"{key}_id") for key in named]
    is_owner = User.role == UserRole.client_owner if by_client else false()
    if by_client and audiences & {"owner", "managers"}:
        wanted.append(is_owner)
    # Only people of the event's client or vendor, whatever a payload names.
    belongs = [User.client_id == bindparam("client_id")] if by_client else []
    if by_vendor:
        belongs.append(User.vendor_id == bindparam("vendor_id"))
    # A person who chose no language reads their client's default one.
    language = func.coalesce(User.language, Client.language).label("language")
    return (
        select(User.id, User.email, language, User.timezone, is_manager, is_vendor_admin, is_owner)
        .outerjoin(Client, Client.id == User.client_id)
        .where(or_(*wanted), or_(*belongs), User.is_active.is_(True))
    )


async def recipients(session: AsyncSession, event: Event) -> list[Recipient]:
    """The active users to notify of ``event``: its audiences, never the actor (one query)."""
    audiences = frozenset(AUDIENCES.get(event.type, ()))
    if not audiences or (event.client_id is None and event.vendor_id is None):
        return []
    named = {
        key: person
        for key in ("technician", "requester")
        if key in audiences and (person := _payload_id(event, f"{key}_id")) is not None
    }
    stmt = _recipients_query(
        audiences,
        tuple(named),
        by_vendor=event.vendor_id is not None,
        by_client=event.client_id is not None,
    )
    params: dict[str, Any] = {f"{key}_id": person for key, person in named.items()}
    params.update(client_id=event.client_id, locale_id=event.locale_id, vendor_id=event.vendor_id)
    rows = (await session.execute(stmt, params)).all()
    any_manager = any(bool(row[4]) for row in rows)
    actor = _payload_id(event, "actor_id")
    chosen: list[Recipient] = []
    for user_id, email, language, timezone, manager, vendor_admin, owner in rows:
        is_owner = bool(owner)
        reasons = (
            bool(manager),
            bool(vendor_admin),
            user_id in named.values(),
            is_owner and "owner" in audiences,
            # The owner stands in for the managers of a locale that has none.
            is_owner and "managers" in audiences and not any_manager,
        )
        if any(reasons) and user_id != actor:
            chosen.append(Recipient(user_id, email, language, timezone))
    return sorted(chosen, key=lambda u: u.id)


# --- what a notification says --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """The title, body and link of a notification, in one reader's language."""

    title: str
    body: str
    link: str | None


#: Where a notification points: a route of the API that shows its subject (a test checks each
#: against the app's routes).
LINKS = {
    "ticket": "/api/v1/tickets/{id}",
    "certification": "/api/v1/technicians/certifications/{id}",
    "asset": "/api/v1/assets/{id}",
    "device": "/api/v1/iot-devices/{id}",
}


def _ticket_ref(data: dict[str, Any]) -> str:
    number = data.get("number")
    return ticket_code(number) if isinstance(number, int) else ""


def _when(data: dict[str, Any], key: str, language: str, timezone: str | None) -> str:
    at = formats.parse_instant(data.get(key))
    return formats.format_datetime(at, language, timezone=timezone) if at else "?"


def _sla(event: Event, data: dict[str, Any], language: str) -> str:
    """The title of an SLA alert: which target (response or resolution), near or passed."""
    ref = _ticket_ref(data)
    response = data.get("target") == "response"
    if event.type == "sla.warning":
        if response:
            return gettext("Response due soon: ticket {number}", language, number=ref)
        return gettext("Resolution due soon: ticket {number}", language, number=ref)
    if response:
        return gettext("Response overdue: ticket {number}", language, number=ref)
    return gettext("Resolution overdue: ticket {number}", language, number=ref)


def _title(event: Event, data: dict[str, Any], language: str) -> str:
    ref = _ticket_ref(data)
    title_of = str(data.get("title") or "")
    match event.type:
        case "ticket.created":
            return gettext("New ticket {number}: {title}", language, number=ref, title=title_of)
        case "ticket.assigned":
            return gettext(
                "Ticket {number} assigned: {title}", language, number=ref, title=title_of
            )
        case "ticket.status_changed":
            status = label("ticket_status", data.get("status", ""), language)
            return gettext("Ticket {number} is now {status}", language, number=ref, status=status)
        case "sla.warning" | "sla.breached":
            return _sla(event, data, language)
        case "plan.generated":
            return gettext("Preventive work generated: ticket {number}", language, number=ref)
        case "sensor.alert":
            rule = str(data.get("rule_name") or "")
            return gettext("Sensor alert: {rule}", language, rule=rule)
        case "certification.expiring":
            days = data.get("days_left")
            return ngettext(
                "Licence {cert_type} expires in {n} day",
                "Licence {cert_type} expires in {n} days",
                days if isinstance(days, int) else 0,
                language,
                cert_type=str(data.get("cert_type") or ""),
            )
        case "stock.low":
            return gettext("Stock is low", language)
    return label("notification_type", event.type, language)


def _body(event: Event, data: dict[str, Any], language: str, timezone: str | None) -> str:
    title_of = str(data.get("title") or "")
    match event.type:
        case "ticket.status_changed":
            return gettext(
                "{title} ({from_status} → {status})",
                language,
                title=title_of,
                from_status=label("ticket_status", data.get("from_status", "?"), language),
                status=label("ticket_status", data.get("status", "?"), language),
            )
        case "sla.warning":
            return gettext(
                "{title}. Due on {due_at}.",
                language,
                title=title_of,
                due_at=_when(data, "due_at", language, timezone),
            )
        case "sla.breached":
            return gettext(
                "{title}. It was due on {due_at}.",
                language,
                title=title_of,
                due_at=_when(data, "due_at", language, timezone),
            )
        case "plan.generated":
            if data.get("due_at"):
                return gettext(
                    "{title}. Due on {due_at}.",
                    language,
                    title=title_of,
                    due_at=_when(data, "due_at", language, timezone),
                )
            return title_of
        case "sensor.alert":
            return iot_alerts.describe_payload(data, language, timezone)
        case "certification.expiring":
            day = formats.parse_day(data.get("expires_date"))
            return gettext(
                "Licence {number} expires on {date}.",
                language,
                number=str(data.get("number") or ""),
                date=formats.format_day(day, language) if day else "?",
            )
    return title_of or str(data.get("message") or "")


def _link(event: Event, data: dict[str, Any]) -> str | None:
    if event.type == "sensor.alert":
        # About a rule; the place to act is the ticket it raised or commented on.
        ticket_id = _payload_id(event, "ticket_id")
        return LINKS["ticket"].format(id=ticket_id) if ticket_id else None
    if event.subject_type in LINKS and event.subject_id is not None:
        return LINKS[event.subject_type].format(id=event.subject_id)
    return None


def render(event: Event, language: str | None = None, *, timezone: str | None = None) -> Message:
    """What a notification of ``event`` says to a reader of ``language`` in ``timezone`` (from
    its type and payload; dates in the reader's time zone and format)."""
    lang = supported(language) or DEFAULT_LANGUAGE
    data: dict[str, Any] = event.payload or {}
    title = _title(event, data, lang)
    body = _body(event, data, lang, timezone)
    return Message(title=" ".join(title.split())[:200], body=body[:2000], link=_link(event, data))


def _insert_new(insert: Callable[[Table], Any]) -> Any:
    table: Table = Notification.__table__  # type: ignore[assignment]
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
        .returning(table.c.id)
    )


#: ``notify``'s INSERT, run with one parameter set per recipient (SQLAlchemy sends them as one
#: multi-row INSERT): built once and compiled once. The same statement with the rows as
#: ``.values([...])`` cannot be cached and was compiled again for every event.
_INSERT_NEW = {"postgresql": _insert_new(postgresql.insert), "sqlite": _insert_new(sqlite.insert)}


@dataclass(frozen=True, slots=True)
class Written:
    """A notification ``notify`` wrote, what it says (in its recipient's language), with the
    address to email it to when it is to be emailed (then written already claimed: ``sending``,
    its first attempt)."""

    id: uuid.UUID
    user_id: uuid.UUID
    email_state: EmailState
    message: Message
    address: str | None = None


async def notify(session: AsyncSession, event: Event, *, email: bool) -> list[Written]:
    """Write the notifications of ``event`` that do not exist yet (idempotent: one statement,
    skipping the (event, user) pairs written by an earlier delivery); the new ones.

    Each is rendered in its recipient's language and time zone and stored so: the inbox and a
    later email show the text as written (a recipient who changes language sees new
    notifications in the new one).

    With ``email``, the ones whose recipient has an address are written claimed for emailing
    (``sending``, attempt 1, ``emailed_at`` the claim time): the caller sends them once this
    transaction commits, and marks them with :func:`mark_emailed`. A claim never marked (the
    process died) expires like any other and the email sweep sends it."""
    users = await recipients(session, event)
    if not users:
        return []
    now = utcnow()
    rendered: dict[tuple[str, str | None], Message] = {}
    wanted: list[Written] = []
    for user in users:
        key = (user.language, user.timezone)
        if key not in rendered:
            rendered[key] = render(event, user.language, timezone=user.timezone)
        wanted.append(
            Written(
                id=uuid7(),
                user_id=user.id,
                email_state=EmailState.sending if email and user.email else EmailState.none,
                message=rendered[key],
                address=user.email if email and user.email else None,
            )
        )
    rows = [
        {
            "id": w.id,
            "user_id": w.user_id,
            "client_id": event.client_id,
            "event_id": event.id,
            "type": event.type,
            "title": w.message.title,
            "body": w.message.body,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "link": w.message.link,
            "created_at": now,
            "email_state": w.email_state,
            "emailed_at": now if w.address else None,
            "email_attempts": 1 if w.address else 0,
        }
        for w in wanted
    ]
    stmt = _INSERT_NEW[session.get_bind().dialect.name]
    new = set((await session.execute(stmt, rows)).scalars())
    sync_log.touched(session, Notification, new)
    return [w for w in wanted if w.id in new]


def _mark_emailed(dialect_name: str) -> Update:
    table: Table = Notification.__table__  # type: ignore[assignment]
    return (
        update(table)
        .where(
            one_of(table.c.id, "ids", dialect_name),
            table.c.email_state == EmailState.sending,
        )
        .values(email_state=bindparam("state"), emailed_at=bindparam("at"))
    )


#: ``mark_emailed``'s UPDATE, per dialect: only notifications still claimed (a later claim,
#: after this one expired, is left to whoever took it). Built once; the number of ids changes
#: with every event (see ``one_of``).
_MARK_EMAILED = {name: _mark_emailed(name) for name in ("postgresql", "sqlite")}


async def mark_emailed(
    conn: AsyncConnection, *, sent: list[uuid.UUID], failed: list[uuid.UUID]
) -> None:
    """Record the outcome of claimed emails: ``sent``, or ``pending`` again for a later try
    (these were first attempts). On ``conn``, through SQLAlchemy Core: no session is needed for
    one UPDATE (nor audited: notifications are not)."""
    now = utcnow()
    stmt = _MARK_EMAILED[conn.dialect.name]
    for ids, state in ((sent, EmailState.sent), (failed, EmailState.pending)):
        if ids:
            await conn.execute(stmt, {"ids": ids, "state": state, "at": now})


# --- the inbox -----------------------------------------------------------------------------------

NOTIFICATION_SORTS = {"created_at": Notification.created_at, "id": Notification.id}


def _inbox(principal: Principal) -> Select[Any]:
    # Scoped like everything else, and personal for platform staff too.
    stmt = access.scoped(select(Notification), Notification, principal)
    return stmt.where(Notification.user_id == principal.user_id)


async def list_notifications(
    reader: Reader,
    *,
    params: PageParams,
    unread: bool | None = None,
    event_type: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's notifications, newest first by default."""
    # Scoped like everything else, and personal for platform staff too.
    stmt = reader.rows(Notification).where(Notification.user_id == reader.principal.user_id)
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    if event_type is not None:
        stmt = stmt.where(Notification.type == event_type)
    if updated_since is not None:
        stmt = stmt.where(Notification.updated_at >= updated_since)
    return await reader.page(
        stmt,
        params,
        sort_fields=NOTIFICATION_SORTS,
        id_column=Notification.id,
        default_sort="-created_at",
    )


async def unread_count(session: AsyncSession, *, principal: Principal) -> int:
    """How many of the caller's notifications are unread."""
    inbox = _inbox(principal).where(Notification.read_at.is_(None)).subquery()
    stmt = select(func.count()).select_from(inbox)
    return int((await session.execute(stmt)).scalar_one())


async def mark_read(
    session: AsyncSession, *, principal: Principal, notification_id: uuid.UUID
) -> Notification:
    """Mark one of the caller's notifications read (again: no change)."""
    notification = await access.get_scoped(
        session, Notification, notification_id, principal, "write"
    )
    if notification.user_id != principal.user_id:
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, *, principal: Principal) -> int:
    """Mark every unread notification of the caller read; how many were."""
    stmt = (
        update(Notification)
        .where(
            access.predicate(Notification, principal, "write"),
            Notification.user_id == principal.user_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    marked = list((await session.execute(stmt)).scalars())
    sync_log.touched(session, Notification, marked)
    return len(marked)
