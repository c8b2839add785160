"""Access scoping: the ONE place that decides which rows a principal may read or change.

Every repository builds its queries through :func:`scoped` (or loads single objects through
:func:`get_scoped`), so an object outside the caller's reach is simply not found (404) and never
appears in a list. Rules are keyed by model and registered by the module owning the model
(``kerops.<domain>.access_rules``, imported by ``kerops.modules.install``): this module names no
domain. A model without a rule is visible to platform staff only, so forgetting to add a rule
(or a module's ``access_rules``) fails closed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import LocalRole, UserRole
from kerops.core.errors import Forbidden, NotFound
from kerops.core.filtering import one_of
from kerops.core.i18n import N_, gettext
from kerops.core.models import Base
from kerops.core.principal import Principal

Action = Literal["read", "write"]
M = TypeVar("M", bound=Base)
Rule = Callable[[Principal, Action], ColumnElement[bool]]

_RULES: dict[type[Base], Rule] = {}
#: Statements ``get_scoped`` keeps (each a few KB): the principals active in this process, times
#: the models they open one by one.
GET_STATEMENTS = 2048


#: Rows more principals read through another module's objects (a technician reads the
#: premises of their tickets): ORed into the read rule of the model, by the module that knows.
Reach = Callable[[Principal], ColumnElement[bool]]
_READ_REACH: dict[type[Base], list[Reach]] = {}
MemberLocales = Callable[[Principal, tuple[LocalRole, ...] | None], Any]
ManagesALocale = Callable[[Principal], ColumnElement[bool]]
_MEMBERSHIP: dict[str, Any] = {}


def rule(*models: type[Base]) -> Callable[[Rule], Rule]:
    """Register the scoping rule of one or more models."""

    def register(fn: Rule) -> Rule:
        for model in models:
            _RULES[model] = fn
            _PARENTS.pop(model, None)
        return fn

    return register


def reach(model: type[Base]) -> Callable[[Reach], Reach]:
    """Register a way principals also read rows of ``model`` (ORed into its read rule; a model
    without a rule stays hidden)."""

    def register(fn: Reach) -> Reach:
        found = _READ_REACH.setdefault(model, [])
        if fn not in found:
            found.append(fn)
        return fn

    return register


def membership(*, member_locales: MemberLocales, manages_a_locale: ManagesALocale) -> None:
    """Register how locale membership is read (by the module owning it): the rules of other
    modules scope by it without importing that module."""
    _MEMBERSHIP["member_locales"] = member_locales
    _MEMBERSHIP["manages_a_locale"] = manages_a_locale


def _membership(name: str) -> Any:
    if name not in _MEMBERSHIP:
        raise RuntimeError("no module registered locale membership (kerops.core.access)")
    return _MEMBERSHIP[name]


def member_locale_ids(principal: Principal, roles: tuple[LocalRole, ...] | None = None) -> Any:
    """Subquery of the locales where the principal is a member (optionally with given roles)."""
    return _membership("member_locales")(principal, roles)


def manages_a_locale(principal: Principal) -> ColumnElement[bool]:
    """Whether the principal manages a locale of their client (an EXISTS)."""
    fn: ManagesALocale = _membership("manages_a_locale")
    return fn(principal)


def locale_predicate(locale_col: Any, client_col: Any, p: Principal, action: Action) -> Any:
    """Rows of a locale: everyone of its client who reaches every locale (the owner, an admin,
    a client-wide manager; a client-wide viewer to read), and its members (its managers to
    write)."""
    if p.client_id is None:
        return false()
    same_client = client_col == p.client_id
    if p.reaches_every_locale(action):
        return same_client
    if p.role is not UserRole.client_member:
        # Technicians and vendor admins reach a locale only through work assigned to them.
        return false()
    roles = (LocalRole.manager,) if action == "write" else None
    return same_client & locale_col.in_(member_locale_ids(p, roles))


def locale_rule(model: Any) -> Rule:
    """The rule of a model with ``locale_id`` and ``client_id``: its locale's."""

    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        return locale_predicate(model.locale_id, model.client_id, p, action)  # type: ignore[no-any-return]

    return fn


def client_rule(model: Any) -> Rule:
    """The rule of a client's configuration (``client_id``): read by its people, changed by its
    owner and its admins."""

    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        if p.client_id is None:
            return false()
        if action == "write" and not p.is_client_admin:
            return false()
        return model.client_id == p.client_id  # type: ignore[no-any-return]

    return fn


@dataclass(frozen=True)
class Parent:
    """What a child model follows: the parent model, the child's column pointing at it, and the
    action on the parent that writing the child needs."""

    model: type[Base]
    column: Any
    write: Action


_PARENTS: dict[type[Base], Parent] = {}


