"""The diagnosis reuses a client's indexed history for ``diagnosis_index_seconds``.

Each app instance keeps the built index of its clients' resolved tickets (an LRU of
``INDEX_CACHE_SIZE`` clients): a diagnosis within that time reads and indexes nothing again, and
gives what a diagnosis without the cache gives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.state import AppState
from kerops.operations import diagnosis
from kerops.operations.diagnosis_engine import (
    INDEX_CACHE_SIZE,
    W_ASSET,
    W_CATEGORY,
    W_TEXT,
    Doc,
    Index,
    IndexCache,
    diagnose,
    shortlist,
)
from tests.automation.helpers import (
    Site,
    add_diagnosis_history,
    add_resolved_ticket,
    make_site,
    run_job,
    ticket_row,
)
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket


class HistoryReads:
    """Counts the statements reading a client's history (``diagnosis._history``)."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def history_reads(client: TestClient) -> Iterator[HistoryReads]:
    counter = HistoryReads()
    engine = client.app.state.kerops.db.engine.sync_engine  # type: ignore[attr-defined]

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sql = " ".join(statement.lower().split())
        if (
            "from service_tickets left outer join assets" in sql
            and "left outer join users" in sql
            and "order by service_tickets.id desc" in sql
        ):
            counter.count += 1

    event.listen(engine, "before_cursor_execute", count)
    yield counter
    event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def site(client: TestClient, run: Runner) -> Site:
    return make_site(client, run)


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.kerops  # type: ignore[attr-defined]
    return state


def _history(run: Runner, site: Site) -> dict[str, list[str]]:
    return add_diagnosis_history(run, site)


def _uncached(run: Runner, state: AppState, ticket_id: str) -> diagnosis._Inputs:
    """The diagnosis inputs of a ticket as read and built without any cache."""
    settings = state.settings.model_copy(update={"diagnosis_index_seconds": 0})
    alone = dataclasses.replace(state, settings=settings, services={})

    async def compute(session: AsyncSession) -> diagnosis._Inputs:
        conn = await session.connection()
        found = await diagnosis._query(conn, uuid.UUID(ticket_id))
        assert found is not None
        return await diagnosis._inputs(conn, alone, *found)

    inputs: diagnosis._Inputs = run(compute)
    assert alone.service(IndexCache).builds == 1
    return inputs


# --- in the app ----------------------------------------------------------------------------------


def test_a_second_diagnosis_within_the_time_reads_no_history_and_gives_the_same_result(
    client: TestClient, run: Runner, site: Site, history_reads: HistoryReads
) -> None:
    ids = _history(run, site)
    cache = _state(client).service(IndexCache)
    first = create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    assert history_reads.count == 1
    assert cache.builds == 1
    assert site.client_id in cache

    second = create_ticket(
        client, site.owner, site.locale_id, title="Chiller sin frío", description="Piso 3"
    )
    assert history_reads.count == 1
    assert cache.builds == 1

    for body in (first, second):
        row = ticket_row(run, body["id"])
        assert row.ai_skill == "hvac"
        assert row.ai_similar_ticket_ids and row.ai_similar_ticket_ids[0] in ids["hvac"]
        expected = _uncached(run, _state(client), body["id"]).offline
        assert row.ai_similar_ticket_ids == [s.ticket_id for s in expected.similar]
        assert row.ai_cause == expected.cause
        assert row.ai_skill == expected.skill
        assert row.ai_confidence == expected.confidence
        assert row.ai_parts == expected.parts
    assert "refrigerante" in (ticket_row(run, first["id"]).ai_cause or "")


def test_each_client_has_its_own_index(client: TestClient, run: Runner, site: Site) -> None:
    _history(run, site)
    other = make_site(client, run)
    create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    body = create_ticket(client, other.owner, other.locale_id, title="El chiller no enfría")
    assert ticket_row(run, body["id"]).ai_similar_ticket_ids == []
    cache = _state(client).service(IndexCache)
    assert site.client_id in cache and other.client_id in cache
    assert cache.builds == 2


