"""The landing page and the API references (Swagger UI, ReDoc): served from the package, with
no asset from another origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from kerops import __version__

#: Anything that would make a browser reach another origin: an absolute or scheme-relative URL.
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+""", re.I)


class _Links(HTMLParser):
    """The URLs a page loads or links to (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        elif values.get("src"):
            self.loads.append(values["src"] or "")
        elif tag == "link" and values.get("href"):
            self.loads.append(values["href"] or "")


def _parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_the_landing_page_is_in_spanish_by_default(client: TestClient) -> None:
    client.headers.pop("accept-language", None)  # the shared client asks for English
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-language"] == "es-CL"
    assert "accept-language" in response.headers["vary"].lower()
    html = response.text
    assert '<html lang="es-CL">' in html
    assert "Gestión de mantenimiento" in html
    assert "Documentación interactiva de la API" in html
    assert f"Versión {__version__}" in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.4, es-AR;q=0.8", "es-CL"),
        ("de-DE", "es-CL"),
        ("", "es-CL"),
        ("en;q=0, es;q=abc", "es-CL"),
    ],
)
def test_the_landing_page_speaks_the_browsers_language(
    client: TestClient, accept: str, language: str
) -> None:
    response = client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert response.headers["content-language"] == language
    assert f'<html lang="{language}">' in response.text
    english = "Interactive API documentation" in response.text
    assert english == (language == "en")


def test_the_landing_page_links_the_docs_and_health_and_loads_nothing_external(
    client: TestClient,
) -> None:
    html = client.get("/", headers={"Accept-Language": "en"}).text
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    page = _parse(html)
    assert {"/docs", "/redoc", "/api/v1/health", "/openapi.json"} <= set(page.links)
    assert "<script" not in html
    for url in page.loads + page.links:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_load_only_same_origin_assets_that_are_served(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script>" not in html  # no inline script: the content security policy runs none
    loads = _parse(html).loads
    assert loads
    for url in loads:
        assert url.startswith("/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = {
            ".js": "text/javascript; charset=utf-8",
            ".css": "text/css; charset=utf-8",
            ".svg": "image/svg+xml",
        }[url[url.rindex(".") :]]
        assert asset.headers["content-type"] == expected, url
        assert asset.headers["cache-control"] == "public, max-age=3600"
        assert len(asset.content) > 100, url


def test_swagger_ui_and_redoc_are_the_release_bundles(client: TestClient) -> None:
    swagger = client.get("/static/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in swagger.content and len(swagger.content) > 500_000
    redoc = client.get("/static/redoc.standalone.js")
    assert b"Redoc" in redoc.content and len(redoc.content) > 500_000
    init = client.get("/static/swagger-init.js").text
    assert "validatorUrl: null" in init  # no badge fetched from the public validator


@pytest.mark.parametrize("name", ["nothing.js", "..%2Fpages.py", "__init__.py", "LICENSE"])
def test_an_unknown_static_file_is_a_404_problem(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_pages_are_not_in_the_api_reference_but_the_landing_page_is(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" in paths and paths["/"]["get"]["operationId"] == "getLandingPage"
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/static"))]
