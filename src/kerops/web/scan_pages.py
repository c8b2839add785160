"""The pages a person opens from an asset's QR code on a phone: the scan page (``/scan/{code}``:
the asset, its locale and area, its open tickets, and a fault-report form) and the follow-up page
(``/follow-up/{token}``: the ticket's state and public steps, no account needed; right after
the report, with its number and the link to keep).

Server-rendered, no script, styles of their own origin only (``SCAN_CSP``, ``FOLLOW_UP_CSP``);
Spanish (Chile) unless the browser prefers English or the page's language switch
(``?lang=en`` / ``?lang=es-CL``) says otherwise. The form's posts are protected against
cross-site requests by a signed token bound to a cookie (``CsrfGuard``, docs/api.md), and every
page is rate-limited per client address like the JSON scan routes (``KEROPS_PUBLIC_RATE_LIMIT``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as FormFile
from starlette.types import Message, Receive

from kerops.core.deps import CROSS_CLIENT, SessionDep, StateDep, client_ip
from kerops.core.errors import AppError, BodyTooLarge, TooManyRequests
from kerops.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, choose, gettext, ngettext, supported
from kerops.core.middleware import own_body_limit
from kerops.core.state import AppState
from kerops.core.storage.sniffing import IMAGE_TYPES
from kerops.core.storage.uploads import (
    MULTIPART_OVERHEAD,
    ObjectWritesDep,
    ReceivedFile,
    receive_upload,
)
from kerops.operations import scan as scan_service
from kerops.operations import scan_followup
from kerops.operations.scan_schemas import ReporterContact
from kerops.web.pages import STATIC_URL, render_page, root_path

SCAN_PAGE_URL = "/scan/{code}"
FOLLOW_UP_URL = "/follow-up/{token}"

#: The scan page: styles and images of its own origin, its form posts to its own origin only.
SCAN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The follow-up page and the error pages: no form at all.
FOLLOW_UP_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
#: A QR code's asset code (as the JSON scan route takes it).
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
#: A follow-up token (``secrets.token_urlsafe(32)``).
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{20,100}$")
#: The form's longest texts (as the ticket's columns and the JSON report take them).
MAX_DESCRIPTION = 5000
MAX_NAME = 200
#: How the es-CL pages write a date and time (the English ones write it the ISO way).
TIME_FORMATS = {"es-CL": "%d-%m-%Y %H:%M", "en": "%Y-%m-%d %H:%M"}

CSRF_COOKIE = "kerops_scan_csrf"
CSRF_FIELD = "csrf_token"
#: How long a page's form may wait before it is sent (then the page is opened again).
CSRF_MAX_AGE_SECONDS = 4 * 3600


class CsrfGuard:
    """Cross-site request forgery protection of the scan form, without a session.

    Opening the page sets a random nonce in a cookie (``HttpOnly``, ``SameSite=Strict``,
    ``Secure`` over HTTPS, scoped to ``/scan/``) and writes in the form a token signed with the
    service's secret binding that nonce to the asset's code and the time. A post is accepted
    only when its token's signature is valid, it is younger than ``CSRF_MAX_AGE_SECONDS``, names
    the asset posted to, and carries the nonce of the cookie the browser sent: another site can
    neither read the token nor make the browser send the cookie (``SameSite=Strict``)."""

    def __init__(self, secret: str) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="kerops.scan-page.csrf")

    @staticmethod
    def nonce(request: Request) -> str:
        """The browser's nonce, or a new one (to be set as the cookie)."""
        current = request.cookies.get(CSRF_COOKIE, "")
        return (
            current
            if re.fullmatch(r"[A-Za-z0-9_\-]{32,64}", current)
            else secrets.token_urlsafe(32)
        )

    def token(self, nonce: str, code: str) -> str:
        """The form's token for ``nonce`` and the asset ``code``."""
        return self._signer.dumps({"n": nonce, "c": code})

    def valid(self, request: Request, token: str, code: str) -> bool:
        """Whether a post's token is good for its cookie and asset."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not token:
            return False
        try:
            data = self._signer.loads(token, max_age=CSRF_MAX_AGE_SECONDS)
        except BadData:
            return False
        return (
            isinstance(data, dict)
            and data.get("c") == code
            and secrets.compare_digest(str(data.get("n", "")), cookie)
        )


@lru_cache(maxsize=8)
def _guard_for(secret: str) -> CsrfGuard:
    return CsrfGuard(secret)


def _guard(state: AppState) -> CsrfGuard:
    """The CSRF guard of an app (keyed by its secret, derived from ``KEROPS_SECRET_KEY``)."""
    return _guard_for(state.security.session_secret)


def page_language(request: Request, lang: str | None) -> str:
    """The page's language: the language switch's ``lang``, else the browser's, else es-CL."""
    return choose(lang, request.headers.get("accept-language"))


