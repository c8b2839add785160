"""A ticket as a work order PDF (``GET /tickets/{id}/pdf``): what it prints, in each language,
for whom, and that a long ticket stays a bounded file over several pages."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketPriority, TicketStatus, WorkLogCategory
from kerops.core.types import uuid7
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket, TicketHistory, TicketTask
from kerops.reports.photos import MAX_SIDE, printable
from tests.fixtures import files
from tests.fixtures.assets import make_asset
from tests.fixtures.factories import Account, Runner, register_owner
from tests.fixtures.operations import set_ticket
from tests.fixtures.parts import Stores, issue, make_stores
from tests.reports.pdf_text import page_count, pdf_text

API = "/api/v1"
#: 12:00 UTC is 09:00 in Santiago (UTC-3 in March).
CREATED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def _pdf(client: TestClient, account: Account, ticket: uuid.UUID, language: str = "es-CL") -> bytes:
    response = client.get(
        f"{API}/tickets/{ticket}/pdf", headers={**account.headers, "Accept-Language": language}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="T-000001.pdf"'
    return response.content


def _photo(width: int, height: int, quality: int = 85) -> bytes:
    """A JPEG of noise (which compresses badly, like a real photo)."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 80).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _upload(
    client: TestClient,
    account: Account,
    ticket: uuid.UUID,
    data: bytes,
    name: str,
    kind: str | None = None,
) -> None:
    response = client.post(
        f"{API}/tickets/{ticket}/attachments",
        files={"file": (name, data, "application/octet-stream")},
        data={"kind": kind} if kind else None,
        headers=account.headers,
    )
    assert response.status_code == 201, response.text


def _add_tasks(run: Runner, stores: Stores, count: int = 0) -> None:
    scope = {"client_id": stores.client_id, "locale_id": stores.locale, "ticket_id": stores.ticket}
    done_at = CREATED + timedelta(hours=2)

    async def create(session: AsyncSession) -> None:
        session.add_all(
            [
                TicketTask(
                    id=uuid7(),
                    position=0,
                    label="Medir presión de descarga",
                    kind="number",
                    min_value=5,
                    max_value=10,
                    value_number=7.5,
                    is_done=True,
                    completed_by_id=stores.technician.id,
                    completed_at=done_at,
                    **scope,
                ),
                TicketTask(
                    id=uuid7(),
                    position=1,
                    label="Prueba de fugas",
                    kind="pass_fail",
                    passed=True,
                    is_done=True,
                    **scope,
                ),
                TicketTask(id=uuid7(), position=2, label="Limpiar filtros", **scope),
            ]
            + [
                TicketTask(id=uuid7(), position=3 + n, label=f"Revisión de punto {n:03d}", **scope)
                for n in range(count)
            ]
        )

    run(create)


def _add_work_log(run: Runner, stores: Stores) -> None:
    async def create(session: AsyncSession) -> None:
        session.add(
            TicketWorkLog(
                id=uuid7(),
                client_id=stores.client_id,
                locale_id=stores.locale,
                ticket_id=stores.ticket,
                technician_id=stores.technician.id,
                category=WorkLogCategory.travel,
                started_at=CREATED + timedelta(hours=1),
                ended_at=CREATED + timedelta(hours=2, minutes=30),
                minutes=90,
                hourly_rate_minor=20_000,
                cost_minor=30_000,
                billable=True,
            )
        )
        # As the labour service keeps it: the ticket's labour cost is its logs' sum.
        ticket = await session.get(ServiceTicket, stores.ticket)
        assert ticket is not None
        ticket.labour_cost_minor = 30_000

    run(create)


def _add_history(run: Runner, stores: Stores, extra: int = 0) -> None:
    scope = {"client_id": stores.client_id, "locale_id": stores.locale, "ticket_id": stores.ticket}

    async def create(session: AsyncSession) -> None:
        moves = [
            (None, TicketStatus.open, ""),
            (TicketStatus.open, TicketStatus.in_progress, "Se cambió el compresor"),
        ] + [(TicketStatus.in_progress, TicketStatus.on_hold, f"Pausa {n}") for n in range(extra)]
        session.add_all(
            [
                TicketHistory(
                    id=uuid7(),
                    from_status=before,
                    to_status=after,
                    actor_id=stores.technician.id,
                    comment=comment,
                    created_at=CREATED + timedelta(minutes=index),
                    **scope,
                )
                for index, (before, after, comment) in enumerate(moves)
            ]
        )

    run(create)


def _full_ticket(client: TestClient, run: Runner) -> Stores:
    """A ticket with an asset, three tasks, a photo, a signature, two parts, a work log and
    two status moves."""
    stores = make_stores(client, run)
    asset = make_asset(run, stores.client_id, stores.locale, name="Chiller York", code="CH-01")
    set_ticket(
        run,
        stores.ticket,
        asset_id=asset,
        title="El chiller no enfría",
        description="Ruido fuerte y alta presión en el circuito 2.",
        priority=TicketPriority.high,
        created_at=CREATED,
    )
    _add_tasks(run, stores)
    response = issue(
        client,
        stores.owner,
        stores.ticket,
        product_id=stores.product,
        quantity=2,
        warehouse_id=stores.central,
    )
    assert response.status_code == 201, response.text
    _add_work_log(run, stores)
    _add_history(run, stores)
    _upload(client, stores.owner, stores.ticket, _photo(640, 480), "compresor.jpg", "photo")
    _upload(client, stores.owner, stores.ticket, files.png(200, 80), "firma.png", "signature")
    return stores


