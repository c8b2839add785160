"""Access scoping: the ONE place that decides which rows a principal may read or change.

Every repository builds its queries through :func:`scoped` (or loads single objects through
:func:`get_scoped`), so an object outside the caller's reach is simply not found (404) and never
appears in a list. Rules are keyed by model; a model without a rule is visible to platform staff
only, so forgetting to add a rule fails closed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
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
from starlette.responses import Response

from kerops.assets.models import Asset, AssetBOM, AssetMaintenancePlan, AssetStatusChange
from kerops.audit.models import AuditLog
from kerops.auth.models import ApiKey, IdentityProvider
from kerops.core.enums import LocalRole, UserRole
from kerops.core.errors import Forbidden, NotFound, Unprocessable, field_error
from kerops.core.filtering import one_of
from kerops.core.models import Base
from kerops.core.pagination import Page
from kerops.core.principal import Principal
from kerops.core.reads import Reader, StatementRunner, document
from kerops.inventory.models import Product
from kerops.iot.models import IoTDevice, IoTRule
from kerops.notifications.models import (  # [notifications]
    Notification,
    WebhookDelivery,
    WebhookSubscription,
)
from kerops.operations.models import (
    ServiceTicket,
    SlaPolicy,
    TicketAttachment,
    TicketComment,
    TicketHistory,
    TicketTask,
    Workflow,
    WorkflowStep,
)
from kerops.system.models import AppVersion, PlanLimit, Setting
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.users.models import User, Vendor
from kerops.workforce.models import TechnicianCertification, TechnicianShift

Action = Literal["read", "write"]
M = TypeVar("M", bound=Base)
Rule = Callable[[Principal, Action], ColumnElement[bool]]

_RULES: dict[type[Base], Rule] = {}
#: Statements ``get_scoped`` keeps (each a few KB): the principals active in this process, times
#: the models they open one by one.
GET_STATEMENTS = 2048


def rule(*models: type[Base]) -> Callable[[Rule], Rule]:
    """Register the scoping rule of one or more models."""

    def register(fn: Rule) -> Rule:
        for model in models:
            _RULES[model] = fn
        return fn

    return register


def member_locale_ids(principal: Principal, roles: tuple[LocalRole, ...] | None = None) -> Any:
    """Subquery of the locales where the principal is a member (optionally with given roles)."""
    stmt = select(LocalMember.locale_id).where(LocalMember.user_id == principal.user_id)
    if roles:
        stmt = stmt.where(LocalMember.role.in_(roles))
    return stmt.scalar_subquery()


def _locale_predicate(locale_col: Any, client_col: Any, p: Principal, action: Action) -> Any:
    if p.client_id is None:
        return false()
    same_client = client_col == p.client_id
    if p.is_client_owner:
        return same_client
    if p.role is not UserRole.client_member:
        # Technicians and vendor admins reach a locale only through work assigned to them.
        return false()
    roles = (LocalRole.manager,) if action == "write" else None
    return same_client & locale_col.in_(member_locale_ids(p, roles))


@rule(Locale)
def _locales(p: Principal, action: Action) -> ColumnElement[bool]:
    own = _locale_predicate(Locale.id, Locale.client_id, p, action)
    if action == "read":
        # Technicians and vendor admins read the premises they are sent to.
        return or_(own, _through_assigned_work(p, Locale.id, ServiceTicket.locale_id))
    return own  # type: ignore[no-any-return]


@rule(LocalArea)
def _local_areas(p: Principal, action: Action) -> ColumnElement[bool]:
    own = _locale_predicate(LocalArea.locale_id, LocalArea.client_id, p, action)
    if action == "read":
        # ... and the areas of their tickets: the ticket's own, and its asset's.
        return or_(
            own,
            _through_assigned_work(p, LocalArea.id, ServiceTicket.area_id),
            _through_assigned_work(
                p, LocalArea.id, Asset.area_id, join=(Asset, Asset.id == ServiceTicket.asset_id)
            ),
        )
    return own  # type: ignore[no-any-return]


@rule(LocalMember)
def _local_members(p: Principal, action: Action) -> ColumnElement[bool]:
    return _locale_predicate(LocalMember.locale_id, LocalMember.client_id, p, action)  # type: ignore[no-any-return]


@rule(User)
def _users(p: Principal, action: Action) -> ColumnElement[bool]:
    own = User.id == p.user_id
    if p.is_client_owner:
        if action == "read":
            # Owners also see the people of their private contractors (managed by the vendor).
            private_vendors = select(Vendor.id).where(Vendor.client_id == p.client_id)
            return or_(
                own,
                User.client_id == p.client_id,
                User.vendor_id.in_(private_vendors.scalar_subquery()),
            )
        return or_(own, User.client_id == p.client_id)
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return or_(own, User.vendor_id == p.vendor_id)
    if action == "read" and p.client_id is not None:
        # Members see the people who share one of their locales (to pick assignees, etc.).
        shared = select(LocalMember.user_id).where(
            LocalMember.locale_id.in_(member_locale_ids(p)),
        )
        return or_(own, (User.client_id == p.client_id) & User.id.in_(shared.scalar_subquery()))
    return own


@rule(Vendor)
def _vendors(p: Principal, action: Action) -> ColumnElement[bool]:
    own_vendor = Vendor.id == p.vendor_id if p.vendor_id is not None else false()
    own_client = Vendor.client_id == p.client_id if p.client_id is not None else false()
    if action == "write":
        if p.is_client_owner:
            return own_client
        if p.role is UserRole.vendor_admin:
            return own_vendor
        return false()
    return or_(Vendor.client_id.is_(None), own_client, own_vendor)


@rule(ApiKey)
def _api_keys(p: Principal, action: Action) -> ColumnElement[bool]:
    return ApiKey.user_id == p.user_id


@rule(IdentityProvider)
def _identity_providers(p: Principal, action: Action) -> ColumnElement[bool]:
    # Administrators only: a client owner those of the client, a vendor admin those of the vendor.
    # Platform providers (neither id set) are staff's alone; a null id must never match them.
    if p.is_client_owner and p.client_id is not None:
        return IdentityProvider.client_id == p.client_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return IdentityProvider.vendor_id == p.vendor_id
    return false()


@rule(AuditLog)
def _audit_logs(p: Principal, action: Action) -> ColumnElement[bool]:
    # Read only (the log is append-only); a client owner reads the rows of their own client.
    if action == "read" and p.is_client_owner and p.client_id is not None:
        return AuditLog.client_id == p.client_id
    return false()


@rule(AppVersion, PlanLimit)
def _public_catalogue(p: Principal, action: Action) -> ColumnElement[bool]:
    return true() if action == "read" else false()


@rule(Setting)
def _platform_only(p: Principal, action: Action) -> ColumnElement[bool]:
    return false()


def predicate(model: type[Base], principal: Principal, action: Action = "read") -> Any:
    """The WHERE clause limiting ``model`` to what ``principal`` may ``action``."""
    if principal.is_staff:
        return true()
    fn = _RULES.get(model)
    return fn(principal, action) if fn else false()


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
        raise NotFound(_not_found(model))
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
    stmt = _get_columns_statement(model, principal, action)
    # On the session's connection: a Core statement needs none of the session's execution path.
    conn = await session.connection()
    row: RowMapping | None = (await conn.execute(stmt, {"object_id": object_id})).mappings().first()
    if row is None:
        raise NotFound(_not_found(model))
    return row


@functools.lru_cache(maxsize=GET_STATEMENTS)
def _get_columns_statement(model: type[Base], principal: Principal, action: Action) -> Select[Any]:
    """``get_scoped``'s SELECT as table columns (Core): the same rules, the same parameter."""
    return scoped_rows(model, principal, action).where(
        model.__table__.c.id == bindparam("object_id")  # type: ignore[attr-defined]
    )