def follows(model: type[Base], column: Any, parent: type[Base], *, write: Action = "write") -> None:
    """Register the rule of a child model, whose rows have no rights of their own: a row may be
    read by whoever may read its parent (``column`` points at the parent's id), and changed by
    whoever may ``write`` the parent (its ``"write"``; ``"read"`` where readers of the parent add
    to it, as to a ticket's comments). The rule is an EXISTS over the parent's own predicate
    (its reaches included), so it composes: a child of a child follows its grandparent."""
    if parent is model:
        raise ValueError("a model cannot follow itself (a tree needs a rule of its own)")
    parent_id = parent.__table__.c.id  # type: ignore[attr-defined]
    table = model.__table__  # type: ignore[attr-defined]

    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        through = predicate(parent, p, write if action == "write" else "read")
        if through is false():
            return false()
        return exists().where(parent_id == column, through).correlate(table)

    _RULES[model] = fn
    _PARENTS[model] = Parent(parent, column, write)


def parent_of(model: type[Base]) -> Parent | None:
    """What ``model`` follows (``follows``), if it is a child model."""
    return _PARENTS.get(model)


def predicate(model: type[Base], principal: Principal, action: Action = "read") -> Any:
    """The WHERE clause limiting ``model`` to what ``principal`` may ``action``."""
    if principal.is_staff:
        return true()
    fn = _RULES.get(model)
    if fn is None:
        return false()
    own = fn(principal, action)
    reaches = _READ_REACH.get(model)
    if action == "read" and reaches:
        return or_(own, *(reach(principal) for reach in reaches))
    return own


def scoped(
    stmt: Select[Any], model: type[Base], principal: Principal, action: Action = "read"
) -> Select[Any]:
    """Limit a SELECT over ``model`` to the rows ``principal`` may ``action``."""
    return stmt.where(predicate(model, principal, action))


@functools.lru_cache(maxsize=GET_STATEMENTS)
def _get_statement(
    model: type[Base], principal: Principal, action: Action, for_update: bool
) -> Select[Any]:
    """``get_scoped``'s SELECT, the object's id a bound parameter: built once per model,
    principal, action and lock, so its SQLAlchemy cache key is computed once too (building a
    scoped select and its key costs more than the database's answer). The rules are functions of
    the principal alone; a changed principal (another role, client, scope) is another key."""
    stmt = scoped(select(model), model, principal, action).where(
        model.id == bindparam("object_id")  # type: ignore[attr-defined]
    )
    return stmt.with_for_update() if for_update else stmt


async def get_scoped(
    session: AsyncSession,
    model: type[M],
    object_id: uuid.UUID,
    principal: Principal,
    action: Action = "read",
    *,
    for_update: bool = False,
) -> M:
    """Load one object the principal may ``action``, or raise 404 (never telling why)."""
    stmt = _get_statement(model, principal, action, for_update)
    obj: M | None = (await session.execute(stmt, {"object_id": object_id})).scalar_one_or_none()
    if obj is None:
        raise NotFound(not_found_detail(model))
    return obj


async def get_scoped_row(
    session: AsyncSession,
    model: type[Base],
    object_id: uuid.UUID,
    principal: Principal,
    action: Action = "read",
) -> RowMapping:
    """``get_scoped``'s row of table columns instead of an ORM object, in the session's
    transaction: for a write that only checks an object it points at (no identity map, no
    attribute instrumentation). 404 like ``get_scoped``. Run on the session's connection, it
    does not flush the session first: call it before changing anything."""
    stmt = row_statement(model, principal, action)
    # On the session's connection: a Core statement needs none of the session's execution path.
    conn = await session.connection()
    row: RowMapping | None = (await conn.execute(stmt, {"object_id": object_id})).mappings().first()
    if row is None:
        raise NotFound(not_found_detail(model))
    return row


@functools.lru_cache(maxsize=GET_STATEMENTS)
def row_statement(model: type[Base], principal: Principal, action: Action = "read") -> Select[Any]:
    """``get_scoped``'s SELECT as table columns (Core): the same rules, the same parameter
    (``object_id``). Built once per model, principal and action, so the direct reads compile it
    once per kind of caller."""
    return scoped_rows(model, principal, action).where(
        model.__table__.c.id == bindparam("object_id")  # type: ignore[attr-defined]
    )


@functools.cache
def _rows(model: type[Base]) -> Select[Any]:
    """A SELECT of the model's table columns, built once per model (coercing ~45 columns costs
    more than the rest of a list's statement)."""
    return select(*model.__table__.columns)  # type: ignore[attr-defined]


def scoped_rows(model: type[Base], principal: Principal, action: Action = "read") -> Select[Any]:
    """``scoped`` over the model's columns instead of its ORM entity: for reads that show rows
    (no ORM objects; ``kerops.core.reads``)."""
    return scoped(_rows(model), model, principal, action)


@functools.lru_cache(maxsize=GET_STATEMENTS)
def readable_statement(model: type[Base], principal: Principal, dialect_name: str) -> Select[Any]:
    """``readable_ids``' SELECT, the ids one list parameter (``object_ids``): built once per
    model, principal and dialect (``one_of``)."""
    id_column = model.__table__.c.id  # type: ignore[attr-defined]
    return scoped(select(id_column), model, principal).where(
        one_of(id_column, "object_ids", dialect_name)
    )


