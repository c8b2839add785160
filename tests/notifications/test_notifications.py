"""In-app notifications: who hears of each event (never the actor), the inbox, and emails sent
once per event and person."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import jobs
from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.events import service as events
from kerops.events.models import Event
from kerops.notifications.models import EmailState, Notification
from tests.conftest import as_platform
from tests.fixtures.factories import Account, Runner, add_member, make_locale, make_user
from tests.fixtures.operations import move
from tests.notifications.conftest import (
    API,
    Site,
    assign,
    inbox,
    raise_ticket,
    run_job,
)


def emit(client: TestClient, event_type: str, **fields: Any) -> uuid.UUID:
    """Emit an event as another module's job would, and let it be dispatched."""
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def go() -> uuid.UUID:
        async with state.db.sessions() as session:
            event = events.emit(session, event_type, **fields)
            await session.commit()
            await state.jobs.send_pending(session)
            made: uuid.UUID = event.id
            return made

    event_id: uuid.UUID = client.portal.call(as_platform(go))  # type: ignore[union-attr]
    return event_id


def types_of(client: TestClient, account: Account) -> list[str]:
    return [n["type"] for n in inbox(client, account)]


def outbox(client: TestClient) -> list[Any]:
    return list(client.app.state.kerops.sender.outbox)  # type: ignore[attr-defined]


# --- recipients ----------------------------------------------------------------------------------


def test_a_new_ticket_notifies_the_locale_managers(client: TestClient, site: Site) -> None:
    ticket = raise_ticket(client, site.requester, site.locale)
    for manager in (site.manager, site.manager2):
        (note,) = inbox(client, manager)
        assert note["type"] == "ticket.created"
        assert (
            note["subject_id"] == ticket["id"] and note["link"] == f"/api/v1/tickets/{ticket['id']}"
        )
        assert ticket["code"] in note["title"] and note["read_at"] is None
    for nobody in (site.owner, site.viewer, site.tech, site.other_owner, site.other_manager):
        assert inbox(client, nobody) == []


def test_the_notifications_insert_is_compiled_once(client: TestClient, site: Site) -> None:
    # Two managers hear of each ticket: one multi-row INSERT per event, whose compiled form
    # SQLAlchemy keeps (a ``.values([...])`` statement would be compiled again every time).
    from sqlalchemy import event

    engine = client.app.state.kerops.db.engine.sync_engine  # type: ignore[attr-defined]
    compiled: list[object] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, *_: Any
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            compiled.append(context.compiled)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            raise_ticket(client, site.requester, site.locale)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(compiled) == 3
    assert len({id(c) for c in compiled}) == 1
    for manager in (site.manager, site.manager2):
        assert types_of(client, manager) == ["ticket.created"] * 3


def test_the_recipients_query_is_built_once_per_kind_of_event(
    client: TestClient, site: Site
) -> None:
    # Built per event, the select and its cache key cost more than the database's answer.
    from kerops.notifications import service

    service._recipients_query.cache_clear()
    for _ in range(3):
        raise_ticket(client, site.requester, site.locale)
    info = service._recipients_query.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    for manager in (site.manager, site.manager2):
        assert types_of(client, manager) == ["ticket.created"] * 3


def test_the_actor_is_not_notified_of_their_own_action(client: TestClient, site: Site) -> None:
    raise_ticket(client, site.manager, site.locale)
    assert types_of(client, site.manager) == []
    assert types_of(client, site.manager2) == ["ticket.created"]


def test_the_owner_hears_of_tickets_of_a_locale_without_managers(
    client: TestClient, run: Runner, site: Site
) -> None:
    assert site.owner.client_id is not None
    kiosk = make_locale(run, site.owner.client_id, "Kiosco")
    add_member(run, site.owner.client_id, kiosk, site.requester.id, LocalRole.requester)
    raise_ticket(client, site.requester, kiosk)
    assert types_of(client, site.owner) == ["ticket.created"]
    assert types_of(client, site.manager) == []


def test_an_assignment_notifies_the_technician_and_the_vendor_admins(
    client: TestClient, site: Site
) -> None:
    ticket = raise_ticket(client, site.requester, site.locale)
    assign(client, site.manager, ticket["id"], site.vendor_tech, vendor=site.vendor)
    assert types_of(client, site.vendor_tech) == ["ticket.assigned"]
    assert types_of(client, site.vendor_admin) == ["ticket.assigned"]
    assert types_of(client, site.manager) == ["ticket.created"]  # they assigned it
    assert types_of(client, site.requester) == []
    assert types_of(client, site.tech) == []


