"""Isolation cases of the pages for people: all public, none reads tenant data."""

from __future__ import annotations

from tests.isolation import public

PUBLIC = {
    ("GET", "/"): public(
        "the landing page: what the service is and links to its documentation; it reads no data"
    ),
}

#: The pages and files served outside the OpenAPI document (like ``/openapi.json`` itself), each
#: public with the reason; ``tests/test_isolation.py`` fails for a served path not listed here.
PAGES = {
    ("GET", "/openapi.json"): public("the API's own description; no data"),
    ("GET", "/docs"): public(
        "Swagger UI's page; it reads no data, the calls it makes are the API's"
    ),
    ("GET", "/docs/oauth2-redirect"): public("where an OAuth2 sign-in returns to Swagger UI"),
    ("GET", "/redoc"): public("ReDoc's page; no data"),
    ("GET", "/static/{name}"): public("the pages' scripts, styles and icon, from the package"),
}

#: The pages outside the OpenAPI document that read a client's data, each public by design with
#: the reason; ``tests/test_isolation.py`` calls them as every outsider and
#: ``tests/test_query_budgets.py`` counts their statements (``DATA_PAGE_BUDGETS``).
DATA_PAGES = {
    ("GET", "/scan/{code}"): public(
        "the page an asset's QR code opens: the asset's name and code, its locale and area and "
        "how many tickets are open, as the JSON scan route shows; no id, no person"
    ),
    ("POST", "/scan/{code}"): public(
        "anyone on site reports a fault from the QR code's page (a CSRF token of that page "
        "required); answers only the new ticket's number and its follow-up link"
    ),
    ("GET", "/follow-up/{token}"): public(
        "the reporter's private follow-up page: the unguessable token is the credential; it "
        "shows one ticket's number, state and public steps, nothing else"
    ),
}
