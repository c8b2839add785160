"""Purchase orders: amounts computed by the server, the lifecycle and its refusals, approval
rules, placing (on order, PDF e-mailed), receipts into the ledger, tolerance, cancel and close."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.core.mail import Attachment, OutgoingMessage, build_email
from kerops.core.types import uuid7
from kerops.inventory import ledger
from kerops.inventory.models import InventoryMovement
from kerops.purchasing import amounts
from kerops.purchasing import service as purchasing_service
from kerops.purchasing.models import PurchaseOrder
from kerops.purchasing.pdf import format_rut
from tests.conftest import QueryCounter, as_platform
from tests.fixtures.assets import make_product
from tests.fixtures.factories import Runner, add_member, make_locale, make_user, register_owner
from tests.purchasing.conftest import API, VENDOR_EMAIL, Shop, make_contact_vendor, q


def outbox(client: TestClient) -> list[Any]:
    return list(client.app.state.kerops.sender.outbox)  # type: ignore[attr-defined]


# --- amounts -------------------------------------------------------------------------------------


def test_a_line_is_rounded_half_up_to_the_minor_unit() -> None:
    assert amounts.line_net(Decimal(3), 999) == 2997
    # 1.234 kg at $ 999 = 1232.766 → 1233
    assert amounts.line_net(Decimal("1.234"), 999) == 1233
    # exactly half a peso rounds up
    assert amounts.line_net(Decimal("0.5"), 1) == 1
    assert amounts.line_net(Decimal("0.001"), 499) == 0


def test_iva_is_rounded_once_on_the_orders_net() -> None:
    # 2997 + 1233 = 4230; 19 % = 803.7 → 804
    assert amounts.totals([2997, 1233]) == amounts.Totals(4230, 804, 5034)
    # 50 * 19 / 100 = 9.5 → 10
    assert amounts.totals([10] * 5).tax_minor == 10
    # 7 lines of 10: on the total 13.3 → 13; line by line it would be 7 * round(1.9) = 14
    assert amounts.totals([10] * 7).tax_minor == 13


def test_the_server_computes_the_amounts(shop: Shop) -> None:
    made = shop.new_order(
        lines=[
            {"product_id": str(shop.filter), "quantity": 3, "unit_price_minor": 999},
            {"product_id": str(shop.grease), "quantity": "1.234", "unit_price_minor": 999},
        ]
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["net_minor"], body["tax_minor"], body["total_minor"]) == (4230, 804, 5034)
    assert body["status"] == "draft" and body["number"] == 1
    detail = shop.detail(body["id"])
    assert [line["net_minor"] for line in detail["lines"]] == [2997, 1233]
    assert q(detail["lines"][1]["quantity"]) == Decimal("1.234")
    assert [e["to_status"] for e in detail["events"]] == ["draft"]
    assert shop.new_order().json()["number"] == 2


def test_amounts_in_the_body_are_refused(shop: Shop) -> None:
    response = shop.new_order(total_minor=1)
    assert response.status_code == 422


# --- bad input -----------------------------------------------------------------------------------


def _code(response: Any) -> str:
    code: str = response.json()["code"]
    return code


def test_a_currency_the_client_does_not_use_is_refused(shop: Shop) -> None:
    response = shop.new_order(currency="USD")
    assert response.status_code == 422 and _code(response) == "currency_not_used"


def test_foreign_ids_are_not_found(shop: Shop, client: TestClient, run: Runner) -> None:
    other = register_owner(client)
    assert other.client_id is not None
    foreign_product = make_product(run, other.client_id)
    foreign_vendor = make_contact_vendor(run, other.client_id, None, rut="11111111-1")
    line = {"product_id": str(foreign_product), "quantity": 1, "unit_price_minor": 1}
    assert shop.new_order(lines=[line]).status_code == 404
    assert shop.new_order(vendor_id=str(foreign_vendor)).status_code == 404
    # a vendor of the platform's network may be used
    platform = make_contact_vendor(run, None, None, rut="22222222-2")
    assert shop.new_order(vendor_id=str(platform)).status_code == 201


def test_bad_quantities_are_refused(shop: Shop) -> None:
    for quantity in (0, -1, "abc"):
        line = {"product_id": str(shop.filter), "quantity": quantity, "unit_price_minor": 1}
        assert shop.new_order(lines=[line]).status_code == 422
    # a piece has no decimals; a kilogram three
    line = {"product_id": str(shop.filter), "quantity": "1.5", "unit_price_minor": 1}
    response = shop.new_order(lines=[line])
    assert response.status_code == 422 and _code(response) == "too_many_decimals"
    line = {"product_id": str(shop.grease), "quantity": "1.0005", "unit_price_minor": 1}
    response = shop.new_order(lines=[line])
    assert response.status_code == 422 and _code(response) == "too_many_decimals"
    # a service line needs a description and takes up to two decimals
    assert shop.new_order(lines=[{"quantity": 1, "unit_price_minor": 1}]).status_code == 422
    service = {"description": "Flete", "quantity": "1.5", "unit_price_minor": 20000}
    assert shop.new_order(lines=[service]).status_code == 201
    assert (
        shop.client.get(f"{API}/purchase-orders", headers=shop.owner.headers).json()["items"][0][
            "total_minor"
        ]
        == 35700
    )


# --- lifecycle -----------------------------------------------------------------------------------


def test_the_submitter_cannot_approve_their_own_order(shop: Shop) -> None:
    order = shop.new_order().json()["id"]
    assert shop.post(f"/purchase-orders/{order}/submit").status_code == 200
    response = shop.post(f"/purchase-orders/{order}/approve")
    assert response.status_code == 403 and _code(response) == "own_order"
    assert shop.post(f"/purchase-orders/{order}/approve", shop.admin).status_code == 200


def test_wrong_moves_are_409(shop: Shop) -> None:
    order = shop.new_order(shop.admin).json()["id"]
    base = f"/purchase-orders/{order}"
    receipt = {"lines": [{"line_id": shop.detail(order)["lines"][0]["id"], "quantity": 1}]}
    for path, body in (
        ("approve", {}),
        ("reject", {"reason": "no"}),
        ("order", {}),
        ("close", {}),
        ("receipts", receipt),
    ):
        response = shop.post(f"{base}/{path}", **body)
        assert response.status_code == 409 and _code(response) == "invalid_transition", path
    assert shop.post(f"{base}/submit", shop.admin).status_code == 200
    for path in ("submit", "order", "close"):
        assert _code(shop.post(f"{base}/{path}")) == "invalid_transition"
    # a submitted order is not edited
    patched = shop.client.patch(f"{API}{base}", json={"notes": "x"}, headers=shop.owner.headers)
    assert patched.status_code == 409
    assert shop.post(f"{base}/approve").status_code == 200
    assert _code(shop.post(f"{base}/approve")) == "invalid_transition"
    # the whole refused sequence wrote nothing but the three moves
    assert [e["to_status"] for e in shop.detail(order)["events"]] == [
        "draft",
        "submitted",
        "approved",
    ]


def test_a_rejected_order_is_edited_and_submitted_again(shop: Shop) -> None:
    order = shop.new_order(shop.admin).json()["id"]
    base = f"/purchase-orders/{order}"
    shop.post(f"{base}/submit", shop.admin)
    assert shop.post(f"{base}/reject").status_code == 422  # a reason is required
    rejected = shop.post(f"{base}/reject", reason="Muy caro")
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Muy caro"
    patched = shop.client.patch(
        f"{API}{base}",
        json={"lines": [{"product_id": str(shop.filter), "quantity": 5, "unit_price_minor": 900}]},
        headers=shop.admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["net_minor"] == 4500 and patched.json()["tax_minor"] == 855
    assert shop.post(f"{base}/submit", shop.admin).json()["status"] == "submitted"
    events = shop.detail(order)["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "rejected"),
        ("rejected", "submitted"),
    ]
    assert events[2]["reason"] == "Muy caro"


def test_approval_rules_ask_for_a_role_by_amount(shop: Shop) -> None:
    rule = shop.post("/purchase-approval-rules", min_total_minor=100_000, role="owner")
    assert rule.status_code == 201, rule.text
    assert (
        shop.post("/purchase-approval-rules", min_total_minor=100_000, role="admin").status_code
        == 409
    )
    assert (
        shop.post(
            "/purchase-approval-rules", shop.manager, min_total_minor=1, role="admin"
        ).status_code
        == 403
    )
    shop.post("/purchase-approval-rules", min_total_minor=0, role="manager")
    # 10 * 1000 + IVA = 11 900: the manager rule applies
    small = shop.new_order(shop.admin).json()["id"]
    shop.post(f"/purchase-orders/{small}/submit", shop.admin)
    assert shop.post(f"/purchase-orders/{small}/approve", shop.manager).status_code == 200
    # 100 * 1000 + IVA = 119 000: only the owner
    line = {"product_id": str(shop.filter), "quantity": 100, "unit_price_minor": 1000}
    big = shop.new_order(shop.manager, lines=[line]).json()["id"]
    shop.post(f"/purchase-orders/{big}/submit", shop.manager)
    refused = shop.post(f"/purchase-orders/{big}/approve", shop.admin)
    assert refused.status_code == 403 and _code(refused) == "approver_role"
    assert shop.post(f"/purchase-orders/{big}/approve").status_code == 200


def test_without_rules_a_client_admin_approves(shop: Shop) -> None:
    order = shop.new_order(shop.manager).json()["id"]
    shop.post(f"/purchase-orders/{order}/submit", shop.manager)
    other_manager = make_user(
        shop.client,
        shop.run,
        role=UserRole.client_member,
        client_id=shop.client_id,
        client_role=ClientRole.manager,
    )
    assert _code(shop.post(f"/purchase-orders/{order}/approve", other_manager)) == "approver_role"
    assert shop.post(f"/purchase-orders/{order}/approve", shop.admin).status_code == 200


def test_placing_puts_the_lines_on_order_and_emails_the_pdf(shop: Shop) -> None:
    order = shop.ordered()
    assert order["status"] == "ordered" and order["ordered_at"]
    stock = shop.stock(shop.filter)
    assert stock is not None and stock.on_order == 10 and stock.on_hand == 0
    mails = [m for m in outbox(shop.client) if m.to == VENDOR_EMAIL]
    assert len(mails) == 1
    [attachment] = mails[0].attachments
    assert attachment.filename == "OC-000001.pdf" and attachment.content.startswith(b"%PDF")
    # in the client's language (es-CL)
    assert mails[0].subject == "Orden de compra OC-000001"
    assert b"Orden de compra" in attachment.content


def test_an_order_to_a_vendor_without_email_is_placed_with_a_note(shop: Shop, run: Runner) -> None:
    silent = make_contact_vendor(run, shop.client_id, None, rut="11111111-1")
    order = shop.ordered(vendor_id=str(silent))
    assert order["status"] == "ordered"
    assert order["events"][-1]["reason"]
    assert outbox(shop.client) == []


def test_the_pdf_is_in_spanish_with_the_vendors_rut(shop: Shop) -> None:
    order = shop.new_order(
        lines=[{"product_id": str(shop.filter), "quantity": 1000, "unit_price_minor": 1234}]
    ).json()
    path = f"{API}/purchase-orders/{order['id']}/pdf"
    response = shop.client.get(path, headers={**shop.owner.headers, "Accept-Language": "es-CL"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    for text in ("OC-000001", "Orden de compra", "Proveedor", "76.086.428-5", "$ 1.234.000"):
        assert text.encode("latin-1") in pdf.replace(b"\xa0", b" "), text
    # net 1 234 000, IVA 234 460, total 1 468 460
    assert b"234.460" in pdf and b"1.468.460" in pdf
    english = shop.client.get(path, headers={**shop.owner.headers, "Accept-Language": "en"})
    assert b"Purchase order" in english.content and b"Vendor" in english.content


def test_a_rut_is_printed_with_dots() -> None:
    assert format_rut("76086428-5") == "76.086.428-5"
    assert format_rut("1234567-K") == "1.234.567-K"


# --- receipts ------------------------------------------------------------------------------------


def _receive(shop: Shop, order: dict[str, Any], *lines: tuple[int, Any, int | None]) -> Any:
    body = []
    for index, quantity, price in lines:
        entry: dict[str, Any] = {"line_id": order["lines"][index]["id"], "quantity": quantity}
        if price is not None:
            entry["unit_price_minor"] = price
        body.append(entry)
    return shop.post(f"/purchase-orders/{order['id']}/receipts", lines=body)


def test_partial_and_repeated_receipts_move_stock_at_their_price(shop: Shop) -> None:
    order = shop.ordered()
    first = _receive(shop, order, (0, 4, None))
    assert first.status_code == 200 and first.json()["status"] == "partially_received"
    stock = shop.stock(shop.filter)
    assert stock is not None
    assert (stock.on_hand, stock.on_order, stock.average_cost_minor) == (4, 6, 1000)
    # the rest at a new price: (4 * 1000 + 6 * 1300) / 10 = 1180
    second = _receive(shop, order, (0, 6, 1300))
    assert second.json()["status"] == "received" and second.json()["received_at"]
    stock = shop.stock(shop.filter)
    assert stock is not None
    assert (stock.on_hand, stock.on_order, stock.average_cost_minor) == (10, 0, 1180)
    receipts = shop.client.get(
        f"{API}/purchase-orders/{order['id']}/receipts", headers=shop.owner.headers
    ).json()["items"]
    assert [(q(r["quantity"]), r["unit_cost_minor"]) for r in receipts] == [(4, 1000), (6, 1300)]
    assert all(r["document_id"] == order["lines"][0]["id"] for r in receipts)
    assert shop.detail(order["id"])["lines"][0]["received"] == "10"
    assert shop.run(lambda s: ledger.verify(s)) == []
    closed = shop.post(f"/purchase-orders/{order['id']}/close")
    assert closed.json()["status"] == "closed"


def test_over_receipt_is_refused_unless_tolerated(shop: Shop) -> None:
    order = shop.ordered()
    refused = _receive(shop, order, (0, 11, None))
    assert refused.status_code == 409 and _code(refused) == "over_receipt"
    stock = shop.stock(shop.filter)
    assert stock is not None and stock.on_hand == 0 and stock.on_order == 10
    assert (
        shop.client.put(
            f"{API}/purchasing/settings",
            json={"over_receipt_percent": 10},
            headers=shop.manager.headers,
        ).status_code
        == 403
    )
    put = shop.client.put(
        f"{API}/purchasing/settings", json={"over_receipt_percent": 10}, headers=shop.owner.headers
    )
    assert put.status_code == 200 and put.json() == {"over_receipt_percent": 10}
    got = shop.client.get(f"{API}/purchasing/settings", headers=shop.manager.headers)
    assert got.json() == {"over_receipt_percent": 10}
    assert _receive(shop, order, (0, 12, None)).status_code == 409
    accepted = _receive(shop, order, (0, 11, None))
    assert accepted.json()["status"] == "received"
    stock = shop.stock(shop.filter)
    assert stock is not None and stock.on_hand == 11 and stock.on_order == 0


def test_service_lines_are_received_without_stock(shop: Shop, run: Runner) -> None:
    order = shop.ordered(lines=[{"description": "Flete", "quantity": 1, "unit_price_minor": 5000}])
    assert _receive(shop, order, (0, 1, None)).json()["status"] == "received"

    async def count(session: Any) -> int:
        return int((await session.execute(select(func.count(InventoryMovement.id)))).scalar())

    assert run(count) == 0


def test_cancel_before_any_receipt_releases_what_was_on_order(shop: Shop) -> None:
    order = shop.ordered()
    assert shop.post(f"/purchase-orders/{order['id']}/cancel").status_code == 422
    cancelled = shop.post(f"/purchase-orders/{order['id']}/cancel", reason="Proveedor sin stock")
    assert cancelled.json()["status"] == "cancelled"
    stock = shop.stock(shop.filter)
    assert stock is not None and stock.on_order == 0
    refused = _receive(shop, order, (0, 1, None))
    assert refused.status_code == 409 and _code(refused) == "invalid_transition"


def test_no_cancel_after_a_receipt_but_a_short_close(shop: Shop) -> None:
    order = shop.ordered()
    _receive(shop, order, (0, 3, None))
    refused = shop.post(f"/purchase-orders/{order['id']}/cancel", reason="x")
    assert refused.status_code == 409 and _code(refused) == "invalid_transition"
    closed = shop.post(f"/purchase-orders/{order['id']}/close")
    assert closed.json()["status"] == "closed"
    stock = shop.stock(shop.filter)
    assert stock is not None and stock.on_hand == 3 and stock.on_order == 0


def test_receipt_lines_must_be_the_orders(shop: Shop) -> None:
    order = shop.ordered()
    other = shop.ordered()
    body = {"lines": [{"line_id": other["lines"][0]["id"], "quantity": 1}]}
    response = shop.post(f"/purchase-orders/{order['id']}/receipts", **body)
    assert response.status_code == 422 and _code(response) == "unknown_line"


# --- access --------------------------------------------------------------------------------------


def test_who_reads_and_who_changes_orders(shop: Shop, client: TestClient, run: Runner) -> None:
    order = shop.new_order().json()["id"]
    technician = make_user(client, run, role=UserRole.technician, client_id=shop.client_id)
    viewer = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=shop.client_id,
        client_role=ClientRole.viewer,
    )
    locale = make_locale(run, shop.client_id)
    locale_manager = make_user(client, run, role=UserRole.client_member, client_id=shop.client_id)
    add_member(run, shop.client_id, locale, locale_manager.id, LocalRole.manager)
    path = f"{API}/purchase-orders/{order}"
    assert client.get(path, headers=viewer.headers).status_code == 200
    assert client.post(f"{path}/submit", headers=viewer.headers).status_code == 403
    for outsider in (technician, locale_manager):
        assert client.get(path, headers=outsider.headers).status_code == 404
        assert shop.new_order(outsider).status_code == 404
    assert client.post(f"{API}/inventory/reorder", headers=viewer.headers).status_code == 403


def test_an_email_carries_its_attachments() -> None:
    message = OutgoingMessage(
        channel="email",
        to="a@b.example",
        subject="OC",
        body="Adjunto",
        attachments=(Attachment("OC-000001.pdf", "application/pdf", b"%PDF-1.4 x"),),
    )
    email: EmailMessage = build_email(message, "KER Ops <no-reply@kerops.local>")
    [part] = list(email.iter_attachments())
    assert part.get_filename() == "OC-000001.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == b"%PDF-1.4 x"


def test_concurrent_orders_get_distinct_numbers(shop: Shop) -> None:
    state = shop.client.app.state.kerops  # type: ignore[attr-defined]

    async def one() -> int:
        async with state.db.sessions() as session:
            order = PurchaseOrder(
                id=uuid7(),
                client_id=shop.client_id,
                vendor_id=shop.vendor,
                warehouse_id=shop.warehouse,
                currency="CLP",
            )
            await purchasing_service.add_order(session, order)
            await session.commit()
            return order.number

    async def many() -> list[int]:
        return list(await asyncio.gather(*(one() for _ in range(8))))

    numbers = shop.client.portal.call(as_platform(many))  # type: ignore[union-attr]
    assert sorted(numbers) == list(range(1, 9))


def test_the_list_finds_an_order_by_its_number(shop: Shop) -> None:
    shop.new_order()
    second = shop.new_order(notes="Urgente: bodega sin filtros").json()["id"]
    for q_text in ("2", "#2", "OC-000002", "urgente"):
        found = shop.client.get(
            f"{API}/purchase-orders", params={"q": q_text}, headers=shop.owner.headers
        ).json()["items"]
        assert [o["id"] for o in found] == [second], q_text


def _ordered_with(shop: Shop, products: list[Any]) -> dict[str, Any]:
    lines = [
        {"product_id": str(p), "quantity": 5, "unit_price_minor": 1000 + n}
        for n, p in enumerate(products)
    ]
    order = shop.ordered(lines=lines)
    assert len(order["lines"]) == len(products)
    return order


def test_a_receipt_costs_the_same_statements_for_1_line_and_for_20(
    shop: Shop, run: Runner, queries: QueryCounter
) -> None:
    from tests.purchasing.conftest import make_stocked_product

    many = [make_stocked_product(run, shop.client_id, f"MANY-{n}") for n in range(20)]
    one = _ordered_with(shop, [shop.filter])
    twenty = _ordered_with(shop, many)
    counts = []
    for order in (one, twenty):
        lines = [(n, 5, 1200) for n in range(len(order["lines"]))]
        with queries:
            received = _receive(shop, order, *lines)
        assert received.status_code == 200, received.text
        assert received.json()["status"] == "received"
        counts.append(queries.count)
    assert counts[0] == counts[1], counts
    stock = shop.stock(many[-1])
    assert stock is not None and (stock.on_hand, stock.on_order) == (5, 0)
    assert stock.average_cost_minor == 1200
    assert shop.detail(twenty["id"])["lines"][19]["received"] == "5"
    assert shop.run(lambda s: ledger.verify(s)) == []


def test_two_lines_of_one_product_are_received_together(shop: Shop) -> None:
    order = shop.ordered(
        lines=[
            {"product_id": str(shop.filter), "quantity": 4, "unit_price_minor": 1000},
            {"product_id": str(shop.filter), "quantity": 6, "unit_price_minor": 1500},
        ]
    )
    stock = shop.stock(shop.filter)
    assert stock is not None and stock.on_order == 10
    received = _receive(shop, order, (0, 4, None), (1, 6, None))
    assert received.status_code == 200 and received.json()["status"] == "received"
    stock = shop.stock(shop.filter)
    # one stock row, each line's movement at its own price: (4 * 1000 + 6 * 1500) / 10 = 1300
    assert stock is not None
    assert (stock.on_hand, stock.on_order, stock.average_cost_minor) == (10, 0, 1300)
    receipts = shop.client.get(
        f"{API}/purchase-orders/{order['id']}/receipts", headers=shop.owner.headers
    ).json()["items"]
    assert sorted((r["document_id"], q(r["quantity"]), r["unit_cost_minor"]) for r in receipts) == (
        sorted([(order["lines"][0]["id"], 4, 1000), (order["lines"][1]["id"], 6, 1500)])
    )
    assert shop.run(lambda s: ledger.verify(s)) == []