def test_a_status_change_notifies_the_requester_and_the_managers(
    client: TestClient, site: Site
) -> None:
    ticket = raise_ticket(client, site.requester, site.locale)
    assert move(client, site.manager, ticket["id"], "cancelled", "duplicado").status_code == 200
    (note,) = inbox(client, site.requester)
    assert note["type"] == "ticket.status_changed"
    assert "Cancelado" in note["title"] and "Abierto → Cancelado" in note["body"]
    assert types_of(client, site.manager2) == ["ticket.status_changed", "ticket.created"]
    assert types_of(client, site.manager) == ["ticket.created"]  # not their own move


def test_an_sla_breach_escalates_to_the_owner(client: TestClient, site: Site) -> None:
    scope = {
        "client_id": site.owner.client_id,
        "locale_id": site.locale,
        "subject_type": "ticket",
        "subject_id": uuid.uuid4(),
        "payload": {"number": 7, "title": "Ascensor detenido"},
    }
    emit(client, "sla.warning", **scope)
    assert types_of(client, site.owner) == []
    assert types_of(client, site.manager) == ["sla.warning"]
    emit(client, "sla.breached", **scope)
    assert types_of(client, site.owner) == ["sla.breached"]
    assert types_of(client, site.manager) == ["sla.breached", "sla.warning"]
    assert inbox(client, site.other_owner) == []


def test_sensor_alerts_and_generated_plans_go_to_the_managers(
    client: TestClient, site: Site
) -> None:
    scope = {"client_id": site.owner.client_id, "locale_id": site.locale}
    emit(client, "sensor.alert", **scope, payload={"message": "Temperatura 9 °C"})
    emit(client, "plan.generated", **scope)
    assert types_of(client, site.manager) == ["plan.generated", "sensor.alert"]
    assert types_of(client, site.requester) == []


def test_a_payload_cannot_name_someone_of_another_client(client: TestClient, site: Site) -> None:
    emit(
        client,
        "ticket.assigned",
        client_id=site.owner.client_id,
        locale_id=site.locale,
        payload={"technician_id": str(site.other_manager.id)},
    )
    assert inbox(client, site.other_manager) == []


# --- the inbox -----------------------------------------------------------------------------------


def test_notifications_are_read_one_by_one_or_all_at_once(client: TestClient, site: Site) -> None:
    for _ in range(3):
        raise_ticket(client, site.requester, site.locale)
    headers = site.manager.headers
    count = client.get(f"{API}/notifications/unread-count", headers=headers).json()
    assert count == {"unread": 3}
    first, *rest = inbox(client, site.manager)
    response = client.post(f"{API}/notifications/{first['id']}/read", headers=headers)
    assert response.status_code == 200 and response.json()["read_at"] is not None
    again = client.post(f"{API}/notifications/{first['id']}/read", headers=headers).json()
    assert again["read_at"] == response.json()["read_at"]
    assert [n["id"] for n in inbox(client, site.manager, unread="true")] == [n["id"] for n in rest]
    assert [n["id"] for n in inbox(client, site.manager, unread="false")] == [first["id"]]
    marked = client.post(f"{API}/notifications/read-all", headers=headers).json()
    assert marked == {"updated": 2}
    assert client.get(f"{API}/notifications/unread-count", headers=headers).json()["unread"] == 0
    # Someone else's inbox is untouched.
    other = client.get(f"{API}/notifications/unread-count", headers=site.manager2.headers)
    assert other.json()["unread"] == 3


def test_the_inbox_pages_newest_first(client: TestClient, site: Site) -> None:
    numbers = [raise_ticket(client, site.requester, site.locale)["number"] for _ in range(3)]
    page = client.get(
        f"{API}/notifications", params={"limit": 2}, headers=site.manager.headers
    ).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"{API}/notifications",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=site.manager.headers,
    ).json()
    titles = [n["title"] for n in page["items"] + rest["items"]]
    assert [int(t.split("T-")[1].split(":")[0]) for t in titles] == numbers[::-1]


def test_nobody_reads_or_marks_another_persons_notification(client: TestClient, site: Site) -> None:
    raise_ticket(client, site.requester, site.locale)
    (note,) = inbox(client, site.manager)
    for intruder in (site.manager2, site.owner, site.requester, site.other_owner):
        response = client.post(f"{API}/notifications/{note['id']}/read", headers=intruder.headers)
        assert response.status_code == 404
        assert note["id"] not in str(inbox(client, intruder))
    assert inbox(client, site.manager)[0]["read_at"] is None


# --- email ---------------------------------------------------------------------------------------


