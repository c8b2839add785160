"""Rules of workflows: the allowed status moves of a client's tickets, and the default graph."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import TicketStatus
from kerops.core.errors import Conflict, NotFound, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.operations.models import ServiceTicket, Workflow, WorkflowStep
from kerops.operations.schemas import (
    StepCreate,
    StepRole,
    StepUpdate,
    WorkflowCreate,
    WorkflowUpdate,
)
from kerops.users import clients

WORKFLOW_SORTS = {"name": Workflow.name, "created_at": Workflow.created_at}
STEP_SORTS = {"position": WorkflowStep.position, "created_at": WorkflowStep.created_at}

DEFAULT_WORKFLOW_NAME = "Standard field service"
DEFAULT_WORKFLOW_DESCRIPTION = (
    "Open → assigned → accepted → en route → in progress → resolved → completed, with waits "
    "(on hold, waiting parts, waiting approval), reopening and early cancellation."
)

S = TicketStatus
R = StepRole
_CLIENT = (R.owner, R.manager, R.staff)
_FIELD = (R.technician, R.vendor_admin, R.staff)
_EVERYONE_WORKING = (R.owner, R.manager, R.technician, R.vendor_admin, R.staff)


@dataclass(frozen=True, slots=True)
class DefaultStep:
    """One move of the default workflow."""

    from_status: TicketStatus
    to_status: TicketStatus
    roles: tuple[StepRole, ...]
    requires_comment: bool = False
    requires_all_tasks_done: bool = False
    requires_valid_licence: bool = False


#: The default field-service graph every client gets (documented in docs/tickets.md).
DEFAULT_STEPS: tuple[DefaultStep, ...] = (
    DefaultStep(S.open, S.assigned, _CLIENT),
    DefaultStep(S.open, S.cancelled, _CLIENT, requires_comment=True),
    DefaultStep(S.assigned, S.accepted, _FIELD, requires_valid_licence=True),
    DefaultStep(S.assigned, S.open, _EVERYONE_WORKING, requires_comment=True),
    DefaultStep(S.assigned, S.cancelled, _CLIENT, requires_comment=True),
    DefaultStep(S.accepted, S.en_route, _FIELD),
    DefaultStep(S.accepted, S.in_progress, _FIELD),
    DefaultStep(S.accepted, S.cancelled, _CLIENT, requires_comment=True),
    DefaultStep(S.en_route, S.in_progress, _FIELD),
    DefaultStep(S.in_progress, S.on_hold, _EVERYONE_WORKING, requires_comment=True),
    DefaultStep(S.in_progress, S.waiting_parts, _EVERYONE_WORKING, requires_comment=True),
    DefaultStep(S.in_progress, S.waiting_approval, _FIELD, requires_comment=True),
    DefaultStep(S.on_hold, S.in_progress, _EVERYONE_WORKING),
    DefaultStep(S.waiting_parts, S.in_progress, _EVERYONE_WORKING),
    DefaultStep(S.waiting_approval, S.in_progress, _CLIENT),
    DefaultStep(S.in_progress, S.resolved, _FIELD, requires_all_tasks_done=True),
    DefaultStep(S.resolved, S.completed, (R.owner, R.manager, R.requester, R.staff)),
    DefaultStep(
        S.resolved, S.reopened, (R.owner, R.manager, R.requester, R.staff), requires_comment=True
    ),
    DefaultStep(S.reopened, S.in_progress, _FIELD),
    DefaultStep(S.reopened, S.assigned, _CLIENT),
)


# --- the default workflow ------------------------------------------------------------------------


#: A client's default workflow (every new ticket), built once.
_DEFAULT_OF = (
    select(Workflow)
    .where(Workflow.client_id == bindparam("client_id"), Workflow.is_default.is_(True))
    .order_by(Workflow.id)
    .limit(1)
)


async def _default_of(session: AsyncSession, client_id: uuid.UUID) -> Workflow | None:
    params = {"client_id": client_id}
    return (await session.execute(_DEFAULT_OF, params)).scalar_one_or_none()


async def _free_default_name(session: AsyncSession, client_id: uuid.UUID) -> str:
    taken = set(
        (
            await session.execute(
                select(Workflow.name).where(
                    Workflow.client_id == client_id,
                    Workflow.name.startswith(DEFAULT_WORKFLOW_NAME, autoescape=True),
                )
            )
        ).scalars()
    )
    name, n = DEFAULT_WORKFLOW_NAME, 2
    while name in taken:
        name, n = f"{DEFAULT_WORKFLOW_NAME} {n}", n + 1
    return name


async def ensure_default_workflow(session: AsyncSession, client_id: uuid.UUID) -> Workflow:
    """The client's default workflow, created with the default graph when it has none."""
    found = await _default_of(session, client_id)
    if found is not None:
        return found
    name = await _free_default_name(session, client_id)
    try:
        # A concurrent first ticket may create it too: the unique name makes one of us lose.
        async with session.begin_nested():
            workflow = Workflow(
                client_id=client_id,
                name=name,
                description=DEFAULT_WORKFLOW_DESCRIPTION,
                is_default=True,
            )
            session.add(workflow)
            await session.flush()
            session.add_all(
                WorkflowStep(
                    client_id=client_id,
                    workflow_id=workflow.id,
                    from_status=step.from_status,
                    to_status=step.to_status,
                    allowed_roles=[role.value for role in step.roles],
                    requires_comment=step.requires_comment,
                    requires_all_tasks_done=step.requires_all_tasks_done,
                    requires_valid_licence=step.requires_valid_licence,
                    position=index * 10,
                )
                for index, step in enumerate(DEFAULT_STEPS)
            )
            await session.flush()
    except IntegrityError:
        found = await _default_of(session, client_id)
        if found is None:
            raise Conflict(gettext("The default workflow is being created; try again.")) from None
        return found
    return workflow