@pytest.mark.parametrize("settings_overrides", [{"diagnosis_index_seconds": 0}])
def test_with_no_time_every_diagnosis_reads_and_indexes_the_history(
    client: TestClient, run: Runner, site: Site, history_reads: HistoryReads
) -> None:
    _history(run, site)
    cache = _state(client).service(IndexCache)
    create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    create_ticket(client, site.owner, site.locale_id, title="Fuga de agua")
    assert history_reads.count == 2
    assert cache.builds == 2
    assert len(cache) == 0
    # A ticket resolved just now is compared with at once.
    fresh = add_resolved_ticket(run, site, title="Correa del ventilador cortada", skill="hvac")
    body = create_ticket(client, site.owner, site.locale_id, title="Correa del ventilador")
    assert ticket_row(run, body["id"]).ai_similar_ticket_ids[0] == str(fresh)
    assert history_reads.count == 3


def test_a_ticket_resolved_meanwhile_is_found_once_the_index_expires(
    client: TestClient, run: Runner, site: Site, history_reads: HistoryReads
) -> None:
    _history(run, site)
    cache = _state(client).service(IndexCache)
    now = [1000.0]
    cache.clock = lambda: now[0]
    create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    fresh = add_resolved_ticket(
        run, site, title="Correa del ventilador cortada", skill="hvac", note="Correa nueva"
    )

    now[0] += _state(client).settings.diagnosis_index_seconds - 1
    within = create_ticket(client, site.owner, site.locale_id, title="Correa del ventilador")
    assert str(fresh) not in ticket_row(run, within["id"]).ai_similar_ticket_ids
    assert history_reads.count == 1

    now[0] += 1
    after = create_ticket(client, site.owner, site.locale_id, title="Correa del ventilador")
    row = ticket_row(run, after["id"])
    assert row.ai_similar_ticket_ids[0] == str(fresh)
    assert "Correa nueva" in (row.ai_cause or "")
    assert history_reads.count == 2
    assert cache.builds == 2


def test_a_rerun_asked_for_reads_the_history_afresh(
    client: TestClient, run: Runner, site: Site, history_reads: HistoryReads
) -> None:
    body = create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    assert ticket_row(run, body["id"]).ai_similar_ticket_ids == []
    ids = _history(run, site)
    response = client.post(f"/api/v1/tickets/{body['id']}/diagnosis", headers=site.owner.headers)
    assert response.status_code == 200, response.text
    assert response.json()["similar_tickets"][0]["ticket_id"] in ids["hvac"]
    assert history_reads.count == 2
    # ... and the diagnoses after it use that index.
    later = create_ticket(client, site.owner, site.locale_id, title="Chiller no enfría")
    assert ticket_row(run, later["id"]).ai_similar_ticket_ids[0] in ids["hvac"]
    assert history_reads.count == 2


def test_a_resolved_ticket_diagnosed_again_is_not_similar_to_itself(
    client: TestClient, run: Runner, site: Site
) -> None:
    ids = _history(run, site)
    create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    own = ids["hvac"][0]
    cache = _state(client).service(IndexCache)
    entry = cache.entry(site.client_id)
    assert entry is not None and own in {d.ticket_id for d in entry.index.docs}

    # From the cached index (a queued diagnosis) ...
    run_job(client, "tickets.diagnose", ticket_id=own)
    row = ticket_row(run, own)
    assert cache.builds == 1
    assert own not in row.ai_similar_ticket_ids
    assert row.ai_similar_ticket_ids and set(row.ai_similar_ticket_ids) <= set(ids["hvac"])
    assert row.ai_skill == "hvac"

    # ... and from a rebuilt one (a re-run asked for).
    response = client.post(f"/api/v1/tickets/{own}/diagnosis", headers=site.owner.headers)
    assert response.status_code == 200, response.text
    similar = [t["ticket_id"] for t in response.json()["similar_tickets"]]
    assert own not in similar and similar
    assert cache.builds == 2


