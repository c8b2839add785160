"""Diagnosis of service tickets: likely cause, skill, parts and similar past tickets.

Every new ticket (manual, scan, plan, sensor) queues the job ``tickets.diagnose``, which fills the
ticket's ``ai_*`` fields; ``POST /tickets/{id}/diagnosis`` runs it again. The diagnosis is stored
whole, with the tickets its cause is taken from; a reader is shown only the tickets they may
read (``diagnosis_shown``). The default engine works
offline on the client's own resolved tickets (``diagnosis_engine``); an LLM provider, when set,
refines that result (``diagnosis_llm``) and any failure of it keeps the offline one.

The reading happens on one read-only connection through SQLAlchemy Core (rows, no session and
no ORM objects) and the provider is called outside any transaction: only the final update of
the ticket takes a write transaction.

A client's indexed history is kept by the app instance (``AppState.service(IndexCache)``, at most
``INDEX_CACHE_SIZE`` clients) for ``diagnosis_index_seconds``: a diagnosis within that time reads
and indexes nothing again, so a newly resolved ticket is compared with at most that late. A
re-run asked for (``rerun``) rebuilds it. The cached index holds every recent resolved ticket of
the client, the diagnosed one included: it is left out when scoring.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kerops.assets.models import Asset, AssetBOM
from kerops.config import Settings
from kerops.core import access
from kerops.core.enums import TicketStatus
from kerops.core.errors import NotFound
from kerops.core.filtering import one_of
from kerops.core.i18n import gettext
from kerops.core.jobs import JobContext, JobHost, job
from kerops.core.principal import Principal
from kerops.core.schemas import ReadModel
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.inventory.models import Product
from kerops.operations import diagnosis_llm, diagnosis_shown
from kerops.operations.diagnosis_engine import (
    Diagnosis,
    Doc,
    Index,
    IndexCache,
    Part,
    diagnose,
    shortlist,
)
from kerops.operations.models import ServiceTicket, TicketHistory
from kerops.users.clients import language_of_client
from kerops.users.models import User

#: Past tickets a diagnosis learns from.
RESOLVED = (TicketStatus.resolved, TicketStatus.completed)

Engine = Literal["offline", "llm"]


class SimilarTicketRead(ReadModel):
    """A past ticket a diagnosis is based on."""

    ticket_id: uuid.UUID
    number: int
    score: float


class DiagnosisRead(ReadModel):
    """A ticket's diagnosis as just computed (also stored in the ticket's ``ai_*`` fields), as
    the caller may see it: the similar tickets they may read, and the cause as on the ticket."""

    ticket_id: uuid.UUID
    engine: Engine
    cause: str
    skill: str | None
    parts: list[dict[str, object]]
    confidence: float
    similar_tickets: list[SimilarTicketRead]
    diagnosed_at: datetime


@dataclass
class _Inputs:
    query: Doc
    offline: Diagnosis
    similar_docs: list[Doc]


# --- reading -------------------------------------------------------------------------------------


def _skill_of(required: str | None, technician_skills: list[str] | None) -> str | None:
    """The skill a past ticket needed: the one it named, else its technician's only skill."""
    if required:
        return required
    if technician_skills and len(technician_skills) == 1:
        return str(technician_skills[0])
    return None


async def _history(conn: AsyncConnection, client_id: uuid.UUID, limit: int) -> list[Doc]:
    """The client's most recent resolved tickets (bounded), as documents."""
    stmt = (
        select(
            ServiceTicket.id,
            ServiceTicket.number,
            ServiceTicket.title,
            ServiceTicket.description,
            ServiceTicket.asset_id,
            ServiceTicket.required_skill,
            Asset.category,
            User.skills,
        )
        .outerjoin(Asset, Asset.id == ServiceTicket.asset_id)
        .outerjoin(User, User.id == ServiceTicket.technician_id)
        .where(
            ServiceTicket.client_id == client_id,
            ServiceTicket.status.in_(RESOLVED),
        )
        .order_by(ServiceTicket.id.desc())  # UUIDv7: newest first
        .limit(limit)
    )
    return [
        Doc(
            ticket_id=str(tid),
            number=number,
            title=title,
            description=description or "",
            skill=_skill_of(required, skills),
            asset_id=str(asset_id) if asset_id else None,
            category=(category or "").strip().lower(),
        )
        for tid, number, title, description, asset_id, required, category, skills in (
            await conn.execute(stmt)
        )
    ]