def test_the_work_order_prints_the_ticket_in_spanish_with_the_locales_time(
    client: TestClient, run: Runner
) -> None:
    stores = _full_ticket(client, run)

    pdf = _pdf(client, stores.owner, stores.ticket)

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for expected in (
        "Orden de trabajo T-000001",
        "El chiller no enfría",
        "Local Centro",
        "Chiller York (CH-01)",
        "Alta",  # the priority's label
        "En curso",  # the status's label
        "04-03-2026 09:00",  # created, in America/Santiago
        "Ruido fuerte y alta presión en el circuito 2.",
        "Medir presión de descarga",
        "7,5 (límites 5 a 10)",
        "Aprobada",
        "Pendiente",
        "technician test",
        "Filtro",
        "$ 2.000",  # two parts at 1.000
        "Traslado",
        "1 h 30 min",
        "$ 20.000",  # the hourly rate
        "$ 30.000",  # labour
        "$ 32.000",  # labour and parts
        "compresor.jpg",
        "Se cambió el compresor",
        "Historial de estados",
    ):
        assert expected in text, expected
    assert any(line.startswith("Firmado por Owner ") for line in text.splitlines())
    # The photo and the signature are embedded as images.
    assert pdf.count(b"/Subtype /Image") == 2


def test_the_work_order_in_english_writes_english_dates_and_money(
    client: TestClient, run: Runner
) -> None:
    stores = _full_ticket(client, run)

    text = pdf_text(_pdf(client, stores.owner, stores.ticket, "en"))

    for expected in (
        "Work order T-000001",
        "4 Mar 2026, 09:00",
        "7.5 (limits 5 to 10)",
        "Travel",
        "CLP 32,000",
        "Status history",
    ):
        assert expected in text, expected
    assert "Orden de trabajo" not in text


def test_the_work_order_is_in_spanish_without_a_language_asked_for(
    client: TestClient, run: Runner
) -> None:
    stores = make_stores(client, run)
    client.headers.pop("accept-language")

    response = client.get(f"{API}/tickets/{stores.ticket}/pdf", headers=stores.owner.headers)

    assert response.status_code == 200
    assert "Orden de trabajo T-000001" in pdf_text(response.content)


def test_a_ticket_without_tasks_photos_parts_or_time_still_prints(
    client: TestClient, run: Runner
) -> None:
    stores = make_stores(client, run)
    # Outside Latin-1 (the core fonts' characters): printed as "?", never an error.
    set_ticket(run, stores.ticket, title="Fuga en baño 💧 (≈ 2 l/h)")

    pdf = _pdf(client, stores.owner, stores.ticket)

    assert page_count(pdf) == 1
    text = pdf_text(pdf)
    for expected in (
        "El ticket no tiene tareas.",
        "El ticket no tiene fotos.",
        "No se usaron repuestos.",
        "No se registraron horas en el ticket.",
        "El ticket aún no cambia de estado.",
        "$ 0",
        "Fuga en baño ? (? 2 l/h)",
    ):
        assert expected in text, expected
    assert "Firma" not in text
    assert b"/Subtype /Image" not in pdf


def test_the_assigned_technician_prints_it_and_another_client_gets_a_404(
    client: TestClient, run: Runner
) -> None:
    stores = make_stores(client, run)
    outsider = register_owner(client)

    assert _pdf(client, stores.technician, stores.ticket).startswith(b"%PDF-")
    for ticket in (stores.ticket, uuid7()):
        response = client.get(f"{API}/tickets/{ticket}/pdf", headers=outsider.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_bad_ticket_id_is_a_422(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)

    response = client.get(f"{API}/tickets/not-a-uuid/pdf", headers=owner.headers)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_a_long_ticket_runs_over_several_pages_and_its_photos_are_scaled_down(
    client: TestClient, run: Runner
) -> None:
    stores = make_stores(client, run)
    _add_tasks(run, stores, count=60)
    _add_history(run, stores, extra=80)
    photos = [_photo(2400, 1800, quality=95) for _ in range(6)]
    for index, photo in enumerate(photos):
        _upload(client, stores.owner, stores.ticket, photo, f"foto-{index}.jpg", "photo")
    # Files that are no image the PDF can show are left out: a document, and a broken JPEG.
    _upload(client, stores.owner, stores.ticket, files.PDF, "informe.pdf")
    _upload(client, stores.owner, stores.ticket, files.JPEG, "rota.jpg", "photo")

    pdf = _pdf(client, stores.owner, stores.ticket)

    assert page_count(pdf) >= 5
    assert pdf.count(b"/Subtype /Image") == 6
    # Six photos of over a megabyte each make a file of a fraction of their size.
    assert sum(map(len, photos)) > 6_000_000
    assert len(pdf) < 1_500_000
    text = pdf_text(pdf)
    assert "Revisión de punto 059" in text
    assert "Pausa 79" in text
    assert "foto-5.jpg" in text
    assert "informe.pdf" not in text
    assert "rota.jpg" not in text
    assert "1 imagen más del ticket no se imprime." in text
    # The tables' headings repeat on the pages they run over.
    assert text.count("Comentario") >= 2


def test_a_photo_is_turned_upright_and_scaled_to_its_printed_size() -> None:
    tall = io.BytesIO()
    image = Image.new("RGB", (3000, 1000), (200, 10, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: turned a quarter
    image.save(tall, "JPEG", exif=exif)

    shown = printable(tall.getvalue())

    assert shown is not None
    assert shown.height == MAX_SIDE
    assert abs(shown.width - MAX_SIDE / 3) <= 1
    assert shown.jpeg.startswith(b"\xff\xd8")
    assert printable(files.JPEG) is None
    assert printable(files.PDF) is None