def test_a_diagnosis_does_not_change_the_cached_index(
    client: TestClient, run: Runner, site: Site
) -> None:
    _history(run, site)
    create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    entry = _state(client).service(IndexCache).entry(site.client_id)
    assert entry is not None
    before = list(entry.index.docs)
    assert before and all(d.cause == "" for d in before)

    body = create_ticket(client, site.owner, site.locale_id, title="Chiller con alarma")
    row = ticket_row(run, body["id"])
    assert "Condensador limpio" in (row.ai_cause or "")  # the notes still reach the diagnosis
    assert _state(client).service(IndexCache).entry(site.client_id) is entry
    assert entry.index.docs == before
    assert all(d.cause == "" for d in entry.index.docs)


# --- the cache and the engine alone --------------------------------------------------------------


def _index(*titles: str) -> Index:
    return Index([Doc(ticket_id=f"t{i}", number=i, title=t) for i, t in enumerate(titles, 1)])


def test_the_cache_keeps_the_most_recently_used_clients_only() -> None:
    assert INDEX_CACHE_SIZE == IndexCache().size == 64

    async def scenario() -> IndexCache:
        cache = IndexCache(size=2)

        async def build() -> Index:
            return _index("chiller")

        for key in ("a", "b", "a", "c"):
            await cache.get(key, 300, build)
        assert len(cache) == 2
        assert "a" in cache and "c" in cache and "b" not in cache
        assert cache.builds == 3
        for n in range(10):
            await cache.get(f"k{n}", 300, build)
        assert len(cache) == 2
        return cache

    assert asyncio.run(scenario()).builds == 13


def test_expired_indexes_are_rebuilt_and_dropped_when_another_is_built() -> None:
    async def scenario() -> None:
        now = [1000.0]
        cache = IndexCache(clock=lambda: now[0])

        async def build() -> Index:
            return _index("chiller")

        first = await cache.get("a", 300, build)
        now[0] += 299
        assert await cache.get("a", 300, build) is first
        now[0] += 1
        assert await cache.get("b", 300, build) is not first
        assert "a" not in cache and len(cache) == 1
        assert await cache.get("a", 300, build) is not first
        assert cache.builds == 3
        # With no time, nothing is kept and every call builds.
        assert await cache.get("a", 0, build) is not await cache.get("a", 0, build)
        assert "a" not in cache and cache.builds == 5

    asyncio.run(scenario())


def test_concurrent_diagnoses_of_a_client_build_its_index_once() -> None:
    async def scenario() -> None:
        cache = IndexCache()
        started = asyncio.Event()

        async def build() -> Index:
            started.set()
            await asyncio.sleep(0.01)  # reading the history
            return _index("chiller")

        first = asyncio.create_task(cache.get("a", 300, build))
        await started.wait()
        results = await asyncio.gather(first, cache.get("a", 300, build))
        assert results[0] is results[1]
        assert cache.builds == 1
        # A refresh asked for while a build runs waits and rebuilds (that build began earlier).
        started.clear()
        stale = asyncio.create_task(cache.get("a", 300, build, refresh=True))
        await started.wait()
        again = await asyncio.gather(stale, cache.get("a", 300, build, refresh=True))
        assert cache.builds == 3
        assert again[0] is not again[1]
        assert not cache._locks

    asyncio.run(scenario())


def test_a_failed_build_keeps_nothing() -> None:
    async def scenario() -> None:
        cache = IndexCache()

        async def broken() -> Index:
            raise RuntimeError("database gone")

        with pytest.raises(RuntimeError):
            await cache.get("a", 300, broken)
        assert "a" not in cache and not cache._locks and cache.builds == 0

    asyncio.run(scenario())