def _translator(language: str) -> dict[str, Callable[..., str]]:
    def _(message: str, **params: Any) -> str:
        return gettext(message, language, **params)

    def n_(singular: str, plural: str, n: int, **params: Any) -> str:
        return ngettext(singular, plural, n, language, **params)

    return {"_": _, "gettext": _, "ngettext": n_}


def local_time(moment: datetime, timezone: str, language: str) -> str:
    """``moment`` in the locale's time zone, as a person of ``language`` writes it."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("America/Santiago")
    return moment.astimezone(zone).strftime(TIME_FORMATS.get(language, TIME_FORMATS["es-CL"]))


def _switch(request: Request, language: str) -> list[dict[str, str | bool]]:
    """The language switch: a link to this page in each language (keeping ``sent``)."""
    names = {"es-CL": "Español", "en": "English"}
    sent = "&sent=1" if request.query_params.get("sent") == "1" else ""
    return [
        {
            "href": f"{request.url.path}?lang={other}{sent}",
            "label": names[other],
            "lang": other,
            "current": other == language,
        }
        for other in LANGUAGES
    ]


def _page(
    request: Request,
    template: str,
    language: str,
    *,
    status_code: int = 200,
    csp: str = FOLLOW_UP_CSP,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    return render_page(
        template,
        status_code=status_code,
        headers={
            "Content-Language": language,
            "Vary": "Accept-Language, Cookie",
            "Content-Security-Policy": csp,
            "Cache-Control": "no-store",
            **(headers or {}),
        },
        language=language,
        root=root_path(request),
        static=f"{root_path(request)}{STATIC_URL}",
        switch=_switch(request, language),
        **_translator(language),
        **context,
    )


def _problem_page(
    request: Request, language: str, status_code: int, kind: str, **context: Any
) -> HTMLResponse:
    """A friendly page for a request the scan pages cannot answer (``kind``: not_found,
    expired, too_many, too_large)."""
    headers = {}
    if isinstance(context.get("retry_after"), int):
        headers["Retry-After"] = str(context["retry_after"])
    return _page(
        request,
        "scan_problem.html",
        language,
        status_code=status_code,
        headers=headers,
        kind=kind,
        **context,
    )


async def _limit(request: Request, state: AppState, namespace: str) -> None:
    await state.limiter.hit(state.settings.public_rate_limit, namespace, client_ip(request))


router = APIRouter(tags=["pages"], dependencies=[CROSS_CLIENT])


async def _scan_form(
    request: Request,
    session: AsyncSession,
    state: AppState,
    code: str,
    language: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The scan page with its form (``values`` kept and ``errors`` shown after a refused post)."""
    asset = await scan_followup.asset_view(session, code=code)
    if asset is None:
        return _problem_page(request, language, 404, "not_found")
    guard = _guard(state)
    nonce = guard.nonce(request)
    response = _page(
        request,
        "scan.html",
        language,
        status_code=status_code,
        csp=SCAN_CSP,
        asset=asset,
        action=f"{root_path(request)}/scan/{code}",
        csrf_field=CSRF_FIELD,
        csrf_token=guard.token(nonce, code),
        values=values or {},
        errors=errors or {},
        max_description=MAX_DESCRIPTION,
        max_name=MAX_NAME,
    )
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        max_age=CSRF_MAX_AGE_SECONDS,
        path=f"{root_path(request)}/scan/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or state.settings.base_url.startswith("https:"),
    )
    return response


