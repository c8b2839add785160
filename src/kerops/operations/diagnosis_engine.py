"""The offline diagnosis engine: pure functions over a client's resolved tickets (no I/O), and
the cache of built indexes an app instance keeps (``IndexCache``).

A new ticket is compared with past resolved tickets by TF-IDF cosine similarity of their text
(title counted twice, plus description), Spanish and English alike: lowercased, accents
stripped, stopwords dropped, plurals folded. The same asset and the same asset category add to
the similarity, and so does the overlap of the assets' parts lists. The most similar tickets vote
for the skill to send (weighted by similarity squared, plus a small keyword prior so a client
without history still gets a hint); their resolution notes give the likely cause; the parts of
the asset's parts list named in the ticket or on similar tickets are the parts likely needed.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import math
import re
import time
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from kerops.core.enums import TechnicianSkill
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext
from kerops.core.labels import label

#: How many similar tickets a diagnosis is based on, and how many are re-scored with parts.
TOP_K = 10
SHORTLIST = 30
#: A past ticket below this similarity is not "similar".
MIN_SIMILARITY = 0.08
#: Weights of the parts of the similarity (text cosine, same asset, same category, parts).
W_TEXT, W_ASSET, W_CATEGORY, W_PARTS = 0.75, 0.15, 0.10, 0.10
#: Confidence from keywords alone never exceeds this.
KEYWORD_ONLY_CAP = 0.3
MAX_PARTS = 5

_STOPWORDS = """
    a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bajo cada casi como con
    contra cual cuando de del desde donde dos el ella ellas ellos en entre era es esa ese eso esta
    estaba estan estas este esto estos fue ha hace hacia han hasta hay la las le les lo los mas me
    mi mientras mis mucho muy nada ni no nos o otra otro para pero poco por porque que se sea ser
    si sin sobre solo son su sus tambien tan te tiene todo todos tras tu un una uno unos y ya yo
    about after all also an and any are as at be been before but by can could did do does down
    for from had has have he her his how if in into is it its just more most my no not of off on
    once only or other our out over she should so some such than that the their them then there
    these they this those through to too under up very was we were what when where which while
    who why will with would you your
"""
STOPWORDS = frozenset(_STOPWORDS.split())

#: Words that hint at a skill before any history exists (indexed like ticket text below).
_SKILL_WORDS: dict[str, str] = {
    TechnicianSkill.electricity.value: (
        "electrico electrica electricidad enchufe tablero automatico breaker fusible luz luce "
        "luminaria ampolleta cortocircuito voltaje tension cable cableado interruptor electric "
        "electrical outlet socket fuse lighting lamp wiring voltage power generador generator "
        "ups"
    ),
    TechnicianSkill.hvac.value: (
        "aire acondicionado climatizacion clima calefaccion chiller compresor refrigerante gas "
        "split ventilador ventilacion termostato caldera frio calor condensador evaporador hvac "
        "air conditioning heating cooling compressor refrigerant fan thermostat boiler "
        "ventilation condenser"
    ),
    TechnicianSkill.plumbing.value: (
        "agua fuga filtracion caneria tuberia llave grifo desague alcantarillado bano "
        "wc inodoro lavamano estanque bomba presion calefont water leak pipe tap faucet drain "
        "toilet sink pump pressure valvula valve"
    ),
    TechnicianSkill.iot_install.value: (
        "sensor gateway iot wifi conectividad senal dispositivo telemetria lectura medidor "
        "connectivity signal device telemetry reading meter offline firmware"
    ),
}


# --- text ----------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


class _Uncombined(dict[int, int | None]):
    """``str.translate`` table dropping combining marks: each code point looked up once."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_UNCOMBINED = _Uncombined()


def normalise(text: str) -> str:
    """Lowercase, accents stripped (``ñ`` becomes ``n``)."""
    lowered = text.lower()
    if lowered.isascii():  # nothing to decompose (the common case)
        return lowered
    return unicodedata.normalize("NFKD", lowered).translate(_UNCOMBINED)


def _fold(word: str) -> str:
    """A light plural fold for Spanish and English (compresores → compresor, leaks → leak)."""
    if len(word) > 5 and word.endswith("es") and word[-3] in "rlndzj":
        return word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


#: Texts whose terms are kept (the same past tickets and parts come back diagnosis after
#: diagnosis).
TOKENS_KEPT = 8192


@functools.lru_cache(maxsize=TOKENS_KEPT)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(
        _fold(w)
        for w in _WORD.findall(normalise(text))
        if len(w) > 1 and w not in STOPWORDS and not w.isdigit()
    )


def tokens(text: str) -> list[str]:
    """The index terms of a text."""
    return list(_tokens(text))


