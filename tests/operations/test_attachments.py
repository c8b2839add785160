"""Ticket attachments: upload (checked and sniffed), list, read, download, remove; both backends."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.core.enums import LocalRole, TicketStatus, UserRole
from kerops.core.storage.backends import Storage, create_storage
from kerops.core.storage.downloads import safe_filename
from kerops.core.storage.sweep import STORED_FILES
from kerops.core.storage.uploads import ObjectWrites, object_writes
from kerops.core.types import utcnow, uuid7
from kerops.main import create_app
from kerops.operations.models import ServiceTicket, TicketAttachment
from tests.conftest import QueryCounter, make_settings, run_in_app
from tests.fixtures import files
from tests.fixtures.factories import Account, Runner, add_member, make_user
from tests.fixtures.operations import (
    create_ticket,
    default_workflow_id,
    move,
    set_step,
    set_ticket,
)
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"


def url(ticket_id: Any, *rest: Any) -> str:
    """The attachments URL of a ticket (or of one attachment, its content)."""
    return "/".join([f"{API}/tickets/{ticket_id}/attachments", *map(str, rest)])


def upload(
    client: TestClient,
    account: Account,
    ticket_id: Any,
    data: bytes,
    filename: str,
    kind: str | None = None,
) -> Any:
    """POST one file (multipart) and return the response."""
    form = {"kind": kind} if kind is not None else None
    return client.post(
        url(ticket_id),
        files={"file": (filename, data, "application/octet-stream")},
        data=form,
        headers=account.headers,
    )


def count_attachments(run: Runner) -> int:
    async def count(session: AsyncSession) -> int:
        stmt = select(func.count()).select_from(TicketAttachment)
        return int((await session.execute(stmt)).scalar_one())

    return int(run(count))


def stored_files(settings: Settings) -> list[Path]:
    root = settings.files_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def team(client: TestClient, run: Runner) -> Team:
    return make_team(client, run)


@pytest.fixture
def technician(client: TestClient, run: Runner, team: Team) -> Account:
    return make_user(client, run, role=UserRole.technician, client_id=team.client_id)


@pytest.fixture
def ticket(client: TestClient, run: Runner, team: Team, technician: Account) -> dict[str, Any]:
    """A ticket raised by the requester, assigned to the technician and in progress."""
    created = create_ticket(client, team.requester, team.locale1)
    set_ticket(run, created["id"], technician_id=technician.id, status=TicketStatus.in_progress)
    return created


# --- upload --------------------------------------------------------------------------------------


ACCEPTED = [
    (files.png(), "fuga.png", "photo", "image/png"),
    (files.JPEG, "tablero.JPG", "photo", "image/jpeg"),
    (files.GIF, "a.gif", "photo", "image/gif"),
    (files.WEBP, "a.webp", "photo", "image/webp"),
    (files.HEIC, "IMG_0001.HEIC", "photo", "image/heic"),
    (files.MP4, "ruido.mp4", "video", "video/mp4"),
    (files.MOV, "ruido.mov", "video", "video/quicktime"),
    (files.WEBM, "ruido.webm", "video", "video/webm"),
    (files.PDF, "informe.pdf", "document", "application/pdf"),
    (files.TEXT, "lectura.txt", "document", "text/plain"),
    (files.CSV, "lecturas.csv", "document", "text/csv"),
    (files.office("docx"), "acta.docx", "document", files.DOCX_TYPE),
    (files.office("xlsx"), "costos.xlsx", "document", files.XLSX_TYPE),
    (files.png(), "captura", "photo", "image/png"),
]


def test_upload_sniffs_the_type_and_defaults_the_kind(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    for data, filename, kind, content_type in ACCEPTED:
        response = upload(client, team.requester, ticket["id"], data, filename)
        assert response.status_code == 201, (filename, response.text)
        body = response.json()
        assert (body["kind"], body["content_type"]) == (kind, content_type), filename
        assert body["filename"] == filename
        assert body["size_bytes"] == len(data)
        assert body["sha256"] == hashlib.sha256(data).hexdigest()
        assert body["uploaded_by_id"] == str(team.requester.id)
        assert "storage_key" not in body


def test_signature_is_an_image_given_that_kind(
    client: TestClient, ticket: dict[str, Any], technician: Account
) -> None:
    response = upload(client, technician, ticket["id"], files.png(), "firma.png", "signature")
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "signature"


def test_kind_must_fit_the_content(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    for data, filename, kind in [
        (files.PDF, "firma.pdf", "signature"),
        (files.PDF, "foto.pdf", "photo"),
        (files.png(), "v.png", "video"),
    ]:
        response = upload(client, team.manager, ticket["id"], data, filename, kind)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["type"] == "kind_mismatch"
    assert count_attachments(run) == 0


def test_an_image_may_be_filed_as_a_document(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    response = upload(client, team.manager, ticket["id"], files.JPEG, "factura.jpg", "document")
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "document"


def test_disguised_executable_is_refused(
    client: TestClient, run: Runner, settings: Settings, team: Team, ticket: dict[str, Any]
) -> None:
    for data, filename in [
        (files.ELF, "photo.jpg"),
        (files.PE, "informe.pdf"),
        (files.MACH_O, "video.mp4"),
        (files.SHELL, "notas.txt"),
        (files.SHELL, "photo.jpg"),
        (files.ELF, "sin-extension"),
    ]:
        response = upload(client, team.manager, ticket["id"], data, filename)
        assert response.status_code == 415, (filename, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["code"] == "executable_refused", filename
        assert "executable" in problem["detail"] or "script" in problem["detail"]
    assert count_attachments(run) == 0
    assert stored_files(settings) == []


REFUSED = [
    (files.JPEG, "informe.pdf", "file_type_mismatch"),
    (files.PDF, "foto.jpg", "file_type_mismatch"),
    (files.png(), "foto.jpg", "file_type_mismatch"),
    (files.TEXT, "foto.png", "file_type_mismatch"),
    (files.office("xlsx"), "acta.docx", "file_type_mismatch"),
    (files.office("docx", macros=True), "acta.docx", "unsupported_file_type"),
    (files.plain_zip(), "acta.docx", "unsupported_file_type"),
    (files.plain_zip(), "archivo.zip", "unsupported_file_type"),
    (files.PDF, "informe.exe", "unsupported_file_type"),
    (bytes(range(256)) * 4, "datos.bin", "unsupported_file_type"),
    (bytes(range(256)) * 4, "datos", "unsupported_file_type"),
    (b"\xff\xfe\x00\x01binary", "notas.txt", "file_type_mismatch"),
]


def test_content_must_be_accepted_and_agree_with_the_name(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    for data, filename, code in REFUSED:
        response = upload(client, team.manager, ticket["id"], data, filename)
        assert response.status_code == 415, (filename, response.text)
        assert response.json()["code"] == code, filename
    assert count_attachments(run) == 0


def test_empty_file_is_refused(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    response = upload(client, team.manager, ticket["id"], b"", "vacio.pdf")
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"loc": ["body", "file"], "msg": "the file is empty", "type": "file_empty"}
    ]
    assert count_attachments(run) == 0


def test_missing_file_field_is_a_validation_error(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    response = client.post(url(ticket["id"]), data={"kind": "photo"}, headers=team.manager.headers)
    assert response.status_code == 422, response.text
    assert ["body", "file"] in [e["loc"] for e in response.json()["errors"]]


def test_garbage_multipart_body_is_a_bad_request(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    response = client.post(
        url(ticket["id"]),
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
        headers={**team.manager.headers, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_kind_is_a_validation_error(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    response = upload(client, team.manager, ticket["id"], files.png(), "a.png", "selfie")
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("settings_overrides", [{"attachment_max_bytes": 1000}])
def test_file_over_the_limit_is_413(
    client: TestClient, run: Runner, settings: Settings, team: Team, ticket: dict[str, Any]
) -> None:
    data = files.PDF + b"0" * 2000
    response = upload(client, team.manager, ticket["id"], data, "grande.pdf")
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["code"] == "file_too_large" and problem["max_bytes"] == 1000
    assert count_attachments(run) == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize("settings_overrides", [{"attachment_max_bytes": 1000}])
def test_body_over_the_limit_stops_being_read(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        # Chunked (no Content-Length): the server must stop reading by itself.
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        for _ in range(64):
            sent += 1
            yield b"%PDF" + b"0" * 16 * 1024
        yield b"\r\n--b--\r\n"

    response = client.post(
        url(ticket["id"]),
        content=body(),
        headers={**team.manager.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "file_too_large"
    assert count_attachments(run) == 0


@pytest.mark.parametrize("settings_overrides", [{"attachment_max_bytes": 1000}])
def test_declared_length_over_the_limit_is_refused_before_reading(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    response = client.post(
        url(ticket["id"]),
        content=b"x",
        headers={
            **team.manager.headers,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(10**9),
        },
    )
    assert response.status_code == 413, response.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "kro_unknown"}],
    ids=["none", "bad token", "unknown key"],
)
@pytest.mark.parametrize("route", ["attachment", "licence document"])
def test_uploads_without_valid_credentials_are_refused_before_the_body_is_read(
    client: TestClient, ticket: dict[str, Any], headers: dict[str, str], route: str
) -> None:
    pulled = 0

    def body() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(64):
            pulled += 1
            yield b"%PDF" + b"0" * 64 * 1024

    path = (
        url(ticket["id"])
        if route == "attachment"
        else f"{API}/technicians/certifications/{uuid7()}/document"
    )
    method = "POST" if route == "attachment" else "PUT"
    response = client.request(
        method,
        path,
        content=body(),
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pulled <= 1  # the transport's first chunk at most: nothing read by the app
    declared = client.request(
        method,
        path,
        content=b"x",
        headers={
            **headers,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(10**9),
        },
    )
    assert declared.status_code == 401, declared.text


def test_client_filename_is_only_sanitised_metadata(
    client: TestClient, settings: Settings, team: Team, ticket: dict[str, Any]
) -> None:
    name = "../../etc/\x01pass\x1bwd\u202e" + "x" * 300 + ".png"
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: image/png\r\n\r\n'
        + files.png()
        + b"\r\n--b--\r\n"
    )
    response = client.post(
        url(ticket["id"]),
        content=body,
        headers={**team.manager.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["filename"] == "passwd" + "x" * 245 + ".png"
    [path] = stored_files(settings)
    assert path.relative_to(settings.data_dir / "files").parts == (
        str(team.client_id),
        "tickets",
        ticket["id"],
        created["id"],
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\Users\\ana\\foto.jpg", "foto.jpg"),
        ("../..", "file"),
        ("  informe\tfinal .pdf ", "informe final .pdf"),
        ("\x00\x07", "file"),
        ("", "file"),
        (None, "file"),
    ],
)
def test_safe_filename(given: str | None, kept: str) -> None:
    assert safe_filename(given) == kept


def test_viewer_may_read_but_not_upload(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    response = upload(client, team.viewer, ticket["id"], files.png(), "a.png")
    assert response.status_code == 403, response.text
    listed = client.get(url(ticket["id"]), headers=team.viewer.headers)
    assert listed.status_code == 200, listed.text


def test_closed_ticket_takes_no_files(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    set_ticket(run, ticket["id"], status=TicketStatus.completed)
    response = upload(client, team.manager, ticket["id"], files.png(), "a.png")
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "ticket_closed"


# --- read and download ---------------------------------------------------------------------------


def test_download_returns_the_same_bytes_safely(
    client: TestClient, team: Team, ticket: dict[str, Any], technician: Account
) -> None:
    data = files.PDF + b"%" + bytes(range(256)) * 50
    created = upload(client, technician, ticket["id"], data, "Informe; técnico.pdf").json()
    response = client.get(url(ticket["id"], created["id"], "content"), headers=team.viewer.headers)
    assert response.status_code == 200, response.text
    assert response.content == data
    assert hashlib.sha256(response.content).hexdigest() == created["sha256"]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition == (
        'attachment; filename="Informe_ t_cnico.pdf"; '
        "filename*=UTF-8''Informe%3B%20t%C3%A9cnico.pdf"
    )
    assert int(response.headers["content-length"]) == len(data)


def test_text_downloads_as_utf8_text(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    created = upload(client, team.manager, ticket["id"], files.TEXT, "nota.txt").json()
    response = client.get(url(ticket["id"], created["id"], "content"), headers=team.manager.headers)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == files.TEXT.decode()


def test_metadata_and_list(client: TestClient, team: Team, ticket: dict[str, Any]) -> None:
    photo = upload(client, team.manager, ticket["id"], files.png(), "a.png").json()
    doc = upload(client, team.manager, ticket["id"], files.PDF, "b.pdf").json()
    one = client.get(url(ticket["id"], photo["id"]), headers=team.requester.headers)
    assert one.status_code == 200 and one.json() == photo
    listed = client.get(url(ticket["id"]), headers=team.requester.headers).json()
    assert [a["id"] for a in listed["items"]] == [photo["id"], doc["id"]]
    photos = client.get(url(ticket["id"]), params={"kind": "photo"}, headers=team.owner.headers)
    assert [a["id"] for a in photos.json()["items"]] == [photo["id"]]
    paged = client.get(url(ticket["id"]), params={"limit": 1}, headers=team.owner.headers).json()
    assert [a["id"] for a in paged["items"]] == [photo["id"]] and paged["next_cursor"]


def test_attachment_of_another_ticket_is_not_found(
    client: TestClient, team: Team, ticket: dict[str, Any]
) -> None:
    photo = upload(client, team.manager, ticket["id"], files.png(), "a.png").json()
    other = create_ticket(client, team.manager, team.locale1)
    response = client.get(url(other["id"], photo["id"]), headers=team.manager.headers)
    assert response.status_code == 404


def _people_without_the_ticket(client: TestClient, run: Runner, team: Team) -> dict[str, Account]:
    other_client = make_team(client, run)
    return {
        "outsider": other_client.owner,
        "other requester": make_user(
            client, run, role=UserRole.client_member, client_id=team.client_id
        ),
        "unassigned technician": make_user(
            client, run, role=UserRole.technician, client_id=team.client_id
        ),
        "member without locale": team.outsider,
        "manager of another locale": team.manager2,
    }


def test_people_who_cannot_see_the_ticket_get_404_everywhere(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    photo = upload(client, team.manager, ticket["id"], files.png(), "a.png").json()
    people = _people_without_the_ticket(client, run, team)
    # A requester of the locale who did not raise this ticket.
    add_member(run, team.client_id, team.locale1, people["other requester"].id, LocalRole.requester)
    for who, account in people.items():
        calls = [
            client.get(url(ticket["id"]), headers=account.headers),
            client.get(url(ticket["id"], photo["id"]), headers=account.headers),
            client.get(url(ticket["id"], photo["id"], "content"), headers=account.headers),
            client.delete(url(ticket["id"], photo["id"]), headers=account.headers),
            upload(client, account, ticket["id"], files.png(), "b.png"),
        ]
        assert [c.status_code for c in calls] == [404] * 5, who
    assert count_attachments(run) == 1


# --- delete --------------------------------------------------------------------------------------


def test_uploader_removes_their_own_file_and_its_object(
    client: TestClient, run: Runner, settings: Settings, ticket: dict[str, Any], technician: Account
) -> None:
    photo = upload(client, technician, ticket["id"], files.png(), "a.png").json()
    assert len(stored_files(settings)) == 1
    response = client.delete(url(ticket["id"], photo["id"]), headers=technician.headers)
    assert response.status_code == 204, response.text
    assert count_attachments(run) == 0
    assert stored_files(settings) == []


def _sweep(client: TestClient, **kwargs: Any) -> None:
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run("storage.sweep", **kwargs))  # type: ignore[union-attr]


def test_the_sweep_deletes_objects_no_row_holds_any_more(
    client: TestClient,
    run: Runner,
    settings: Settings,
    team: Team,
    ticket: dict[str, Any],
    technician: Account,
) -> None:
    other = create_ticket(client, team.requester, team.locale1)
    kept = upload(client, team.requester, other["id"], files.PDF, "informe.pdf").json()
    upload(client, technician, ticket["id"], files.png(), "a.png")
    storage = create_storage(settings)

    async def put_foreign(session: AsyncSession) -> None:
        # Objects the app did not name, or of a kind nobody registered: never touched.
        await storage.put_bytes("notas/leeme.txt", b"x", content_type="text/plain")
        await storage.put_bytes(f"{uuid7()}/otros/{uuid7()}/a", b"x", content_type="text/plain")
        # A bulk delete: the database cascade removes the ticket's attachment rows.
        doomed = uuid.UUID(ticket["id"])
        await session.execute(delete(ServiceTicket).where(ServiceTicket.id == doomed))

    run(put_foreign)
    assert set(STORED_FILES) == {"tickets", "certifications", "reports"}
    assert len(stored_files(settings)) == 4
    _sweep(client)  # too young: an upload writes its object before its row commits
    assert len(stored_files(settings)) == 4
    _sweep(client, older_than_seconds=0)
    left = {p.relative_to(settings.files_dir).as_posix() for p in stored_files(settings)}
    assert len(left) == 3 and "notas/leeme.txt" in left
    assert all(f"/tickets/{ticket['id']}/" not in key for key in left)
    download = client.get(url(other["id"], kept["id"], "content"), headers=team.requester.headers)
    assert download.status_code == 200 and download.content == files.PDF


def test_requester_cannot_remove_the_technicians_file(
    client: TestClient,
    run: Runner,
    settings: Settings,
    team: Team,
    ticket: dict[str, Any],
    technician: Account,
) -> None:
    photo = upload(client, technician, ticket["id"], files.png(), "a.png").json()
    response = client.delete(url(ticket["id"], photo["id"]), headers=team.requester.headers)
    assert response.status_code == 403, response.text
    assert count_attachments(run) == 1 and len(stored_files(settings)) == 1


@pytest.mark.parametrize("remover", ["manager", "owner"])
def test_managers_and_owner_remove_any_file(
    client: TestClient,
    run: Runner,
    team: Team,
    ticket: dict[str, Any],
    technician: Account,
    remover: str,
) -> None:
    photo = upload(client, technician, ticket["id"], files.png(), "a.png").json()
    account = getattr(team, remover)
    response = client.delete(url(ticket["id"], photo["id"]), headers=account.headers)
    assert response.status_code == 204, response.text
    assert count_attachments(run) == 0


def test_files_of_a_closed_ticket_stay(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any]
) -> None:
    photo = upload(client, team.manager, ticket["id"], files.png(), "a.png").json()
    set_ticket(run, ticket["id"], status=TicketStatus.cancelled)
    response = client.delete(url(ticket["id"], photo["id"]), headers=team.manager.headers)
    assert response.status_code == 409, response.text
    assert count_attachments(run) == 1


# --- transactions and workflow -------------------------------------------------------------------


def _writes_app(storage: Storage, *, commit_fails: bool) -> FastAPI:
    """An app whose one route writes "new" and releases "kept", with a session-like dependency
    (function scope, as ``SessionDep``) whose commit succeeds or fails."""

    async def unit_of_work() -> AsyncIterator[None]:
        yield
        if commit_fails:
            raise RuntimeError("commit failed")

    app = FastAPI()
    app.state.kerops_storage = storage

    @app.post("/write")
    async def write(
        writes: ObjectWrites = Depends(object_writes),
        _: None = Depends(unit_of_work, scope="function"),
    ) -> None:
        # Defaults, not annotations: the dependencies are local to this test app.
        await writes.put("new", io.BytesIO(b"new"), content_type="text/plain")
        writes.release("kept")

    return app


@pytest.mark.parametrize(
    ("commit_fails", "status", "left"), [(True, 500, "kept"), (False, 200, "new")]
)
def test_objects_follow_the_transaction(
    tmp_path: Path, commit_fails: bool, status: int, left: str
) -> None:
    """A failed commit removes what the request wrote; a good one removes what it released."""
    storage = create_storage(make_settings(tmp_path, None))
    asyncio.run(storage.put_bytes("kept", b"old", content_type="text/plain"))
    app = _writes_app(storage, commit_fails=commit_fails)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.post("/write").status_code == status

    async def remaining() -> list[str]:
        return [key for key in ("kept", "new") if await storage.exists(key)]

    assert asyncio.run(remaining()) == [left]


def test_uploaded_photo_satisfies_a_step_requiring_one(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any], technician: Account
) -> None:
    workflow_id = default_workflow_id(run, team.client_id)
    assert workflow_id is not None
    set_step(run, workflow_id, TicketStatus.in_progress, TicketStatus.resolved, requires_photo=True)
    refused = move(client, technician, ticket["id"], "resolved")
    assert refused.status_code == 422, refused.text
    assert [e["type"] for e in refused.json()["errors"]] == ["photo_required"]
    assert upload(client, technician, ticket["id"], files.JPEG, "listo.jpg").status_code == 201
    moved = move(client, technician, ticket["id"], "resolved")
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "resolved"


def test_list_costs_the_same_queries_whatever_the_number_of_files(
    client: TestClient, run: Runner, team: Team, ticket: dict[str, Any], queries: QueryCounter
) -> None:
    def add(n: int) -> None:
        async def insert_rows(session: AsyncSession) -> None:
            for _ in range(n):
                attachment_id = uuid7()
                await session.execute(
                    insert(TicketAttachment).values(
                        id=attachment_id,
                        client_id=team.client_id,
                        locale_id=team.locale1,
                        ticket_id=uuid.UUID(ticket["id"]),
                        kind="photo",
                        filename="a.png",
                        content_type="image/png",
                        size_bytes=1,
                        sha256="0" * 64,
                        storage_key=f"k/{attachment_id}",
                        created_at=utcnow(),
                    )
                )

        run(insert_rows)

    add(1)
    with queries as few:
        assert client.get(url(ticket["id"]), headers=team.requester.headers).status_code == 200
    add(20)
    with queries as many:
        listed = client.get(url(ticket["id"]), headers=team.requester.headers)
    assert len(listed.json()["items"]) == 21
    assert many.count == few.count


# --- the S3 backend ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """An S3-compatible server (moto) on this machine, with an empty bucket ``kerops``."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket="kerops")
    yield endpoint
    server.stop()