# --- workflows -----------------------------------------------------------------------------------


async def _ensure_name_free(
    session: AsyncSession, client_id: uuid.UUID, name: str, exclude_id: uuid.UUID | None = None
) -> None:
    stmt = select(Workflow.id).where(Workflow.client_id == client_id, Workflow.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Workflow.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(
            gettext("This client already has a workflow named '{name}'.", name=name),
            code="name_taken",
        )


async def _unset_other_defaults(session: AsyncSession, workflow: Workflow) -> None:
    others = (
        await session.execute(
            select(Workflow).where(
                Workflow.client_id == workflow.client_id,
                Workflow.is_default.is_(True),
                Workflow.id != workflow.id,
            )
        )
    ).scalars()
    for other in others:
        other.is_default = False


async def create_workflow(
    session: AsyncSession, *, principal: Principal, data: WorkflowCreate
) -> Workflow:
    """Create an (empty) workflow; as default it replaces the client's previous default."""
    client_id = await clients.client_for_new(session, principal, data.client_id, N_("workflows"))
    await _ensure_name_free(session, client_id, data.name)
    workflow = Workflow(client_id=client_id, **data.model_dump(exclude={"client_id"}))
    session.add(workflow)
    await flush_or_conflict(session, gettext("This client already has a workflow with that name."))
    if workflow.is_default:
        await _unset_other_defaults(session, workflow)
        await session.flush()
    return workflow


async def list_workflows(
    reader: Reader,
    *,
    params: PageParams,
    q: str | None = None,
    is_default: bool | None = None,
    is_active: bool | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the workflows the caller can see."""
    stmt = reader.rows(Workflow)
    if q:
        stmt = stmt.where(text_search(q, Workflow.name, Workflow.description))
    if is_default is not None:
        stmt = stmt.where(Workflow.is_default.is_(is_default))
    if is_active is not None:
        stmt = stmt.where(Workflow.is_active.is_(is_active))
    return await reader.page(
        stmt,
        params,
        sort_fields=WORKFLOW_SORTS,
        id_column=Workflow.id,
        default_sort="name",
    )


async def update_workflow(
    session: AsyncSession, *, principal: Principal, workflow_id: uuid.UUID, data: WorkflowUpdate
) -> Workflow:
    """Change a workflow; ``is_default: true`` unsets the client's previous default."""
    workflow = await access.get_for_write(
        session, Workflow, workflow_id, principal, for_update=True
    )
    changes = data.model_dump(exclude_unset=True)
    if changes.get("is_default") is False and workflow.is_default:
        raise Unprocessable(
            gettext(
                "A client always has one default workflow: make another one the default instead."
            ),
            errors=[field_error(("body", "is_default"), gettext("the client's only default"))],
        )
    if "name" in changes and changes["name"] != workflow.name:
        await _ensure_name_free(session, workflow.client_id, changes["name"], workflow.id)
    for key, value in changes.items():
        setattr(workflow, key, value)
    await flush_or_conflict(session, gettext("This client already has a workflow with that name."))
    if changes.get("is_default"):
        await _unset_other_defaults(session, workflow)
        await session.flush()
    return workflow


async def delete_workflow(
    session: AsyncSession, *, principal: Principal, workflow_id: uuid.UUID
) -> None:
    """Delete a workflow that no ticket uses and that is not the client's default."""
    workflow = await access.get_for_write(
        session, Workflow, workflow_id, principal, for_update=True
    )
    if workflow.is_default:
        raise Conflict(
            gettext("This is the client's default workflow; make another one the default first."),
            code="workflow_is_default",
        )
    in_use = exists().where(ServiceTicket.workflow_id == workflow.id)
    if (await session.execute(select(in_use))).scalar():
        raise Conflict(
            gettext("Tickets use this workflow; it cannot be deleted."), code="workflow_in_use"
        )
    await session.delete(workflow)
    await session.flush()


# --- steps ---------------------------------------------------------------------------------------


async def _ensure_move_free(
    session: AsyncSession,
    workflow_id: uuid.UUID,
    from_status: TicketStatus,
    to_status: TicketStatus,
    exclude_id: uuid.UUID | None = None,
) -> None:
    stmt = select(WorkflowStep.id).where(
        WorkflowStep.workflow_id == workflow_id,
        WorkflowStep.from_status == from_status,
        WorkflowStep.to_status == to_status,
    )
    if exclude_id is not None:
        stmt = stmt.where(WorkflowStep.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(
            gettext(
                "This workflow already has the move {from_status} → {to_status}.",
                from_status=from_status,
                to_status=to_status,
            ),
            code="step_exists",
        )


async def _step_of(
    session: AsyncSession,
    principal: Principal,
    workflow_id: uuid.UUID,
    step_id: uuid.UUID,
    action: access.Action = "read",
) -> WorkflowStep:
    if action == "write":
        step = await access.get_for_write(session, WorkflowStep, step_id, principal)
    else:
        step = await access.get_scoped(session, WorkflowStep, step_id, principal)
    if step.workflow_id != workflow_id:
        raise NotFound(gettext("workflow step not found"))
    return step


async def create_step(
    session: AsyncSession, *, principal: Principal, workflow_id: uuid.UUID, data: StepCreate
) -> WorkflowStep:
    """Add an allowed move to a workflow (one step per move)."""
    workflow = await access.get_for_write(
        session, Workflow, workflow_id, principal, for_update=True
    )
    await _ensure_move_free(session, workflow.id, data.from_status, data.to_status)
    values = data.model_dump()
    values["allowed_roles"] = [role.value for role in data.allowed_roles]
    step = WorkflowStep(client_id=workflow.client_id, workflow_id=workflow.id, **values)
    session.add(step)
    await flush_or_conflict(
        session, gettext("This workflow already has that move."), code="step_exists"
    )
    return step


async def list_steps(
    session: AsyncSession,
    *,
    principal: Principal,
    workflow_id: uuid.UUID,
    params: PageParams,
    from_status: TicketStatus | None = None,
    to_status: TicketStatus | None = None,
) -> tuple[Sequence[WorkflowStep], str | None]:
    """One page of a workflow's steps."""
    await access.get_scoped(session, Workflow, workflow_id, principal)
    stmt = access.scoped(select(WorkflowStep), WorkflowStep, principal).where(
        WorkflowStep.workflow_id == workflow_id
    )
    if from_status is not None:
        stmt = stmt.where(WorkflowStep.from_status == from_status)
    if to_status is not None:
        stmt = stmt.where(WorkflowStep.to_status == to_status)
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=STEP_SORTS,
        id_column=WorkflowStep.id,
        default_sort="position",
    )


async def get_step(
    session: AsyncSession, *, principal: Principal, workflow_id: uuid.UUID, step_id: uuid.UUID
) -> WorkflowStep:
    """One step of a workflow."""
    return await _step_of(session, principal, workflow_id, step_id)


async def update_step(
    session: AsyncSession,
    *,
    principal: Principal,
    workflow_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
) -> WorkflowStep:
    """Change a step; the move stays unique within its workflow and never loops on itself."""
    workflow = await access.get_for_write(
        session, Workflow, workflow_id, principal, for_update=True
    )
    step = await _step_of(session, principal, workflow.id, step_id, "write")
    changes = data.model_dump(exclude_unset=True)
    from_status = changes.get("from_status", step.from_status)
    to_status = changes.get("to_status", step.to_status)
    if from_status == to_status:
        raise Unprocessable(
            gettext("from_status and to_status must differ."),
            errors=[
                field_error(("body", "to_status"), gettext("same as from_status"), "same_status")
            ],
        )
    if (from_status, to_status) != (step.from_status, step.to_status):
        await _ensure_move_free(session, workflow.id, from_status, to_status, step.id)
    if "allowed_roles" in changes:
        changes["allowed_roles"] = [StepRole(role).value for role in changes["allowed_roles"]]
    for key, value in changes.items():
        setattr(step, key, value)
    await flush_or_conflict(
        session, gettext("This workflow already has that move."), code="step_exists"
    )
    return step


async def delete_step(
    session: AsyncSession, *, principal: Principal, workflow_id: uuid.UUID, step_id: uuid.UUID
) -> None:
    """Remove a move from a workflow."""
    workflow = await access.get_for_write(
        session, Workflow, workflow_id, principal, for_update=True
    )
    step = await _step_of(session, principal, workflow.id, step_id, "write")
    await session.delete(step)
    await session.flush()


#: ``steps_from``'s statement, built once (every transition reads it).
_STEPS_FROM = (
    select(WorkflowStep)
    .where(
        WorkflowStep.workflow_id == bindparam("workflow_id"),
        WorkflowStep.from_status == bindparam("from_status"),
    )
    .order_by(WorkflowStep.position, WorkflowStep.id)
)


async def steps_from(
    session: AsyncSession, workflow_id: uuid.UUID, from_status: TicketStatus
) -> list[WorkflowStep]:
    """The moves a workflow allows out of one status, in position order."""
    params = {"workflow_id": workflow_id, "from_status": from_status}
    return list((await session.execute(_STEPS_FROM, params)).scalars())
