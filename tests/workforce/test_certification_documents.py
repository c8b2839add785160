"""A licence's document: uploaded (PDF or image) and downloaded by those who change or read it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient

from kerops.config import Settings
from kerops.core.storage.backends import create_storage
from tests.fixtures import files
from tests.fixtures.factories import Account, Runner
from tests.fixtures.workforce import CERTS, Crew, create_cert, make_crew


def document_url(cert_id: Any) -> str:
    return f"{CERTS}/{cert_id}/document"


def put_document(
    client: TestClient, account: Account, cert_id: Any, data: bytes, filename: str
) -> Any:
    return client.put(
        document_url(cert_id),
        files={"file": (filename, data, "application/octet-stream")},
        headers=account.headers,
    )


def stored(settings: Settings, key: str) -> bool:
    storage = create_storage(settings)
    return asyncio.run(storage.exists(key))


def _crew_and_cert(client: TestClient, run: Runner) -> tuple[Crew, dict[str, Any]]:
    crew = make_crew(client, run)
    return crew, create_cert(client, crew.tech, crew.tech.id, cert_type="sec_class_a", number="A-7")


def test_technician_uploads_and_readers_download(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    crew, cert = _crew_and_cert(client, run)
    response = put_document(client, crew.tech, cert["id"], files.PDF, "mi licencia.pdf")
    assert response.status_code == 200, response.text
    key = response.json()["document_key"]
    assert key.startswith(f"{crew.owner.client_id}/certifications/{cert['id']}/")
    assert key.endswith(".pdf") and "licencia" not in key
    assert (settings.files_dir / key).is_file()
    for reader in (crew.tech, crew.owner, crew.manager, crew.staff):
        download = client.get(document_url(cert["id"]), headers=reader.headers)
        assert download.status_code == 200, download.text
        assert download.content == files.PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["content-disposition"].startswith(
            'attachment; filename="sec_class_a-A-7.pdf"'
        )


def test_a_photo_of_the_licence_is_accepted(client: TestClient, run: Runner) -> None:
    crew, cert = _crew_and_cert(client, run)
    response = put_document(client, crew.owner, cert["id"], files.JPEG, "foto.jpg")
    assert response.status_code == 200, response.text
    download = client.get(document_url(cert["id"]), headers=crew.tech.headers)
    assert download.headers["content-type"] == "image/jpeg"


def test_new_document_replaces_the_old_one_and_clears_the_verification(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    crew, cert = _crew_and_cert(client, run)
    first = put_document(client, crew.tech, cert["id"], files.PDF, "a.pdf").json()["document_key"]
    verified = client.post(f"{CERTS}/{cert['id']}/verify", headers=crew.owner.headers)
    assert verified.json()["verified_at"] is not None
    replaced = put_document(client, crew.owner, cert["id"], files.png(), "b.png")
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["document_key"] != first and body["document_key"].endswith(".png")
    assert body["verified_at"] is None and body["verified_by_id"] is None
    assert not stored(settings, first)
    assert stored(settings, body["document_key"])


def test_documents_follow_the_rules_of_the_licence(client: TestClient, run: Runner) -> None:
    crew, cert = _crew_and_cert(client, run)
    assert put_document(client, crew.tech, cert["id"], files.PDF, "a.pdf").status_code == 200
    # Reading only (a site manager): 403; outside reach: 404 for upload and download alike.
    assert put_document(client, crew.manager, cert["id"], files.PDF, "a.pdf").status_code == 403
    for outsider in (crew.tech2, crew.other_owner, crew.other_vendor_admin, crew.vendor_admin):
        assert put_document(client, outsider, cert["id"], files.PDF, "a.pdf").status_code == 404
        assert client.get(document_url(cert["id"]), headers=outsider.headers).status_code == 404
    # Once verified, the technician no longer changes it.
    client.post(f"{CERTS}/{cert['id']}/verify", headers=crew.owner.headers)
    refused = put_document(client, crew.tech, cert["id"], files.PDF, "b.pdf")
    assert refused.status_code == 403
    assert refused.json()["code"] == "certification_verified"


def test_only_pdf_and_images_are_accepted(client: TestClient, run: Runner) -> None:
    crew, cert = _crew_and_cert(client, run)
    for data, filename, code in [
        (files.MP4, "video.mp4", "unsupported_file_type"),
        (files.office("docx"), "licencia.docx", "unsupported_file_type"),
        (files.TEXT, "licencia.txt", "unsupported_file_type"),
        (files.ELF, "licencia.pdf", "executable_refused"),
        (files.JPEG, "licencia.pdf", "file_type_mismatch"),
    ]:
        response = put_document(client, crew.owner, cert["id"], data, filename)
        assert response.status_code == 415, (filename, response.text)
        assert response.json()["code"] == code, filename
    empty = put_document(client, crew.owner, cert["id"], b"", "a.pdf")
    assert empty.status_code == 422
    missing = client.get(document_url(cert["id"]), headers=crew.owner.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "document_missing"


def test_deleting_the_licence_deletes_its_document(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    crew, cert = _crew_and_cert(client, run)
    key = put_document(client, crew.tech, cert["id"], files.PDF, "a.pdf").json()["document_key"]
    assert client.delete(f"{CERTS}/{cert['id']}", headers=crew.owner.headers).status_code == 204
    assert not stored(settings, key)