def test_s3_backend_round_trip(s3_server: str, database_url: str | None, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        database_url,
        storage_backend="s3",
        s3_bucket="kerops",
        s3_endpoint_url=s3_server,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_allow_http=True,
        s3_prefix="uploads",
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    with TestClient(create_app(settings)) as client:
        run = run_in_app(client)
        team = make_team(client, run)
        ticket = create_ticket(client, team.manager, team.locale1)
        data = files.MP4 + bytes(range(256)) * 100
        created = upload(client, team.manager, ticket["id"], data, "ruido.mp4")
        assert created.status_code == 201, created.text
        key = f"uploads/{team.client_id}/tickets/{ticket['id']}/{created.json()['id']}"
        stored = s3.get_object(Bucket="kerops", Key=key)
        assert stored["Body"].read() == data
        assert stored["ContentType"] == "video/mp4"
        download = client.get(
            url(ticket["id"], created.json()["id"], "content"), headers=team.manager.headers
        )
        assert download.status_code == 200 and download.content == data
        removed = client.delete(
            url(ticket["id"], created.json()["id"]), headers=team.manager.headers
        )
        assert removed.status_code == 204, removed.text
        assert s3.list_objects_v2(Bucket="kerops", Prefix=key).get("KeyCount", 0) == 0
        # An orphan in the bucket (its row gone by a cascade) is swept; other objects stay,
        # and so does anything outside the app's prefix.
        orphan = f"uploads/{team.client_id}/tickets/{ticket['id']}/{uuid7()}"
        outside = f"{team.client_id}/tickets/{ticket['id']}/{uuid7()}"
        for extra in (orphan, outside, "uploads/notas/leeme.txt"):
            s3.put_object(Bucket="kerops", Key=extra, Body=b"x")
        _sweep(client, older_than_seconds=0)
        listed = s3.list_objects_v2(Bucket="kerops").get("Contents", [])
        assert sorted(o["Key"] for o in listed) == sorted([outside, "uploads/notas/leeme.txt"])
    assert not (tmp_path / "files").exists() or stored_files(settings) == []