@functools.cache
def _rows(model: type[Base]) -> Select[Any]:
    """A SELECT of the model's table columns, built once per model (coercing ~45 columns costs
    more than the rest of a list's statement)."""
    return select(*model.__table__.columns)  # type: ignore[attr-defined]


def scoped_rows(model: type[Base], principal: Principal, action: Action = "read") -> Select[Any]:
    """``scoped`` over the model's columns instead of its ORM entity: for lean reads (rows, no
    ORM objects; ``kerops.core.reads``)."""
    return scoped(_rows(model), model, principal, action)


async def read_scoped(
    reader: Reader, model: type[Base], object_id: uuid.UUID, action: Action = "read"
) -> dict[str, Any]:
    """``get_scoped`` for a read that only shows the object: its columns by name, selected
    through the reader's statement runner (``kerops.core.reads``). No session, no ORM object
    (loading, identity map, an attribute access per field when it is serialised). The same
    rules, the same statement and the same 404."""
    row = await reader.runner.one(
        _get_columns_statement(model, reader.principal, action), {"object_id": object_id}
    )
    if row is None:
        raise NotFound(_not_found(model))
    return row


@functools.lru_cache(maxsize=GET_STATEMENTS)
def _readable_statement(model: type[Base], principal: Principal, dialect_name: str) -> Select[Any]:
    """``readable_ids``' SELECT, the ids one list parameter: built once per model, principal
    and dialect (``one_of``)."""
    id_column = model.__table__.c.id  # type: ignore[attr-defined]
    return scoped(select(id_column), model, principal).where(
        one_of(id_column, "object_ids", dialect_name)
    )