@router.get(SCAN_PAGE_URL, include_in_schema=False)
async def scan_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    code: Annotated[str, Path()],
    lang: Annotated[str | None, Query(description="The page's language: es-CL or en")] = None,
) -> HTMLResponse:
    """Public: the page a QR code opens (the asset, its open tickets, the fault-report form)."""
    language = page_language(request, lang)
    try:
        await _limit(request, state, "asset-scan")
    except TooManyRequests as exc:
        return _problem_page(
            request, language, 429, "too_many", retry_after=exc.extra["retry_after"]
        )
    if not CODE_PATTERN.match(code):
        return _problem_page(request, language, 404, "not_found")
    return await _scan_form(request, session, state, code, language)


def _bounded(receive: Receive, limit: int) -> Receive:
    received = 0

    async def bounded_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyOverLimit
        return message

    return bounded_receive


class _BodyOverLimit(Exception):
    """The form's body passed the upload limit while it was read."""


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _check(values: dict[str, str], language: str) -> dict[str, str]:
    """The form's errors by field (empty when the report can be raised)."""
    errors: dict[str, str] = {}
    description = values["description"]
    if not description:
        errors["description"] = gettext("Describe the fault.", language)
    elif len(description) > MAX_DESCRIPTION:
        limit = f"{MAX_DESCRIPTION:,}".replace(",", ".")
        errors["description"] = gettext("Use at most {limit} characters.", language, limit=limit)
    elif "\x00" in description:
        errors["description"] = gettext("The text holds a character that is not allowed.", language)
    if len(values["reporter_name"]) > MAX_NAME:
        errors["reporter_name"] = gettext(
            "Use at most {limit} characters.", language, limit=str(MAX_NAME)
        )
    elif "\x00" in values["reporter_name"]:
        errors["reporter_name"] = gettext(
            "The text holds a character that is not allowed.", language
        )
    contact = values["reporter_contact"]
    if contact:
        try:
            _CONTACT.validate_python(contact)
        except ValidationError:
            errors["reporter_contact"] = gettext(
                "Write an e-mail address or a phone number.", language
            )
    return errors


#: The contact's check, as the JSON report makes it (an e-mail address or a phone number).
_CONTACT: TypeAdapter[str] = TypeAdapter(ReporterContact)