SKILL_KEYWORDS: dict[str, frozenset[str]] = {
    skill: frozenset(tokens(words)) for skill, words in _SKILL_WORDS.items()
}


# --- documents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """A ticket as the engine sees it (a past resolved one, or the one to diagnose)."""

    ticket_id: str
    number: int
    title: str
    description: str = ""
    skill: str | None = None
    asset_id: str | None = None
    category: str = ""
    cause: str = ""

    def terms(self) -> list[str]:
        """Title twice (it says what is wrong), then the description."""
        title = tokens(self.title)
        return title + title + tokens(self.description)


@dataclass(frozen=True)
class Part:
    """A product of a parts list."""

    product_id: str
    name: str
    sku: str = ""


@dataclass(frozen=True)
class Similar:
    """A past ticket and how similar it is (0..1)."""

    ticket_id: str
    number: int
    score: float


@dataclass
class Diagnosis:
    """What the engine suggests for a ticket."""

    cause: str
    skill: str | None
    skills_ranked: list[str]
    parts: list[dict[str, object]]
    confidence: float
    similar: list[Similar] = field(default_factory=list)
    #: The past tickets ``cause`` is taken from (a resolution note, a title): a reader who may
    #: not read every one of them is shown ``generic_cause(skill)`` instead. Empty when the
    #: cause quotes no ticket.
    cause_ticket_ids: list[str] = field(default_factory=list)


# --- TF-IDF --------------------------------------------------------------------------------------


