"""An optional LLM refining the offline diagnosis (any OpenAI-compatible chat completions API).

The model is given the ticket, the offline result and its candidates (similar tickets, parts,
skills) and asked for JSON. Anything unexpected — no answer in time, an HTTP error, text that is
not the JSON asked for, a skill, part or ticket that was not a candidate — gives ``None``, and the
caller keeps the offline result. The provider is never required.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx2

from kerops.config import Settings
from kerops.core.enums import TechnicianSkill
from kerops.operations.diagnosis_engine import Diagnosis, Doc, Similar

log = logging.getLogger("kerops.diagnosis")

SYSTEM_PROMPT = (
    "You diagnose facility-maintenance tickets. Use only the candidates given. Answer with one "
    'JSON object: {"cause": string (one or two sentences, in the ticket\'s language), "skill": '
    'one of the allowed skills, "part_ids": [product ids from the candidate parts], '
    '"similar_ticket_ids": [ids from the similar tickets], "confidence": number from 0 to 1}.'
)


def configured(settings: Settings) -> bool:
    """Whether an LLM provider is set."""
    return bool(settings.ai_provider_url)


def _endpoint(settings: Settings) -> str:
    base = (settings.ai_provider_url or "").rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


def _prompt(ticket: Doc, offline: Diagnosis, similar: list[Doc]) -> str:
    return json.dumps(
        {
            "ticket": {"title": ticket.title, "description": ticket.description[:4000]},
            "asset_category": ticket.category,
            "allowed_skills": [s.value for s in TechnicianSkill],
            "offline_suggestion": {
                "cause": offline.cause,
                "skill": offline.skill,
                "confidence": offline.confidence,
            },
            "similar_tickets": [
                {
                    "id": d.ticket_id,
                    "title": d.title,
                    "description": d.description[:500],
                    "skill": d.skill,
                    "resolution": d.cause[:500],
                }
                for d in similar
            ],
            "candidate_parts": offline.parts,
        },
        ensure_ascii=False,
    )


def _content(answer: dict[str, Any]) -> dict[str, Any]:
    text = str(answer["choices"][0]["message"]["content"]).strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


def _merge(offline: Diagnosis, data: dict[str, Any]) -> Diagnosis:
    cause = data.get("cause")
    skill = data.get("skill")
    confidence = data.get("confidence")
    if not isinstance(cause, str) or not cause.strip():
        raise ValueError("no cause")
    if skill not in {s.value for s in TechnicianSkill}:
        raise ValueError("unknown skill")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValueError("no confidence")
    parts_by_id = {str(p["product_id"]): p for p in offline.parts}
    part_ids = data.get("part_ids") or []
    similar_by_id = {s.ticket_id: s for s in offline.similar}
    similar_ids = data.get("similar_ticket_ids") or []
    if not isinstance(part_ids, list) or not isinstance(similar_ids, list):
        raise ValueError("lists expected")
    if any(str(p) not in parts_by_id for p in part_ids):
        raise ValueError("a part that was not a candidate")
    if any(str(t) not in similar_by_id for t in similar_ids):
        raise ValueError("a ticket that was not a candidate")
    similar: list[Similar] = [similar_by_id[str(t)] for t in dict.fromkeys(similar_ids)]
    ranked = [skill, *(s for s in offline.skills_ranked if s != skill)]
    return Diagnosis(
        cause=cause.strip()[:2000],
        skill=skill,
        skills_ranked=ranked,
        parts=[parts_by_id[str(p)] for p in dict.fromkeys(part_ids)],
        confidence=round(max(0.0, min(1.0, float(confidence))), 3),
        similar=similar or offline.similar,
        # The model read the notes and titles of every similar ticket (and the offline cause):
        # its cause may come from any of them.
        cause_ticket_ids=[s.ticket_id for s in offline.similar],
    )


async def refine(
    settings: Settings, ticket: Doc, offline: Diagnosis, similar: list[Doc]
) -> Diagnosis | None:
    """The provider's diagnosis built on the offline one, or None on any failure."""
    if not configured(settings):
        return None
    headers = {"Content-Type": "application/json"}
    if settings.ai_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.ai_api_key.get_secret_value()}"
    body = {
        "model": settings.ai_model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _prompt(ticket, offline, similar)},
        ],
    }
    timeout = settings.ai_timeout_seconds
    try:
        async with httpx2.AsyncClient(timeout=timeout) as client:
            response = await asyncio.wait_for(
                client.post(_endpoint(settings), json=body, headers=headers), timeout
            )
            response.raise_for_status()
            return _merge(offline, _content(response.json()))
    except Exception as exc:  # any failure falls back to the offline diagnosis
        log.warning("LLM diagnosis failed; the offline one is kept", extra={"error": repr(exc)})
        return None
