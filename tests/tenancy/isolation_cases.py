"""Isolation cases of the tenancy routes: locales, their areas and their members."""

from __future__ import annotations

from tests.isolation import Case

P = "/api/v1"

LOCALE = "/locales/{locale_id}"
AREAS = f"{LOCALE}/areas"
AREA = f"{AREAS}/{{area_id}}"
MEMBERS = f"{LOCALE}/members"
MEMBER = f"{MEMBERS}/{{member_id}}"

CASES = {
    # Creating a locale for A's client (B's owner is not A; the others may not create at all).
    ("POST", f"{P}/locales"): Case(
        body=lambda w: {"name": "Intruso", "code": "X-1", "client_id": str(w.a_owner.client_id)},
    ),
    ("GET", f"{P}/locales"): Case(kind="list"),
    ("GET", f"{P}{LOCALE}"): Case(params=lambda w: {"locale_id": w.a_locale}),
    ("PATCH", f"{P}{LOCALE}"): Case(
        params=lambda w: {"locale_id": w.a_locale},
        body=lambda w: {"name": "Hacked", "is_active": False},
    ),
    ("DELETE", f"{P}{LOCALE}"): Case(params=lambda w: {"locale_id": w.a_locale}),
    # An area on A's locale, under A's area.
    ("POST", f"{P}{AREAS}"): Case(
        params=lambda w: {"locale_id": w.a_locale},
        body=lambda w: {"name": "Intrusa", "kind": "room", "parent_id": str(w.a_area)},
    ),
    ("GET", f"{P}{AREAS}"): Case(params=lambda w: {"locale_id": w.a_locale}, kind="list"),
    ("GET", f"{P}{AREA}"): Case(params=lambda w: {"locale_id": w.a_locale, "area_id": w.a_area}),
    ("PATCH", f"{P}{AREA}"): Case(
        params=lambda w: {"locale_id": w.a_locale, "area_id": w.a_area},
        body=lambda w: {"name": "Hacked", "parent_id": None},
    ),
    ("DELETE", f"{P}{AREA}"): Case(params=lambda w: {"locale_id": w.a_locale, "area_id": w.a_area}),
    # B's own locale, but the user to add is A's manager: a foreign id in the body is a 404.
    ("POST", f"{P}{MEMBERS}"): Case(
        params=lambda w: {"locale_id": w.b_locale},
        body=lambda w: {"user_id": str(w.a_manager.id), "role": "viewer"},
    ),
    ("GET", f"{P}{MEMBERS}"): Case(params=lambda w: {"locale_id": w.a_locale}, kind="list"),
    ("GET", f"{P}{MEMBER}"): Case(
        params=lambda w: {"locale_id": w.a_locale, "member_id": w.a_member}
    ),
    ("PATCH", f"{P}{MEMBER}"): Case(
        params=lambda w: {"locale_id": w.a_locale, "member_id": w.a_member},
        body=lambda w: {"role": "viewer"},
    ),
    ("DELETE", f"{P}{MEMBER}"): Case(
        params=lambda w: {"locale_id": w.a_locale, "member_id": w.a_member}
    ),
}