@router.post(SCAN_PAGE_URL, include_in_schema=False, response_model=None)
@own_body_limit
async def send_report(
    request: Request,
    state: StateDep,
    session: SessionDep,
    writes: ObjectWritesDep,
    code: Annotated[str, Path()],
) -> HTMLResponse | RedirectResponse:
    """Public: the scan page's fault report (``multipart/form-data``, CSRF-protected); sends
    the browser to the new ticket's private follow-up page (303, its number and link shown), or
    answers the form again with its errors."""
    language = page_language(request, request.query_params.get("lang"))
    try:
        await _limit(request, state, "asset-scan-report")
    except TooManyRequests as exc:
        return _problem_page(
            request, language, 429, "too_many", retry_after=exc.extra["retry_after"]
        )
    if not CODE_PATTERN.match(code):
        return _problem_page(request, language, 404, "not_found")
    max_bytes: int = state.settings.attachment_max_bytes
    limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _problem_page(request, language, 413, "too_large", limit=_megabytes(max_bytes))
    bounded = Request(request.scope, _bounded(request.receive, limit))
    try:
        form = await bounded.form(max_files=1, max_fields=10)
    except (_BodyOverLimit, BodyTooLarge):
        return _problem_page(request, language, 413, "too_large", limit=_megabytes(max_bytes))
    except Exception:  # not a form (malformed multipart, another content type)
        return _problem_page(request, language, 400, "expired")
    try:
        language = page_language(request, _text(form, "lang") or request.query_params.get("lang"))
        token = form.get(CSRF_FIELD)
        if not isinstance(token, str) or not _guard(state).valid(request, token, code):
            return _problem_page(request, language, 403, "expired", code=code)
        values = {
            name: _text(form, name) for name in ("description", "reporter_name", "reporter_contact")
        }
        errors = _check(values, language)
        photo = form.get("photo")
        received: ReceivedFile | None = None
        if not errors and isinstance(photo, FormFile) and (photo.filename or photo.size):
            try:
                received = await receive_upload(
                    cast(UploadFile, photo),
                    max_bytes=max_bytes,
                    accepted=IMAGE_TYPES,
                    field="photo",
                )
            except AppError as exc:
                errors["photo"] = _photo_error(exc, max_bytes, language)
        if errors:
            return await _scan_form(
                request,
                session,
                state,
                code,
                language,
                values=values,
                errors=errors,
                status_code=422,
            )
        try:
            ticket = await scan_service.raise_report(
                session,
                code=code,
                description=values["description"],
                reporter_name=values["reporter_name"] or None,
                reporter_contact=values["reporter_contact"] or None,
                language=language,
                photo=received,
                writes=writes,
            )
        except AppError as exc:
            if exc.status_code == 404:
                return _problem_page(request, language, 404, "not_found")
            raise
        finally:
            if received is not None:
                received.close()
        token_ = scan_followup.new_follow_link(session, ticket=ticket, language=language)
    finally:
        await form.close()
    # Post/redirect/get: reloading the answer does not send the report again.
    page = f"{root_path(request)}{FOLLOW_UP_URL.format(token=token_)}?lang={language}&sent=1"
    return RedirectResponse(page, status_code=303, headers={"Cache-Control": "no-store"})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.2g}"


def _photo_error(exc: AppError, max_bytes: int, language: str) -> str:
    if exc.status_code == 413:
        return gettext("The photo is larger than {size} MB.", language, size=_megabytes(max_bytes))
    if exc.status_code == 422:
        return gettext("The photo is empty.", language)
    return gettext("The file is not a photo (JPEG, PNG, WebP, HEIC or GIF).", language)


@router.get(FOLLOW_UP_URL, include_in_schema=False)
async def follow_up_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    token: Annotated[str, Path()],
    lang: Annotated[str | None, Query(description="The page's language: es-CL or en")] = None,
    sent: Annotated[
        str | None, Query(description="1: the page right after the report was sent")
    ] = None,
) -> HTMLResponse:
    """Public: the private follow-up page of a reported fault (its ticket's state and public
    steps), in the language the report was written in unless switched; an unknown link is a
    friendly 404 (in the browser's language)."""
    language = page_language(request, lang)
    try:
        await _limit(request, state, "scan-follow-up")
    except TooManyRequests as exc:
        return _problem_page(
            request, language, 429, "too_many", retry_after=exc.extra["retry_after"]
        )
    found = (
        await scan_followup.follow_up(session, token=token) if TOKEN_PATTERN.match(token) else None
    )
    if found is None:
        return _problem_page(request, language, 404, "gone")
    if supported(lang) is None:  # the language the report was written in, unless switched
        language = found.language if found.language in LANGUAGES else DEFAULT_LANGUAGE
    labels = scan_followup.STATUS_LABELS
    return _page(
        request,
        "follow_up.html",
        language,
        ticket=found,
        status_label=gettext(labels[found.status], language),
        updated=local_time(found.updated_at, found.timezone, language),
        steps=[
            {
                "label": gettext(labels[step.status], language),
                "at": local_time(step.at, found.timezone, language),
            }
            for step in found.steps
        ],
        just_sent=sent == "1",
        follow_up_url=f"{state.settings.base_url}{FOLLOW_UP_URL.format(token=token)}",
        headers={"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"},
    )
