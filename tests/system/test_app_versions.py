"""App versions: staff-managed releases and the public update check."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.factories import Account, Runner, make_staff, register_owner

URL = "/api/v1/app-versions"


def publish(
    client: TestClient,
    staff: Account,
    version: str,
    minimum: str | None = None,
    platform: str = "android",
    **extra: Any,
) -> Any:
    body = {
        "platform": platform,
        "version": version,
        "min_supported_version": minimum or version,
        **extra,
    }
    return client.post(URL, json=body, headers=staff.headers)


def check(client: TestClient, version: str, platform: str = "android") -> Any:
    return client.get(f"{URL}/check", params={"platform": platform, "version": version})


def test_staff_publish_read_update_and_delete(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    created = publish(client, staff, "2.3.0", "2.0.0", release_notes="Nuevo escáner QR")
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["platform"], body["version"], body["min_supported_version"]) == (
        "android",
        "2.3.0",
        "2.0.0",
    )
    assert body["is_active"] is True and body["released_at"]
    version_id = body["id"]

    owner = register_owner(client)
    assert client.get(f"{URL}/{version_id}", headers=owner.headers).json()["version"] == "2.3.0"

    patched = client.patch(
        f"{URL}/{version_id}", json={"min_supported_version": "2.1.0"}, headers=staff.headers
    )
    assert patched.status_code == 200 and patched.json()["min_supported_version"] == "2.1.0"
    assert client.delete(f"{URL}/{version_id}", headers=staff.headers).status_code == 204
    assert client.get(f"{URL}/{version_id}", headers=staff.headers).status_code == 404


def test_writes_are_staff_only(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    version_id = publish(client, staff, "1.0.0").json()["id"]
    owner = register_owner(client)
    body = {"platform": "ios", "version": "1.0.0", "min_supported_version": "1.0.0"}
    assert client.post(URL, json=body, headers=owner.headers).status_code == 403
    patch = {"is_active": False}
    assert client.patch(f"{URL}/{version_id}", json=patch, headers=owner.headers).status_code == 403
    assert client.delete(f"{URL}/{version_id}", headers=owner.headers).status_code == 403
    assert client.get(f"{URL}/{version_id}", headers=owner.headers).json()["is_active"] is True


def test_duplicate_platform_version_is_a_conflict(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    assert publish(client, staff, "1.2.0").status_code == 201
    again = publish(client, staff, "1.2.0")
    assert again.status_code == 409 and again.json()["code"] == "app_version_exists"
    # Build metadata does not make a different version.
    assert publish(client, staff, "1.2.0+build.7").status_code == 409
    # The same version on another platform is fine.
    assert publish(client, staff, "1.2.0", platform="ios").status_code == 201
    other = publish(client, staff, "1.3.0", "1.0.0").json()["id"]
    moved = client.patch(f"{URL}/{other}", json={"version": "1.2.0"}, headers=staff.headers)
    assert moved.status_code == 409
    assert client.get(f"{URL}/{other}", headers=staff.headers).json()["version"] == "1.3.0"


def test_invalid_versions_are_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for version in ("1.0", "v1.0.0", "1.0.0-", "01.0.0", "1.0.0.0", "x" * 40):
        response = publish(client, staff, version, "1.0.0")
        assert response.status_code == 422, version
        assert ["body", "version"] in [e["loc"] for e in response.json()["errors"]]
    assert publish(client, staff, "1.0.0", platform="windows").status_code == 422


def test_minimum_above_version_is_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    response = publish(client, staff, "1.0.0", "1.0.1")
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "min_supported_version"]]
    # semver, not string order: 1.10.0 is above 1.9.0
    assert publish(client, staff, "1.10.0", "1.9.0").status_code == 201
    # a pre-release is below its release
    assert publish(client, staff, "2.0.0-rc.1", "2.0.0").status_code == 422

    version_id = publish(client, staff, "3.0.0", "2.0.0").json()["id"]
    lowered = client.patch(f"{URL}/{version_id}", json={"version": "1.5.0"}, headers=staff.headers)
    assert lowered.status_code == 422
    nulled = client.patch(f"{URL}/{version_id}", json={"version": None}, headers=staff.headers)
    assert nulled.status_code == 422


def test_list_filters_by_platform_and_pages(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(
            client, staff, version, released_at=f"2026-0{int(version[2]) + 1}-01T12:00:00-03:00"
        )
    publish(client, staff, "5.0.0", platform="web")
    owner = register_owner(client)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"platform": "android", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, params=params, headers=owner.headers).json()
        seen += [item["version"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["1.2.0", "1.1.0", "1.0.0"]
    web = client.get(URL, params={"platform": "web"}, headers=owner.headers).json()["items"]
    assert [item["version"] for item in web] == ["5.0.0"]
    assert client.get(URL).status_code == 401


def test_released_at_must_carry_a_timezone(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    response = publish(client, staff, "1.0.0", released_at="2026-01-01T12:00:00")
    assert response.status_code == 422


def test_check_uses_semver_precedence_not_strings_or_dates(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    # Published out of order, with release dates that disagree with the versions.
    publish(client, staff, "1.10.0", "1.8.0", released_at="2026-01-01T00:00:00Z")
    publish(client, staff, "1.9.0", "1.0.0", released_at="2026-06-01T00:00:00Z")
    publish(client, staff, "1.10.1-rc.1", "1.9.0", released_at="2026-07-01T00:00:00Z")
    publish(client, staff, "2.0.0", "1.0.0", is_active=False)
    response = check(client, "1.9.0")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "platform": "android",
        "current_version": "1.9.0",
        "latest_version": "1.10.1-rc.1",
        "min_supported_version": "1.9.0",
        "update_available": True,
        "force_update": False,
    }


def test_check_forces_an_update_below_the_minimum(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    publish(client, staff, "3.2.0", "3.0.0")
    old = check(client, "2.9.9").json()
    assert old["update_available"] is True and old["force_update"] is True
    beta = check(client, "3.0.0-beta.2").json()
    assert beta["force_update"] is True
    supported = check(client, "3.0.0").json()
    assert supported["update_available"] is True and supported["force_update"] is False
    current = check(client, "3.2.0+build.9").json()
    assert current["update_available"] is False and current["force_update"] is False
    newer = check(client, "4.0.0").json()
    assert newer["update_available"] is False and newer["force_update"] is False


def test_check_without_versions_offers_no_update(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    publish(client, staff, "9.0.0", platform="ios")
    body = check(client, "1.0.0", platform="web").json()
    assert body["latest_version"] is None and body["min_supported_version"] is None
    assert body["update_available"] is False and body["force_update"] is False


def test_check_refuses_bad_input(client: TestClient) -> None:
    bad = check(client, "1.0")
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["errors"]] == [["query", "version"]]
    assert check(client, "1.0.0", platform="symbian").status_code == 422
    assert client.get(f"{URL}/check", params={"platform": "ios"}).status_code == 422