def _weights(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf.get(t, 0.0) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {t: v / norm for t, v in vec.items()} if norm else {}


class Index:
    """TF-IDF vectors of past tickets with an inverted index (cosine against a query)."""

    def __init__(self, docs: Sequence[Doc]) -> None:
        self.docs = list(docs)
        counts = [Counter(d.terms()) for d in self.docs]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = len(self.docs)
        self.idf = {t: math.log((n + 1) / (f + 1)) + 1.0 for t, f in df.items()}
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, c in enumerate(counts):
            for term, weight in _weights(c, self.idf).items():
                postings[term].append((i, weight))
        self.postings = dict(postings)
        by_asset: dict[str, list[int]] = defaultdict(list)
        by_category: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(self.docs):
            if doc.asset_id:
                by_asset[doc.asset_id].append(i)
            if doc.category:
                by_category[doc.category].append(i)
        self.by_asset = dict(by_asset)
        self.numbers = [doc.number for doc in self.docs]
        positions: dict[str, set[int]] = defaultdict(set)
        for i, doc in enumerate(self.docs):
            positions[doc.ticket_id].add(i)
        self.positions = dict(positions)
        self.category_members = {c: frozenset(ix) for c, ix in by_category.items()}
        # Newest first: the order in which equal scores are ranked (see ``shortlist``).
        docs_ = self.docs
        self.by_category = {
            c: sorted(ix, key=lambda i: (-docs_[i].number, i)) for c, ix in by_category.items()
        }

    def cosine(self, query: Doc) -> dict[int, float]:
        """Similarity of the query with every past ticket sharing a term with it."""
        qvec = _weights(Counter(query.terms()), self.idf)
        scores: dict[int, float] = defaultdict(float)
        for term, qw in qvec.items():
            for i, dw in self.postings.get(term, ()):
                scores[i] += qw * dw
        return scores


# --- the diagnosis -------------------------------------------------------------------------------


def shortlist(
    query: Doc, index: Index, limit: int = SHORTLIST, *, exclude: str | None = None
) -> list[tuple[Doc, float]]:
    """The past tickets most similar to the query by text, asset and category (never the
    ticket ``exclude``, e.g. the query's own ticket when it is indexed too)."""
    text = index.cosine(query)
    asset, category = query.asset_id, query.category
    docs = index.docs
    numbers = index.numbers
    same_asset = set(index.by_asset.get(asset, ())) if asset else set()
    by_category = index.by_category.get(category, ()) if category else ()
    same_category = index.category_members.get(category, frozenset()) if category else frozenset()
    # Only documents sharing a term, the asset or the category can score. Those sharing only the
    # category all score W_CATEGORY and tie-break newest first, so beyond the newest
    # ``limit + len(candidates) + 1`` of them (the +1 for ``exclude``) none can make the list.
    # (-score, -number, position): plain tuples, so the best few are picked without a Python
    # key function per document (the same order as a stable sort by score, then newest first).
    ranked: list[tuple[float, int, int]] = []
    for i, similarity in text.items():
        score = W_TEXT * similarity
        if i in same_asset:
            score += W_ASSET
        if i in same_category:
            score += W_CATEGORY
        if score > 0:
            ranked.append((-score, -numbers[i], i))
    others = same_asset.difference(text)
    for i in others:
        score = W_ASSET + (W_CATEGORY if i in same_category else 0.0)
        ranked.append((-score, -numbers[i], i))
    for i in by_category[: limit + len(text) + len(others) + 1]:
        if i not in text and i not in same_asset:
            ranked.append((-W_CATEGORY, -numbers[i], i))
    skipped = index.positions.get(exclude, ()) if exclude is not None else ()
    if skipped:
        ranked = [r for r in ranked if r[2] not in skipped]
    return [(docs[i], -negative) for negative, _, i in heapq.nsmallest(limit, ranked)]


def _jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def _keyword_prior(query: Doc) -> dict[str, float]:
    terms = set(query.terms()) | set(tokens(query.category))
    prior: dict[str, float] = {}
    for skill, words in SKILL_KEYWORDS.items():
        hits = len(terms & words)
        if hits:
            prior[skill] = 0.05 * min(hits, 4)
    return prior


def _part_terms(part: Part) -> set[str]:
    return {t for t in tokens(part.name) if len(t) > 3}


def _suggest_parts(
    query: Doc,
    similar: Sequence[tuple[Doc, float]],
    own_parts: Sequence[Part],
    parts_of: dict[str, list[Part]],
) -> list[dict[str, object]]:
    query_terms = set(query.terms())
    catalogue = {p.product_id: p for p in own_parts}
    scores: dict[str, float] = defaultdict(float)
    for part in own_parts:
        if _part_terms(part) & query_terms:
            scores[part.product_id] += 1.0
    for doc, sim in similar:
        doc_terms = set(doc.terms()) | set(tokens(doc.cause))
        for part in parts_of.get(doc.asset_id or "", []):
            catalogue.setdefault(part.product_id, part)
            mentioned = bool(_part_terms(part) & doc_terms)
            weight = sim * (0.7 if mentioned else 0.1)
            if part.product_id not in {p.product_id for p in own_parts}:
                weight *= 0.5
            scores[part.product_id] += weight
    ranked = sorted(
        ((pid, s) for pid, s in scores.items() if s >= 0.25),
        key=lambda pair: (-pair[1], catalogue[pair[0]].name),
    )
    return [
        {
            "product_id": pid,
            "name": catalogue[pid].name,
            "sku": catalogue[pid].sku,
            "score": round(min(score, 1.0), 3),
        }
        for pid, score in ranked[:MAX_PARTS]
    ]


def _code(number: int) -> str:
    """A ticket's display code, ``T-000123`` (as ``operations.schemas.ticket_code``)."""
    return f"T-{number:06d}"


def generic_cause(skill: str | None, language: str | None = None) -> str:
    """A cause taken from no other ticket: what the skill alone says (in ``language``, the
    request's by default)."""
    if skill:
        trade = label("technician_skill", skill, language).lower()
        return gettext("Looks like a fault of {skill}.", language, skill=trade)
    return gettext("Not enough history to suggest a cause yet.", language)


def _cause(
    similar: Sequence[tuple[Doc, float]], skill: str | None, language: str
) -> tuple[str, list[str]]:
    """The likely cause and the tickets it is taken from."""
    for doc, _ in similar:
        if doc.cause:
            code = _code(doc.number)
            cause = doc.cause.strip()[:600]
            return gettext("{cause} (as on {number})", language, cause=cause, number=code), [
                doc.ticket_id
            ]
    if similar:
        doc = similar[0][0]
        code, title = _code(doc.number), doc.title[:300]
        return gettext("Like {number}: {title}", language, number=code, title=title), [
            doc.ticket_id
        ]
    if skill:
        trade = label("technician_skill", skill, language).lower()
        return gettext(
            "Looks like a fault of {skill}; no similar resolved tickets yet.", language, skill=trade
        ), []
    return generic_cause(None, language), []


def diagnose(
    query: Doc,
    index: Index,
    *,
    own_parts: Sequence[Part] = (),
    parts_of: dict[str, list[Part]] | None = None,
    top_k: int = TOP_K,
    exclude: str | None = None,
    shortlisted: Sequence[tuple[Doc, float]] | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> Diagnosis:
    """Diagnose ``query`` from the past tickets of ``index`` (but the ticket ``exclude``).

    ``own_parts`` is the parts list of the query's asset; ``parts_of`` the parts lists of the
    shortlisted tickets' assets (by asset id), used for the parts overlap and the parts.
    ``shortlisted``: ``shortlist(query, index, exclude=exclude)`` when the caller has it already
    (its documents may carry their resolution notes). ``language``: the one the cause is
    written in (it is stored once: the client's).
    """
    parts_of = parts_of or {}
    own_ids = [p.product_id for p in own_parts]
    if shortlisted is None:
        shortlisted = shortlist(query, index, exclude=exclude)
    rescored: list[tuple[Doc, float]] = []
    for doc, score in shortlisted:
        overlap = _jaccard(own_ids, (p.product_id for p in parts_of.get(doc.asset_id or "", [])))
        total = min(1.0, score + W_PARTS * overlap)
        if total >= MIN_SIMILARITY:
            rescored.append((doc, total))
    rescored.sort(key=lambda pair: (-pair[1], -pair[0].number))
    similar = rescored[:top_k]

    votes: dict[str, float] = defaultdict(float)
    support: dict[str, float] = defaultdict(float)
    for doc, sim in similar:
        if doc.skill:
            votes[doc.skill] += sim * sim
            support[doc.skill] += sim
    for hinted, weight in _keyword_prior(query).items():
        votes[hinted] += weight
    ranked = sorted(votes, key=lambda s: (-votes[s], s))
    skill = ranked[0] if ranked else None
    confidence = 0.0
    if skill is not None:
        share = votes[skill] / sum(votes.values())
        if support.get(skill):
            evidence = 1.0 - math.exp(-2.0 * support[skill])
            confidence = min(0.95, share * evidence)
        else:
            confidence = min(KEYWORD_ONLY_CAP, share * KEYWORD_ONLY_CAP)
    cause, cause_ticket_ids = _cause(similar, skill, language)
    return Diagnosis(
        cause=cause,
        skill=skill,
        skills_ranked=ranked,
        parts=_suggest_parts(query, similar, own_parts, parts_of),
        confidence=round(confidence, 3),
        similar=[Similar(doc.ticket_id, doc.number, round(sim, 3)) for doc, sim in similar],
        cause_ticket_ids=cause_ticket_ids,
    )


# --- the cache of built indexes ------------------------------------------------------------------

#: Clients whose built index one process keeps (the least recently used is dropped first).
INDEX_CACHE_SIZE = 64


@dataclass(frozen=True)
class CachedIndex:
    """A client's built index and when its build started (``IndexCache.clock`` time): it holds
    the tickets resolved before then."""

    index: Index
    built_at: float


class IndexCache:
    """Built indexes of clients' histories, kept by one app instance so that a diagnosis does
    not read and index the same history again.

    At most ``size`` clients (least recently used dropped first); an entry serves for ``ttl``
    seconds after it was built (``ttl`` 0: nothing is kept, every call builds), and expired ones
    are dropped whenever an index is built. One build per
    client at a time: a call arriving while another builds the same client's index waits for it
    and uses its result (an ``asyncio.Lock`` per client, held only while building). Building is
    the caller's ``build`` (reading and indexing run in the event loop). Indexes are shared: a
    caller must never change one (a diagnosis works on copies of the shortlisted documents).
    """

    def __init__(
        self, size: int = INDEX_CACHE_SIZE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.clock = clock
        #: Indexes built through this cache (for tests and measurements).
        self.builds = 0
        self._entries: OrderedDict[Hashable, CachedIndex] = OrderedDict()
        # Locks of the clients being built or waited for, with how many calls use each.
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def entry(self, key: Hashable) -> CachedIndex | None:
        """The kept entry of ``key``, fresh or not (does not count as a use)."""
        return self._entries.get(key)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def _fresh(self, key: Hashable, ttl: float, since: float | None = None) -> Index | None:
        """The kept index of ``key`` built from ``since`` on, or else younger than ``ttl``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if since is not None:
            if entry.built_at < since:
                return None
        elif self.clock() - entry.built_at >= ttl:
            return None
        self._entries.move_to_end(key)
        return entry.index

    def _prune(self, ttl: float) -> None:
        """Drop the expired entries (their memory), then the least recently used over ``size``."""
        now = self.clock()
        for key in [k for k, e in self._entries.items() if now - e.built_at >= ttl]:
            del self._entries[key]
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    async def get(
        self,
        key: Hashable,
        ttl: float,
        build: Callable[[], Awaitable[Index]],
        *,
        refresh: bool = False,
    ) -> Index:
        """The index of ``key``: the kept one while younger than ``ttl`` seconds, else a new
        one from ``build`` (kept). ``refresh``: only an index whose build began after this call."""
        if ttl <= 0:
            self._entries.pop(key, None)
            built = await build()
            self.builds += 1
            return built
        asked = self.clock()
        if not refresh and (kept := self._fresh(key, ttl)) is not None:
            return kept
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                # Built by the call this one waited for?
                kept = self._fresh(key, ttl, since=asked if refresh else None)
                if kept is not None:
                    return kept
                started = self.clock()
                index = await build()
                self.builds += 1
                self._entries[key] = CachedIndex(index, started)
                self._entries.move_to_end(key)
                self._prune(ttl)
                return index
        finally:
            lock, users = self._locks[key]
            if users > 1:
                self._locks[key] = (lock, users - 1)
            else:
                del self._locks[key]
