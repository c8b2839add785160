"""Isolation cases of the workforce routes: shifts, availability and certifications of A's
technician."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ShiftType
from kerops.core.types import utcnow, uuid7
from kerops.workforce.models import TechnicianCertification, TechnicianShift
from tests.isolation import Case, World

P = "/api/v1/technicians"
SHIFTS = f"{P}/shifts"
SHIFT = f"{SHIFTS}/{{shift_id}}"
CERTS = f"{P}/certifications"
CERT = f"{CERTS}/{{certification_id}}"


def a_objects(w: World) -> dict[str, uuid.UUID]:
    """A shift and a licence of A's technician, created once per world.

    They are inserted with Core statements (no audit row): cases are aimed while the harness is
    already counting A's audit rows, and the objects must exist before any outsider is tried.
    """

    def make() -> dict[str, uuid.UUID]:
        shift_id, cert_id = uuid7(), uuid7()
        number = "A-SEC-" + uuid.uuid4().hex[:8]
        now = utcnow()
        common: dict[str, Any] = {
            "technician_id": w.a_technician.id,
            "client_id": w.a_owner.client_id,
            "vendor_id": None,
            "created_at": now,
            "updated_at": now,
        }

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(TechnicianShift).values(
                    id=shift_id,
                    shift_type=ShiftType.working,
                    starts_at=datetime(2030, 3, 4, 9, tzinfo=UTC),
                    ends_at=datetime(2030, 3, 4, 18, tzinfo=UTC),
                    notes="A planta",
                    **common,
                )
            )
            await session.execute(
                insert(TechnicianCertification).values(
                    id=cert_id,
                    cert_type="sec_class_b",
                    number=number,
                    issuer="SEC",
                    issued_date=date(2024, 1, 1),
                    expires_date=date(2030, 1, 1),
                    **common,
                )
            )

        w.run(create)
        w.remember(shift_id, cert_id, number)
        return {"shift_id": shift_id, "certification_id": cert_id}

    result: dict[str, uuid.UUID] = w.once("workforce_a_objects", make)
    return result


def _shift(w: World) -> dict[str, Any]:
    return {"shift_id": a_objects(w)["shift_id"]}


def _cert(w: World) -> dict[str, Any]:
    return {"certification_id": a_objects(w)["certification_id"]}


def _exists(w: World) -> dict[str, Any]:
    a_objects(w)
    return {}


def _technician(w: World) -> dict[str, Any]:
    a_objects(w)
    return {"technician_id": w.a_technician.id}


CASES = {
    # A shift for A's technician (outsiders do not manage them: 404, or 403 for non-managers).
    ("POST", SHIFTS): Case(
        body=lambda w: {
            "technician_id": str(w.a_technician.id),
            "shift_type": "working",
            "starts_at": "2030-03-05T09:00:00Z",
            "ends_at": "2030-03-05T18:00:00Z",
        },
    ),
    ("GET", SHIFTS): Case(params=_exists, kind="list"),
    ("GET", SHIFT): Case(params=_shift),
    ("PATCH", SHIFT): Case(
        params=_shift, body=lambda w: {"notes": "hacked", "starts_at": "2030-03-04T08:00:00Z"}
    ),
    ("DELETE", SHIFT): Case(params=_shift),
    ("GET", f"{P}/{{technician_id}}/availability"): Case(
        params=_technician,
        query=lambda w: {"from": "2030-03-04T00:00:00Z", "to": "2030-03-05T00:00:00Z"},
    ),
    # A licence for A's technician (a technician of B records only their own: 404).
    ("POST", CERTS): Case(
        body=lambda w: {
            "technician_id": str(w.a_technician.id),
            "cert_type": "gas",
            "number": "X-1",
            "expires_date": "2031-01-01",
        },
    ),
    ("GET", CERTS): Case(params=_exists, kind="list"),
    ("GET", CERT): Case(params=_cert),
    ("PATCH", CERT): Case(params=_cert, body=lambda w: {"number": "HACKED"}),
    ("DELETE", CERT): Case(params=_cert),
    ("POST", f"{CERT}/verify"): Case(params=_cert),
}