def _notifications(run: Runner) -> list[Notification]:
    async def read(session: AsyncSession) -> list[Notification]:
        return list((await session.execute(select(Notification))).scalars())

    result: list[Notification] = run(read)
    return result


def _mail_refused(
    client: TestClient, monkeypatch: Any, refused: Callable[[Any], bool]
) -> Callable[[], None]:
    """Make the mail server refuse the messages ``refused`` picks; returns the undo."""
    sender = client.app.state.kerops.sender  # type: ignore[attr-defined]
    real_send = sender.send

    async def send(message: Any) -> None:
        if refused(message):
            raise OSError("mailbox unavailable")
        await real_send(message)

    monkeypatch.setattr(sender, "send", send)
    return lambda: monkeypatch.setattr(sender, "send", real_send)


def test_each_notification_is_emailed_once(client: TestClient, run: Runner, site: Site) -> None:
    ticket = raise_ticket(client, site.requester, site.locale)
    sent = [m for m in outbox(client) if m.channel == "email"]
    assert sorted(m.to for m in sent) == sorted([site.manager.email, site.manager2.email])
    assert all(f"/api/v1/tickets/{ticket['id']}" in m.body for m in sent)
    assert {n.email_state for n in _notifications(run)} == {EmailState.sent}

    # The event dispatched again (a duplicate message after a lost acknowledgement) ...
    async def undispatch(session: AsyncSession) -> str:
        await session.execute(update(Event).values(dispatched_at=None))
        return str((await session.execute(select(Event.id))).scalar_one())

    event_id = run(undispatch)
    run_job(client, "events.dispatch", event_id=event_id)
    run_job(client, "events.dispatch", event_id=event_id)
    # ... and every email job run again.
    for note in _notifications(run):
        run_job(client, "notifications.send_email", notification_id=str(note.id))
    run_job(client, "notifications.email_sweep")
    assert len(_notifications(run)) == 2
    assert len([m for m in outbox(client) if m.channel == "email"]) == 2


def test_the_emails_of_one_event_go_out_with_its_dispatch(
    client: TestClient, run: Runner, site: Site, monkeypatch: Any
) -> None:
    calls: list[list[str]] = []
    spec = jobs.REGISTRY["notifications.send_emails"]

    async def recording(ctx: Any, notification_ids: list[str]) -> None:
        calls.append(sorted(notification_ids))
        await spec.fn(ctx, notification_ids=notification_ids)

    monkeypatch.setitem(jobs.REGISTRY, spec.name, dataclasses.replace(spec, fn=recording))
    raise_ticket(client, site.requester, site.locale)
    notes = _notifications(run)
    assert len(notes) == 2
    assert calls == []  # no job of their own: the dispatching job sent them after its commit
    assert {(n.email_state, n.email_attempts) for n in notes} == {(EmailState.sent, 1)}
    assert len(outbox(client)) == 2


def test_emails_whose_sending_died_are_sent_by_the_sweep_once_their_claim_expires(
    client: TestClient, run: Runner, site: Site, monkeypatch: Any
) -> None:
    from datetime import timedelta

    from kerops.core.types import utcnow
    from kerops.notifications import jobs as notification_jobs

    async def died(*args: Any) -> None:
        return None  # the process stopped between the dispatch's commit and the emails

    monkeypatch.setattr(notification_jobs, "_email_written", died)
    raise_ticket(client, site.requester, site.locale)
    notes = _notifications(run)
    assert {(n.email_state, n.email_attempts) for n in notes} == {(EmailState.sending, 1)}
    assert outbox(client) == []
    monkeypatch.undo()
    run_job(client, "notifications.email_sweep")  # claimed a moment ago: left alone
    assert outbox(client) == []

    async def expire(session: AsyncSession) -> None:
        past = utcnow() - notification_jobs.EMAIL_CLAIM - timedelta(seconds=1)
        await session.execute(update(Notification).values(emailed_at=past))

    run(expire)
    run_job(client, "notifications.email_sweep")
    assert {(n.email_state, n.email_attempts) for n in _notifications(run)} == {
        (EmailState.sent, 2)
    }
    assert sorted(m.to for m in outbox(client)) == sorted([site.manager.email, site.manager2.email])


def test_a_failed_dispatch_sends_no_email(
    client: TestClient, run: Runner, site: Site, monkeypatch: Any
) -> None:
    async def broken(ctx: Any, event: Event) -> None:
        raise RuntimeError("webhooks down")

    # After the in-app subscriber: its notifications and their emails are undone with it.
    monkeypatch.setitem(events.SUBSCRIBERS, "notifications.webhooks", broken)
    raise_ticket(client, site.requester, site.locale)
    assert _notifications(run) == [] and outbox(client) == []
    monkeypatch.undo()

    async def event_id(session: AsyncSession) -> str:
        return str((await session.execute(select(Event.id))).scalar_one())

    run_job(client, "events.dispatch", event_id=run(event_id))
    assert len(outbox(client)) == 2
    assert {n.email_state for n in _notifications(run)} == {EmailState.sent}


