"""The pages a person opens in a browser: the landing page (``/``), Swagger UI (``/docs``) and
ReDoc (``/redoc``), and the files they load (``/static/...``), all from the installed package.

The scripts and styles of Swagger UI and ReDoc are the release files the ``fastapi-offline``
package ships (docs/api.md, "Dependencies"); the pages and their start-up scripts are ours, so
that no page runs an inline script and each is served with a content security policy that
loads from its own origin only (``CSP_BY_PATH``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from kerops import __version__
from kerops.core.conditional import takes_any_query
from kerops.core.errors import NotFound
from kerops.core.i18n import choose, gettext
from kerops.core.routing import API_PREFIX

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC_URL = "/static"
HEALTH_URL = f"{API_PREFIX}/health"

#: The landing page: styles of its own origin, nothing else (no script, no form, no frame).
LANDING_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
#: Swagger UI: scripts, styles, images and API calls of its own origin only. Its stylesheet
#: draws icons as ``data:`` images (inline, nothing fetched).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
#: The inline styles ReDoc's bundle adds, allowed by their hashes (no other inline style): the
#: empty ``<style>`` elements its styled components fill through the CSSOM, and the
#: stylesheet of its scrollbars as this release of the bundle writes it (a new release of
#: ``fastapi-offline`` may change it: tests/web/test_browser.py reports the hash it needs).
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # "" (an empty style element)
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's stylesheet
)
#: ReDoc: as Swagger UI, and its search runs in a worker made from a ``blob:`` of its script.
REDOC_CSP = (
    f"default-src 'none'; script-src 'self'; style-src 'self' {' '.join(REDOC_STYLE_HASHES)}; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CSP_BY_PATH = {
    "/": LANDING_CSP,
    DOCS_URL: DOCS_CSP,
    REDOC_URL: REDOC_CSP,
    OAUTH2_REDIRECT_URL: DOCS_CSP,
}

_TEXT = "text/html; charset=utf-8"
_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
_SVG = "image/svg+xml"


def _own(name: str) -> Traversable:
    return resources.files("kerops.web") / "static" / name


def _vendored(name: str) -> Traversable:
    return resources.files("fastapi_offline") / "static" / name


#: The files the pages load: name -> (where it is, media type).
STATIC_FILES: dict[str, tuple[Any, str]] = {
    "kerops.css": (_own, _CSS),
    "favicon.svg": (_own, _SVG),
    "swagger-init.js": (_own, _JS),
    "redoc-init.js": (_own, _JS),
    "oauth2-redirect.js": (_own, _JS),
    "swagger-ui-bundle.js": (_vendored, _JS),
    "swagger-ui.css": (_vendored, _CSS),
    "redoc.standalone.js": (_vendored, _JS),
}
#: What a vendored file would load from another origin, replaced as it is served: ReDoc's
#: "API docs by Redocly" mark is an image from its CDN; an empty image of its own stands in.
EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E"
PATCHES: dict[str, tuple[tuple[bytes, bytes], ...]] = {
    "redoc.standalone.js": ((b"https://cdn.redoc.ly/redoc/logo-mini.svg", EMPTY_SVG.encode()),),
}
#: Browsers may keep a file an hour (it changes only with an upgrade of the package).
STATIC_CACHE = "public, max-age=3600"


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("kerops.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _static(name: str) -> bytes:
    where, _ = STATIC_FILES[name]
    data: bytes = where(name).read_bytes()
    for old, new in PATCHES.get(name, ()):
        data = data.replace(old, new)
    return data


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _html(template: str, *, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    return render_page(template, headers=headers, **context)


def render_page(
    template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """A page of ``templates/`` rendered with ``context`` (autoescaped)."""
    body = _templates().get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code, media_type=_TEXT, headers=headers)


def root_path(request: Request) -> str:
    """The path the app is mounted under (empty at the root), for the links a page writes."""
    return _root(request)


router = APIRouter(tags=["pages"])


@router.get(
    "/",
    response_class=HTMLResponse,
    operation_id="getLandingPage",
    summary="The landing page",
    responses={200: {"content": {"text/html": {}}, "description": "The landing page"}},
)
@takes_any_query  # links from elsewhere carry queries of their own (campaign tags, ...)
async def landing_page(request: Request) -> HTMLResponse:
    """What this service is, with links to the API documentation and the service status; in
    Spanish (Chile), or in English when the browser's ``Accept-Language`` prefers it."""
    language = choose(accept_language=request.headers.get("accept-language"))
    root = _root(request)
    return _html(
        "landing.html",
        headers={"Content-Language": language, "Vary": "Accept-Language"},
        language=language,
        _=lambda message, **params: gettext(message, language, **params),
        version=__version__,
        static=f"{root}{STATIC_URL}",
        docs_url=f"{root}{DOCS_URL}",
        redoc_url=f"{root}{REDOC_URL}",
        health_url=f"{root}{HEALTH_URL}",
        openapi_url=f"{root}{OPENAPI_URL}",
    )


@router.get(DOCS_URL, include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over the app's OpenAPI document."""
    root = _root(request)
    return _html(
        "swagger.html",
        title=f"{request.app.title} - Swagger UI",
        static=f"{root}{STATIC_URL}",
        openapi_url=f"{root}{OPENAPI_URL}",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
    )


@router.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
async def swagger_ui_oauth2_redirect(request: Request) -> HTMLResponse:
    """Where an OAuth2 provider sends the browser back to Swagger UI."""
    return _html("oauth2-redirect.html", static=f"{_root(request)}{STATIC_URL}")


@router.get(REDOC_URL, include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc over the app's OpenAPI document."""
    root = _root(request)
    return _html(
        "redoc.html",
        title=f"{request.app.title} - ReDoc",
        static=f"{root}{STATIC_URL}",
        openapi_url=f"{root}{OPENAPI_URL}",
    )


@router.get(STATIC_URL + "/{name}", include_in_schema=False)
async def static_file(name: str) -> Response:
    """One of the files the pages load (``STATIC_FILES``); any other name is a 404."""
    if name not in STATIC_FILES:
        raise NotFound("No such file.")
    return Response(
        _static(name),
        media_type=STATIC_FILES[name][1],
        headers={"Cache-Control": STATIC_CACHE},
    )