def _parts_statement(dialect_name: str) -> Select[uuid.UUID, uuid.UUID, str, str | None]:
    return (
        select(AssetBOM.asset_id, Product.id, Product.name, Product.sku)
        .join(Product, Product.id == AssetBOM.product_id)
        .where(one_of(AssetBOM.asset_id, "asset_ids", dialect_name))
        .order_by(Product.name)
    )


def _notes_statement(dialect_name: str) -> Select[uuid.UUID, str]:
    return (
        select(TicketHistory.ticket_id, TicketHistory.comment)
        .where(
            one_of(TicketHistory.ticket_id, "ticket_ids", dialect_name),
            TicketHistory.to_status == TicketStatus.resolved,
            TicketHistory.comment != "",
        )
        .order_by(TicketHistory.created_at)
    )


#: The parts lists and resolution notes of a shortlist, per dialect: built once (the lists'
#: lengths change with every diagnosis; see ``one_of``).
_PARTS = {name: _parts_statement(name) for name in ("postgresql", "sqlite")}
_NOTES = {name: _notes_statement(name) for name in ("postgresql", "sqlite")}


async def _parts(conn: AsyncConnection, asset_ids: set[str]) -> dict[str, list[Part]]:
    """The parts lists of some assets, by asset id."""
    if not asset_ids:
        return {}
    stmt = _PARTS[conn.dialect.name]
    params = {"asset_ids": [uuid.UUID(a) for a in sorted(asset_ids)]}
    found: dict[str, list[Part]] = {}
    for asset_id, product_id, name, sku in await conn.execute(stmt, params):
        found.setdefault(str(asset_id), []).append(Part(str(product_id), name, sku or ""))
    return found


async def _resolution_notes(conn: AsyncConnection, ticket_ids: list[str]) -> dict[str, str]:
    """The comment of each ticket's latest move to resolved (what was done)."""
    if not ticket_ids:
        return {}
    stmt = _NOTES[conn.dialect.name]
    params = {"ticket_ids": [uuid.UUID(t) for t in ticket_ids]}
    return {str(tid): comment for tid, comment in await conn.execute(stmt, params)}


async def _index(
    conn: AsyncConnection,
    client_id: uuid.UUID,
    settings: Settings,
    cache: IndexCache,
    *,
    refresh: bool = False,
) -> Index:
    """The client's indexed history: the cached one while fresh, else read and built (shared:
    never change it)."""

    async def build() -> Index:
        return Index(await _history(conn, client_id, settings.diagnosis_history_limit))

    return await cache.get(client_id, settings.diagnosis_index_seconds, build, refresh=refresh)


#: What a diagnosis reads of the ticket itself, with its asset's category; built once.
_QUERY = (
    select(
        ServiceTicket.id,
        ServiceTicket.client_id,
        ServiceTicket.number,
        ServiceTicket.title,
        ServiceTicket.description,
        ServiceTicket.asset_id,
        Asset.category,
    )
    .outerjoin(Asset, Asset.id == ServiceTicket.asset_id)
    .where(ServiceTicket.id == bindparam("ticket_id"))
)


async def _query(conn: AsyncConnection, ticket_id: uuid.UUID) -> tuple[uuid.UUID, Doc] | None:
    """The ticket's client and the ticket as the engine sees it; None when it does not exist."""
    row = (await conn.execute(_QUERY, {"ticket_id": ticket_id})).mappings().first()
    if row is None:
        return None
    asset_id = row["asset_id"]
    return row["client_id"], Doc(
        ticket_id=str(row["id"]),
        number=row["number"],
        title=row["title"],
        description=row["description"] or "",
        asset_id=str(asset_id) if asset_id else None,
        category=(row["category"] or "").strip().lower(),
    )


async def _inputs(
    conn: AsyncConnection,
    state: JobHost,
    client_id: uuid.UUID,
    query: Doc,
    *,
    refresh: bool = False,
) -> _Inputs:
    """Everything the engines need, read on ``conn``, and the offline diagnosis of ``query``, a
    ticket of ``client_id``.

    ``refresh``: read and index the client's history again rather than use the cached one."""
    settings = state.settings
    index = await _index(conn, client_id, settings, state.service(IndexCache), refresh=refresh)
    shortlisted = shortlist(query, index, exclude=query.ticket_id)
    candidates = [doc for doc, _ in shortlisted]
    assets = {d.asset_id for d in candidates if d.asset_id}
    if query.asset_id:
        assets.add(query.asset_id)
    parts_of = await _parts(conn, assets)
    notes = await _resolution_notes(conn, [d.ticket_id for d in candidates])
    if notes:
        # Copies of the shortlisted documents with their notes (the shared index is not changed;
        # the diagnosis reads only the shortlist).
        shortlisted = [
            (replace(doc, cause=notes[doc.ticket_id]) if doc.ticket_id in notes else doc, score)
            for doc, score in shortlisted
        ]
    offline = diagnose(
        query,
        index,
        own_parts=parts_of.get(query.asset_id or "", []),
        parts_of=parts_of,
        exclude=query.ticket_id,
        shortlisted=shortlisted,
        # Stored on the ticket for all its readers: the client's language.
        language=await language_of_client(conn, client_id),
    )
    by_id = {doc.ticket_id: doc for doc, _ in shortlisted}  # (the similar are among them)
    similar_docs = [by_id[s.ticket_id] for s in offline.similar if s.ticket_id in by_id]
    return _Inputs(query=query, offline=offline, similar_docs=similar_docs)


