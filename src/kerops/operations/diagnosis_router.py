"""Running a ticket's diagnosis again."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from kerops.core.deps import PrincipalDep, SessionDep, StateDep
from kerops.operations import diagnosis
from kerops.operations.diagnosis import DiagnosisRead

router = APIRouter(tags=["tickets"])


@router.post("/tickets/{ticket_id}/diagnosis", response_model=DiagnosisRead)
async def rerun_diagnosis(
    ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, state: StateDep
) -> DiagnosisRead:
    """Diagnose the ticket again now: likely cause, skill, parts, similar past tickets
    (anyone who may change the ticket)."""
    return await diagnosis.rerun(session, state=state, principal=principal, ticket_id=ticket_id)
