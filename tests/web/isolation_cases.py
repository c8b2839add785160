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