def test_the_excluded_ticket_is_never_shortlisted_nor_similar() -> None:
    index = _index("chiller no enfria", "chiller no enfria piso 3", "fuga de agua")
    query = Doc(ticket_id="t1", number=1, title="chiller no enfria")
    assert shortlist(query, index)[0][0].ticket_id == "t1"
    assert [d.ticket_id for d, _ in shortlist(query, index, exclude="t1")] == ["t2"]
    result = diagnose(query, index, exclude="t1")
    assert [s.ticket_id for s in result.similar] == ["t2"]


def _shortlist_by_scoring_every_document(
    query: Doc, index: Index, limit: int, exclude: str | None
) -> list[tuple[str, float]]:
    text = index.cosine(query)
    ranked = []
    for i, doc in enumerate(index.docs):
        score = W_TEXT * text.get(i, 0.0)
        if query.asset_id and doc.asset_id == query.asset_id:
            score += W_ASSET
        if query.category and doc.category == query.category:
            score += W_CATEGORY
        if score > 0 and doc.ticket_id != exclude:
            ranked.append((-score, -doc.number, i))
    return [(index.docs[i].ticket_id, -s) for s, _, i in sorted(ranked)[:limit]]


_WORDS = ["chiller", "fuga", "agua", "bomba", "ruido", "tablero", "breaker", "luz"]


@settings(max_examples=150, deadline=None)
@given(
    docs=st.lists(
        st.tuples(
            st.lists(st.sampled_from(_WORDS), max_size=4),
            st.sampled_from([None, "a1", "a2", "a3"]),
            st.sampled_from(["", "hvac", "electrico"]),
            st.integers(1, 40),
        ),
        max_size=60,
    ),
    query_words=st.lists(st.sampled_from(_WORDS), max_size=3),
    asset=st.sampled_from([None, "a1", "a2"]),
    category=st.sampled_from(["", "hvac", "electrico"]),
    limit=st.integers(1, 8),
    exclude=st.sampled_from([None, "t0", "t3"]),
)
def test_the_shortlist_equals_scoring_every_document(
    docs: list[tuple[list[str], str | None, str, int]],
    query_words: list[str],
    asset: str | None,
    category: str,
    limit: int,
    exclude: str | None,
) -> None:
    """Only candidates sharing a term, the asset or the category are scored, with the same
    result (order and ties, newest first) as scoring the whole history."""
    index = Index(
        [
            Doc(ticket_id=f"t{i}", number=n, title=" ".join(w), asset_id=a, category=c)
            for i, (w, a, c, n) in enumerate(docs)
        ]
    )
    query = Doc(
        ticket_id="q", number=99, title=" ".join(query_words), asset_id=asset, category=category
    )
    got = [(d.ticket_id, s) for d, s in shortlist(query, index, limit, exclude=exclude)]
    assert got == _shortlist_by_scoring_every_document(query, index, limit, exclude)


def test_a_weak_text_match_ranks_below_newer_same_category_tickets_past_the_excluded_one() -> None:
    long_title = " ".join(f"palabra{i}" for i in range(150)) + " luz"
    index = Index(
        [
            Doc(ticket_id="h3", number=3, title="revision", category="hvac"),
            Doc(ticket_id="h2", number=2, title="revision", category="hvac"),
            Doc(ticket_id="h1", number=1, title="revision", category="hvac"),
            Doc(ticket_id="weak", number=9, title=long_title),
        ]
    )
    query = Doc(ticket_id="q", number=10, title="luz", category="hvac")
    weak_score = W_TEXT * index.cosine(query)[3]
    assert 0 < weak_score < W_CATEGORY
    got = [d.ticket_id for d, _ in shortlist(query, index, 2, exclude="h3")]
    assert got == ["h2", "h1"]
    got = [d.ticket_id for d, _ in shortlist(query, index, 3, exclude="h3")]
    assert got == ["h2", "h1", "weak"]