def test_one_failing_recipient_does_not_stop_the_others(
    client: TestClient, run: Runner, site: Site, monkeypatch: Any
) -> None:
    restore = _mail_refused(client, monkeypatch, lambda message: message.to == site.manager.email)
    raise_ticket(client, site.requester, site.locale)
    by_user = {n.user_id: n for n in _notifications(run)}
    failed, sent = by_user[site.manager.id], by_user[site.manager2.id]
    assert (failed.email_state, failed.email_attempts) == (EmailState.pending, 1)
    assert (sent.email_state, sent.email_attempts) == (EmailState.sent, 1)
    assert [m.to for m in outbox(client)] == [site.manager2.email]
    # A duplicate message for both claims only the pending one, and sends it now.
    restore()
    run_job(client, "notifications.send_emails", notification_ids=[str(failed.id), str(sent.id)])
    assert {n.email_state for n in _notifications(run)} == {EmailState.sent}
    assert sorted(m.to for m in outbox(client)) == sorted([site.manager.email, site.manager2.email])
    run_job(client, "notifications.send_emails", notification_ids=[str(failed.id), str(sent.id)])
    assert len(outbox(client)) == 2


def test_a_failed_email_is_tried_again_by_the_sweep(
    client: TestClient, run: Runner, site: Site, monkeypatch: Any
) -> None:
    restore = _mail_refused(client, monkeypatch, lambda message: True)
    raise_ticket(client, site.requester, site.locale)
    notes = _notifications(run)
    assert {(n.email_state, n.email_attempts) for n in notes} == {(EmailState.pending, 1)}
    restore()

    async def age(session: AsyncSession) -> None:
        from datetime import timedelta

        from kerops.core.types import utcnow

        past = utcnow() - timedelta(hours=1)
        await session.execute(update(Notification).values(created_at=past, emailed_at=past))

    run(age)
    run_job(client, "notifications.email_sweep")
    assert {n.email_state for n in _notifications(run)} == {EmailState.sent}
    assert len(outbox(client)) == 2


def test_email_can_be_switched_off(client: TestClient, run: Runner, site: Site) -> None:
    client.app.state.kerops.settings.notification_email = False  # type: ignore[attr-defined]
    raise_ticket(client, site.requester, site.locale)
    assert {n.email_state for n in _notifications(run)} == {EmailState.none}
    assert outbox(client) == []


def test_client_wide_managers_hear_what_every_locales_managers_hear(
    client: TestClient, run: Runner, site: Site
) -> None:
    assert site.owner.client_id is not None
    kiosk = make_locale(run, site.owner.client_id, "Kiosco")  # created after the grant
    manager = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=site.owner.client_id,
        client_role=ClientRole.manager,
    )
    viewer = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=site.owner.client_id,
        client_role=ClientRole.viewer,
    )
    add_member(run, site.owner.client_id, kiosk, site.requester.id, LocalRole.requester)
    raise_ticket(client, site.requester, kiosk)
    raise_ticket(client, site.requester, site.locale)
    assert types_of(client, manager) == ["ticket.created", "ticket.created"]
    assert types_of(client, viewer) == []
    # A locale whose only manager is client-wide has a manager: the owner does not stand in.
    assert types_of(client, site.owner) == []
    assert inbox(client, site.other_manager) == []


def test_the_owner_after_a_hand_over_hears_what_the_owner_hears(
    client: TestClient, run: Runner, site: Site
) -> None:
    assert site.owner.client_id is not None
    admin = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=site.owner.client_id,
        client_role=ClientRole.admin,
    )
    handed = client.post(
        f"{API}/clients/{site.owner.client_id}/transfer-ownership",
        json={"user_id": str(admin.id)},
        headers=site.owner.headers,
    )
    assert handed.status_code == 200, handed.text
    scope = {
        "client_id": site.owner.client_id,
        "locale_id": site.locale,
        "subject_type": "ticket",
        "subject_id": uuid.uuid4(),
        "payload": {"number": 7, "title": "Ascensor detenido"},
    }
    emit(client, "sla.breached", **scope)
    assert types_of(client, admin) == ["sla.breached"]
    assert types_of(client, site.owner) == []  # now an admin, no longer the owner