async def _compute(settings: Settings, inputs: _Inputs) -> tuple[Diagnosis, Engine]:
    """The provider's diagnosis when one is set and answers well, else the offline one."""
    refined = await diagnosis_llm.refine(
        settings, inputs.query, inputs.offline, inputs.similar_docs
    )
    return (refined, "llm") if refined is not None else (inputs.offline, "offline")


# --- writing -------------------------------------------------------------------------------------


def _apply(ticket: ServiceTicket, result: Diagnosis, at: datetime) -> None:
    ticket.ai_cause = result.cause
    ticket.ai_skill = result.skill
    ticket.ai_parts = result.parts
    ticket.ai_confidence = result.confidence
    ticket.ai_similar_ticket_ids = [s.ticket_id for s in result.similar]
    ticket.ai_cause_ticket_ids = list(result.cause_ticket_ids)
    ticket.ai_diagnosed_at = at


async def _read(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    result: Diagnosis,
    engine: Engine,
    at: datetime,
) -> DiagnosisRead:
    """The diagnosis as ``principal`` is shown it: only the similar tickets they may read, and
    a cause taken from no ticket when it comes from one they may not (``diagnosis_shown``)."""
    similar_ids = [s.ticket_id for s in result.similar]
    readable = await diagnosis_shown.readable_cited(
        session, principal, similar_ids, result.cause_ticket_ids
    )
    shown_ids, cause = diagnosis_shown.visible(
        similar_ids=similar_ids,
        cause=result.cause,
        cause_ticket_ids=result.cause_ticket_ids,
        skill=result.skill,
        readable=readable,
    )
    return DiagnosisRead(
        ticket_id=ticket_id,
        engine=engine,
        cause=cause or "",
        skill=result.skill,
        parts=result.parts,
        confidence=result.confidence,
        similar_tickets=[
            SimilarTicketRead(ticket_id=uuid.UUID(s.ticket_id), number=s.number, score=s.score)
            for s in result.similar
            if s.ticket_id in shown_ids
        ],
        diagnosed_at=at,
    )


@job("tickets.diagnose")
async def diagnose_job(ctx: JobContext, ticket_id: str) -> None:
    """Fill a ticket's diagnosis (a ticket deleted meanwhile is skipped)."""
    async with ctx.state.db.read_engine.connect() as conn:
        found = await _query(conn, uuid.UUID(ticket_id))
        if found is None:
            return
        inputs = await _inputs(conn, ctx.state, *found)
    result, _ = await _compute(ctx.state.settings, inputs)
    target = await ctx.session.get(ServiceTicket, uuid.UUID(ticket_id), with_for_update=True)
    if target is not None:
        _apply(target, result, utcnow())
        await ctx.session.flush()


async def rerun(
    session: AsyncSession, *, state: AppState, principal: Principal, ticket_id: uuid.UUID
) -> DiagnosisRead:
    """Diagnose a ticket again now (anyone who may change it) and store the result.

    Asked for explicitly, it reads the client's history afresh (and refreshes the cached index
    the following diagnoses use)."""
    async with state.db.read_sessions() as reader:
        await access.get_for_write(reader, ServiceTicket, ticket_id, principal)
        conn = await reader.connection()
        found = await _query(conn, ticket_id)
        if found is None:  # deleted since it was checked
            raise NotFound(gettext("service ticket not found"))
        inputs = await _inputs(conn, state, *found, refresh=True)
    result, engine = await _compute(state.settings, inputs)
    target = await access.get_for_write(session, ServiceTicket, ticket_id, principal)
    at = utcnow()
    _apply(target, result, at)
    await session.flush()
    return await _read(session, principal, target.id, result, engine, at)