async def readable_ids(
    source: AsyncSession | StatementRunner,
    model: type[Base],
    ids: Iterable[uuid.UUID],
    principal: Principal,
) -> set[uuid.UUID]:
    """Which of ``ids`` the principal may read (of the objects that exist): one statement for
    any number of ids, none for no ids. ``source``: the request's session, or the statement
    runner of a lean read."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    params = {"object_ids": wanted}
    if isinstance(source, AsyncSession):
        dialect_name = source.get_bind().dialect.name
        stmt = _readable_statement(model, principal, dialect_name)
        return set((await source.execute(stmt, params)).scalars())
    stmt = _readable_statement(model, principal, source.dialect.name)
    return {row[0] for row in await source.all(stmt, params)}


#: What a document shows of rows the reader may read, when that depends on more than the row
#: (e.g. a ticket's diagnosis citing other tickets): the rows changed or copied, in order.
Shown = Callable[[Reader, list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


class Document:
    """How a read-only route shows one object: ``schema``'s JSON from the object's columns,
    read with ``read_scoped``. Every field of ``schema`` must be a column of ``model`` (checked
    here, when the route's module is imported), so nothing the ORM object would have given is
    missing from the row. ``shown``, when given, sees every row (one call per page) before it is
    validated into ``schema``."""

    def __init__(
        self, model: type[Base], schema: type[BaseModel], *, shown: Shown | None = None
    ) -> None:
        columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
        if missing := sorted(set(schema.model_fields) - columns):
            raise TypeError(f"{schema.__name__} has fields that are not columns: {missing}")
        self.model = model
        self.schema = schema
        self.page_schema = Page[schema]  # type: ignore[valid-type]
        self.shown = shown

    async def respond(self, reader: Reader, object_id: uuid.UUID) -> Response:
        """The object the reader may see, as the response to send (404 as ``get_scoped``)."""
        if self.shown is None:
            return document(self.schema, await read_scoped(reader, self.model, object_id))
        async with reader.runner.sharing():  # the row and what ``shown`` reads: one connection
            row = await read_scoped(reader, self.model, object_id)
            [row] = await self.shown(reader, [row])
        return document(self.schema, row)

    async def respond_page(
        self, reader: Reader, items: Sequence[Mapping[str, Any]], cursor: str | None
    ) -> Response:
        """A page of such objects (each its columns by name) as the response to send (read the
        page within ``reader.runner.sharing()`` for ``shown`` to read on its connection)."""
        if self.shown is not None:
            items = await self.shown(reader, [dict(item) for item in items])
        return document(self.page_schema, {"items": items, "next_cursor": cursor})


def _not_found(model: type[Base]) -> str:
    return f"{model.__tablename__.rstrip('s').replace('_', ' ')} not found"


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
            raise Forbidden("You may read this but not change it.") from None
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


async def client_for_new(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID | None, what: str
) -> uuid.UUID:
    """The client a new ``what`` belongs to: the owner's own, or the one platform staff name.

    Only a client's owner and platform staff create client-wide objects; an id the caller cannot
    see answers 404, an id that is not a client's owner account 422.
    """
    if not (principal.is_staff or principal.is_client_owner):
        raise Forbidden(f"Only the client's owner or platform staff can create {what}.")
    if client_id is None:
        if principal.is_staff:
            raise Unprocessable(
                f"Platform staff must say which client the {what} belong to.",
                errors=[field_error(("body", "client_id"), "required for platform staff")],
            )
        assert principal.client_id is not None
        return principal.client_id
    owner = await get_scoped(session, User, client_id, principal)
    if owner.role is not UserRole.client_owner or owner.client_id != owner.id:
        raise Unprocessable(
            "client_id must be the id of a client (its owner account).",
            errors=[field_error(("body", "client_id"), "not a client")],
        )
    return owner.id


async def ensure_still_in_scope(
    session: AsyncSession, obj: Base, principal: Principal, action: Action = "write"
) -> None:
    """After a write, refuse it if it moved the object out of the caller's reach."""
    await session.flush()
    if not await can(session, type(obj), obj.id, principal, action):  # type: ignore[attr-defined]
        raise Forbidden("this change would move the object out of your reach")


# --- Step 2: assets, operations, workforce -------------------------------------------------------


def assigned_ticket_ids(p: Principal) -> Any:
    """Subquery of the tickets a technician or vendor admin reaches through assigned work."""
    if p.role is UserRole.technician:
        return select(ServiceTicket.id).where(ServiceTicket.technician_id == p.user_id)
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return select(ServiceTicket.id).where(ServiceTicket.vendor_id == p.vendor_id)
    return None


def _through_assigned_work(
    p: Principal, column: Any, ticket_column: Any, *, join: tuple[Any, Any] | None = None
) -> Any:
    """Rows a technician/vendor admin reads because an assigned ticket points at them
    (``ticket_column`` of the ticket, or of a table joined to it with ``join``)."""
    tickets = assigned_ticket_ids(p)
    if tickets is None:
        return false()
    pointed = select(ticket_column).select_from(ServiceTicket)
    if join is not None:
        pointed = pointed.join(*join)
    pointed = pointed.where(ServiceTicket.id.in_(tickets.scalar_subquery()))
    return column.in_(pointed.scalar_subquery())


@rule(Asset)
def _assets(p: Principal, action: Action) -> ColumnElement[bool]:
    own = _locale_predicate(Asset.locale_id, Asset.client_id, p, action)
    if action == "read":
        return or_(own, _through_assigned_work(p, Asset.id, ServiceTicket.asset_id))
    return own  # type: ignore[no-any-return]


def _locale_rule(model: Any) -> Rule:
    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        return _locale_predicate(model.locale_id, model.client_id, p, action)  # type: ignore[no-any-return]

    return fn


_RULES.update(
    {
        model: _locale_rule(model)
        for model in (AssetBOM, AssetMaintenancePlan, IoTDevice, AssetStatusChange)
    }
)


# IoT rules follow their device (devices move between locales of their client). [iot rules]
@rule(IoTRule)
def _iot_rules(p: Principal, action: Action) -> ColumnElement[bool]:
    devices = select(IoTDevice.id).where(
        _locale_predicate(IoTDevice.locale_id, IoTDevice.client_id, p, action)
    )
    return IoTRule.device_id.in_(devices.scalar_subquery())


@rule(Product)
def _products(p: Principal, action: Action) -> ColumnElement[bool]:
    own = Product.client_id == p.client_id if p.client_id is not None else false()
    if action == "write":
        return own if p.is_client_owner else false()
    return or_(Product.client_id.is_(None), own)


def _client_rule(model: Any) -> Rule:
    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        if p.client_id is None:
            return false()
        if action == "write" and not p.is_client_owner:
            return false()
        return model.client_id == p.client_id  # type: ignore[no-any-return]

    return fn


_RULES.update({model: _client_rule(model) for model in (Workflow, WorkflowStep, SlaPolicy)})


def ticket_predicate(p: Principal, action: Action) -> Any:
    """Which tickets the principal may read or change."""
    if p.is_staff:
        return true()
    assigned = assigned_ticket_ids(p)
    if assigned is not None:
        return ServiceTicket.id.in_(assigned.scalar_subquery())
    if p.client_id is None:
        return false()
    same_client = ServiceTicket.client_id == p.client_id
    if p.is_client_owner:
        return same_client
    if p.role is not UserRole.client_member:
        return false()
    if action == "write":
        return same_client & ServiceTicket.locale_id.in_(member_locale_ids(p, (LocalRole.manager,)))
    readers = (LocalRole.manager, LocalRole.viewer)
    own_requests = (ServiceTicket.requester_id == p.user_id) & ServiceTicket.locale_id.in_(
        member_locale_ids(p, (LocalRole.requester,))
    )
    return same_client & or_(
        ServiceTicket.locale_id.in_(member_locale_ids(p, readers)), own_requests
    )


@rule(ServiceTicket)
def _tickets(p: Principal, action: Action) -> ColumnElement[bool]:
    return ticket_predicate(p, action)  # type: ignore[no-any-return]


def _ticket_child_rule(model: Any) -> Rule:
    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        # Details of a ticket follow the ticket; anyone who may read it may add to it.
        tickets = select(ServiceTicket.id).where(ticket_predicate(p, "read"))
        return model.ticket_id.in_(tickets.scalar_subquery())  # type: ignore[no-any-return]

    return fn


_RULES.update(
    {
        model: _ticket_child_rule(model)
        for model in (TicketTask, TicketComment, TicketAttachment, TicketHistory)
    }
)


def workforce_predicate(
    p: Principal,
    action: Action,
    *,
    technician: Any,
    client: Any,
    vendor: Any,
    technician_writes: bool = False,
) -> Any:
    """Whose workforce records the principal reaches, over the given technician/client/vendor
    columns: an owner their client's technicians, a vendor admin their vendor's, a technician
    their own (writing only where ``technician_writes``), a site manager reads the client's."""
    if p.is_staff:
        return true()
    own = technician == p.user_id
    if p.is_client_owner and p.client_id is not None:
        return client == p.client_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return vendor == p.vendor_id
    if p.role is UserRole.technician:
        return own if action == "read" or technician_writes else false()
    if action == "read" and p.client_id is not None and p.role is UserRole.client_member:
        # Site managers plan work: they read the client's own technicians' schedules.
        is_manager = exists().where(
            LocalMember.user_id == p.user_id,
            LocalMember.client_id == p.client_id,
            LocalMember.role == LocalRole.manager,
        )
        return (client == p.client_id) & is_manager
    return false()


def _workforce_rule(model: Any) -> Rule:
    # A technician may record (and correct, while unverified) their own certifications.
    technician_writes = model is TechnicianCertification

    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        return workforce_predicate(  # type: ignore[no-any-return]
            p,
            action,
            technician=model.technician_id,
            client=model.client_id,
            vendor=model.vendor_id,
            technician_writes=technician_writes,
        )

    return fn


_RULES.update(
    {model: _workforce_rule(model) for model in (TechnicianShift, TechnicianCertification)}
)


# --- notifications and webhooks [notifications] --------------------------------------------------


@rule(Notification)
def _notifications(p: Principal, action: Action) -> ColumnElement[bool]:
    # An inbox is personal: its owner reads it and marks it read, nobody else.
    return Notification.user_id == p.user_id


def _client_owner_rule(model: Any) -> Rule:
    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        # Webhooks carry the client's data to its own systems: its owner alone manages them.
        if p.is_client_owner and p.client_id is not None:
            return model.client_id == p.client_id  # type: ignore[no-any-return]
        return false()

    return fn


_RULES.update(
    {model: _client_owner_rule(model) for model in (WebhookSubscription, WebhookDelivery)}
)