async def readable_ids(
    session: AsyncSession, model: type[Base], ids: Iterable[uuid.UUID], principal: Principal
) -> set[uuid.UUID]:
    """Which of ``ids`` the principal may read (of the objects that exist): one statement for
    any number of ids, none for no ids (``Reader.readable_ids`` without a session)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    stmt = readable_statement(model, principal, session.get_bind().dialect.name)
    return set((await session.execute(stmt, {"object_ids": wanted})).scalars())


#: The detail of each table's 404 (by table name: core names no domain), translated when raised.
_NOT_FOUND: dict[str, str] = {
    "api_keys": N_("api key not found"),
    "app_versions": N_("app version not found"),
    "asset_bom": N_("asset bom not found"),
    "asset_maintenance_plans": N_("asset maintenance plan not found"),
    "asset_status_changes": N_("asset status change not found"),
    "assets": N_("asset not found"),
    "audit_logs": N_("audit log not found"),
    "certification_reminders": N_("certification reminder not found"),
    "clients": N_("client not found"),
    "custom_field_definitions": N_("custom field not found"),
    "events": N_("event not found"),
    "idempotency_keys": N_("idempotency key not found"),
    "identity_providers": N_("identity provider not found"),
    "inventory_movements": N_("stock movement not found"),
    "inventory_stock": N_("stock row not found"),
    "inventory_transfers": N_("transfer not found"),
    "iot_devices": N_("iot device not found"),
    "iot_readings": N_("iot reading not found"),
    "iot_rules": N_("iot rule not found"),
    "job_outbox": N_("job outbox not found"),
    "labour_rates": N_("labour rate not found"),
    "local_areas": N_("local area not found"),
    "local_members": N_("local member not found"),
    "locales": N_("locale not found"),
    "notifications": N_("notification not found"),
    "otp_codes": N_("otp code not found"),
    "plan_limits": N_("plan limit not found"),
    "plan_occurrences": N_("plan occurrence not found"),
    "products": N_("product not found"),
    "purchase_approval_rules": N_("approval rule not found"),
    "purchase_order_events": N_("purchase order event not found"),
    "purchase_order_lines": N_("purchase order line not found"),
    "purchase_orders": N_("purchase order not found"),
    "purchasing_settings": N_("purchasing settings not found"),
    "refresh_tokens": N_("refresh token not found"),
    "report_deliveries": N_("report delivery not found"),
    "report_schedules": N_("report schedule not found"),
    "reports": N_("report not found"),
    "scan_follow_links": N_("follow-up link not found"),
    "service_tickets": N_("service ticket not found"),
    "settings": N_("setting not found"),
    "sla_policies": N_("sla policy not found"),
    "stock_count_lines": N_("stock count line not found"),
    "stock_counts": N_("stock count not found"),
    "stock_reservations": N_("reservation not found"),
    "sync_changes": N_("change not found"),
    "technician_certifications": N_("technician certification not found"),
    "technician_shifts": N_("technician shift not found"),
    "ticket_attachments": N_("ticket attachment not found"),
    "ticket_comments": N_("ticket comment not found"),
    "ticket_counters": N_("ticket counter not found"),
    "ticket_history": N_("ticket history not found"),
    "ticket_tasks": N_("ticket task not found"),
    "ticket_work_logs": N_("work log not found"),
    "users": N_("user not found"),
    "vendors": N_("vendor not found"),
    "warehouses": N_("warehouse not found"),
    "webhook_deliveries": N_("webhook delivery not found"),
    "webhook_subscriptions": N_("webhook subscription not found"),
    "workflow_steps": N_("workflow step not found"),
    "workflows": N_("workflow not found"),
}


def not_found_detail(model: type[Base]) -> str:
    """The detail of the 404 for an object of ``model`` out of reach (never telling why), in
    the request's language."""
    text = _NOT_FOUND.get(model.__tablename__)
    return gettext(text) if text is not None else gettext("Not found")


async def get_for_write(
    session: AsyncSession,
    model: type[M],
    object_id: uuid.UUID,
    principal: Principal,
    *,
    for_update: bool = False,
) -> M:
    """Load an object to change: 404 when the caller cannot see it, 403 when they only read it."""
    try:
        return await get_scoped(
            session, model, object_id, principal, "write", for_update=for_update
        )
    except NotFound:
        if await can(session, model, object_id, principal, "read"):
            raise Forbidden(gettext("You may read this but not change it.")) from None
        raise


async def can(
    session: AsyncSession,
    model: type[Base],
    object_id: uuid.UUID,
    principal: Principal,
    action: Action = "read",
) -> bool:
    """Whether the principal may ``action`` the object (used to re-check after a write)."""
    stmt = scoped(select(model.id), model, principal, action).where(model.id == object_id)  # type: ignore[attr-defined]
    return (await session.execute(stmt)).first() is not None


async def ensure_still_in_scope(
    session: AsyncSession, obj: Base, principal: Principal, action: Action = "write"
) -> None:
    """After a write, refuse it if it moved the object out of the caller's reach."""
    await session.flush()
    if not await can(session, type(obj), obj.id, principal, action):  # type: ignore[attr-defined]
        raise Forbidden(gettext("this change would move the object out of your reach"))
