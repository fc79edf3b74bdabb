"""Offline extractive engine, the default with no LLM: every statement is a verbatim sentence of its source."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from briefing.confidence import independent_groups
from briefing.config import Settings
from briefing.engines.base import OnSummary
from briefing.engines.centrality import Centrality, centrality
from briefing.models import (
    Chunk,
    Claim,
    Evidence,
    Profile,
    Section,
    Source,
    SourceSummary,
    Synthesis,
    Usage,
)
from briefing.text import content_words, find_date, words

if TYPE_CHECKING:
    from briefing.cache import Cache

# Query vocabularies for the sections that are not focus questions.
# The profile's implications_for names and keywords come first (config.ProfileSettings.implication_terms).
IMPLICATION_TERMS = ["should", "must", "need", "needs", "implications", "policy", "prudent", "course", "cooperation",
                     "increase", "defence", "allies"]
INDICATOR_TERMS = ["watch", "watching", "monitor", "monitoring", "possible", "possibility", "could", "may", "likely",
                   "next", "future", "escalation", "emerge", "signs", "test", "deploy", "deployment", "provision",
                   "transfer", "additional"]
# BLUF selection: MMR trade-off, the cosine above which a candidate repeats a chosen sentence, and how much
# relevance to a focus question lifts a central sentence (cosine 0.3 to the question -> x1.6).
BLUF_LAM = 0.6
BLUF_MAX_SIM = 0.4
FOCUS_BOOST = 2.0
OPINION_WEIGHT = 0.85  # an opinion piece's sentences in the BLUF: facts reported first
BLUF_SPREAD = 0.85  # each BLUF sentence already taken from a source lowers that source's next candidates by 15%
MMR_POOL = 400  # MMR looks at the best-scored candidates only
AGREE_BOOST = 0.15  # per other independent source stating the same (up to four)
OPINION_MARKERS = re.compile(r"\b(should|must|ought|need to|needs to|argue|I|we|our|prudent|crucially|clearly)\b")
REPORT_MARKERS = re.compile(r"\b(said|says|according to|told|announced|statement|stated|reported)\b")


@dataclass
class _Sent:
    source_id: int
    sid: int  # sentence id within the source (Source.sentences)
    start: int
    end: int
    text: str
    pos: float  # relative position in the source, 0..1
    vec: dict[str, float]
    date: str | None
    lang: str = "en"
    idx: int = -1  # position in the engine's flat sentence list (the cross-source graph)
    quote: tuple[int, int, str] | None = None  # the whole segmented sentence when text skips a dateline


def _norm(vec: Counter[str] | dict[str, float]) -> dict[str, float]:
    n = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {k: v / n for k, v in vec.items()}


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


# Sentences that lean on the previous one ("This has ...", "First, ...") or talk about the page itself.
DEPENDENT_START = re.compile(
    r"^[“\"‘']?(?:This|That|These|Those|It|Its|They|Their|He|She|His|Her|Such|Both|But|And|Or|So|Yet|Also|"
    r"First|Second|Third|Finally|Further|Furthermore|Moreover|However|Nonetheless|Likewise|Indeed|Of course|"
    r"In short|In either case|As a result|Thus|Therefore|Still|In response|In turn|In return|Meanwhile|Instead|"
    r"Then|Later|Again|Even so|By contrast|On the other hand|Otherwise|Similarly|Once again)\b[ ,]"
)
META = re.compile(r"\b(?:first published|originally appeared|photo credit|reading time|all rights reserved|"
                  r"click here|sign up|subscribe)\b", re.IGNORECASE)
EARLY_REFERENCE = re.compile(r"^(?:\S+\s+){0,9}?(?:this|these|that|those|such)\s+(?!is\b|was\b|are\b)[a-z]+\b")
# A wire dateline before the first sentence ("MANILA, March 4 (Wire) - ", "OTTAWA — ", "NAIROBI, Kenya (AP) _ "):
# the quote starts after it.
DATELINE = re.compile(
    r"^(?:(?P<caps>[A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+)*)|[A-Z][a-z]+(?: [A-Z][a-z]+)*)"
    r"(?:, [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)*)?"
    r"(?P<date>,? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:, \d{4})?)?"
    r"(?P<agency> \([^()]{1,40}\))? ?[-–—_]{1,2} (?=[A-Z0-9“\"])"
)
# The same after a headline, when an export put the whole article on one line ("Ferry capsizes, 112 dead MANILA,
# March 4 (AP) _ At least ..."): an upper-case city with an agency in brackets, or a long upper-case city.
EMBEDDED_DATELINE = re.compile(
    r"\s(?:[A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+)*(?:, [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)*)?"
    r"(?:,? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:, \d{4})?)? \([^()]{1,40}\)"
    r"|[A-Z]{4,}(?:, [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)*)?) ?[-–—_]{1,2} (?=[A-Z0-9“\"])"
)
SPEAKER = re.compile(r"^\s*[A-Z][\w .]{0,30}:\s")  # "Editor: ...", "Q: ..." transcript lines


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # kana and ideographs: no spaces
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Korean particles and endings glued to a noun ("북한이", "러시아에서"): stripped so keywords and sentences match.
_KO_PARTICLE = re.compile(
    r"(?:에서는|에서|에게|으로|로는|부터|까지|이라고|라고|과의|와의|에는|은|는|이|가|을|를|의|에|와|과|로|도|만)$")


def _length(text: str) -> float:
    """Length in word equivalents: a CJK character carries about half a word, a Korean word-unit about 1.5."""
    if len(_CJK.findall(text)) * 2 > len(text):
        return len(_CJK.findall(text)) / 2
    n = len(words(text))
    return n * 1.5 if len(_HANGUL.findall(text)) * 2 > len(text) else n


# French function words (English ones are removed by content_words): sources and keywords may be in French.
_FR_STOP = frozenset("""le la les un une des du de d l au aux et ou en dans sur sous par pour avec sans que qui quoi
    dont où ce cet cette ces son sa ses leur leurs lui elle elles ils il nous vous ne pas plus est sont été être avoir
    ont a ai avait était sera seront se s y c qu n j m t comme mais donc car si aussi entre selon après
    avant""".split())


def index_terms(text: str) -> list[str]:
    """Index terms of a text in any script: content words; ideograph/kana runs as character bigrams; Korean
    words without their trailing particle."""
    out = []
    for w in content_words(text):
        if _CJK.search(w):
            chars = [c for c in w if _CJK.match(c)]
            out += ["".join(p) for p in zip(chars, chars[1:], strict=False)] or chars
        elif _HANGUL.search(w):
            stem = _KO_PARTICLE.sub("", w)
            out.append(stem if len(stem) >= 2 else w)
        elif w not in _FR_STOP:
            out.append(w)
    return out


def _script(term: str) -> str:
    """The writing system of a term: hangul, cjk, cyrillic or other (Latin and the rest)."""
    if _HANGUL.search(term):
        return "hangul"
    if _CJK.search(term):
        return "cjk"
    return "cyrillic" if re.search(r"[\u0400-\u04ff]", term) else "other"


def _match(vec: dict[str, float], query: list[dict[str, float]]) -> float:
    """Relevance of a sentence to a query: its best cosine with the query's per-script vectors."""
    return max((_cos(vec, q) for q in query), default=0.0)


def _usable(text: str) -> bool:
    """A sentence worth quoting on its own: a complete statement of sensible length, not a heading or fragment."""
    if not 8 <= _length(text) <= 70:
        return False
    end = text.rstrip().rstrip("\"'”’)]」』")
    if not end.endswith((".", "!", "。", "！")):
        return False
    if META.search(text) or SPEAKER.match(text):
        return False
    first = text.lstrip("“\"‘'([「『 ")[:1]
    return bool(first) and (first.isupper() or first.isdigit() or (first.isalpha() and not first.islower()))


# Korean and Chinese agency datelines: "(오타와=연합뉴스) 김민수 특파원 = ", "新华社北京11月2日电（记者 张三）".
DATELINE_CJK = re.compile(r"^(?:\([^()=]{1,20}=[^()]{1,20}\)\s*(?:[^\s=]{2,6}\s+(?:특파원|기자)\s*=\s*)?"
                          r"|[^\s，。]{2,6}社[^\s，。]{0,12}电(?:（[^）]{0,20}）)?)")


def _after_dateline(text: str) -> int:
    """Characters of a leading wire dateline to skip (0 when there is none)."""
    m = DATELINE_CJK.match(text)
    if m:
        return m.end()
    m = DATELINE.match(text)
    if m and (m.group("caps") or m.group("date") or m.group("agency")):
        return m.end()
    e = EMBEDDED_DATELINE.search(text, 0, 300)
    return e.end() if e and e.start() <= 200 and len(words(text[: e.start()])) >= 3 else 0


def _standalone(text: str) -> float:
    """Weight for how well a sentence stands on its own when lifted out of its article."""
    n = _length(text)
    weight = 0.4 if DEPENDENT_START.match(text) else 0.6 if EARLY_REFERENCE.match(text) else 1.0
    if text[:1] in "“\"" and not REPORT_MARKERS.search(text):  # a bare quotation: whose words, it does not say
        weight *= 0.5
    return weight * min(1.0, n / 16) ** 0.5


class ExtractiveEngine:
    """Sentence selection by centrality, query relevance and redundancy control (MMR); no model, no network."""

    name = "extractive"
    model = "extractive (offline, no LLM)"
    offline = True

    def __init__(self, settings: Settings, summary_sentences: int = 3, section_claims: int = 4) -> None:
        self.settings = settings
        self.usage = Usage()
        self.in_flight = 0
        self.warnings: list[str] = []
        self.notify: Callable[[str], None] | None = None  # nothing to wait on
        self.on_batch: Callable[[dict[str, Any]], None] | None = None
        self.waiting_on_model = threading.Event()  # never waits on a model
        self.draft: Synthesis | None = None
        self.summary_sentences = summary_sentences
        self.section_claims = section_claims
        self._sents: dict[int, list[_Sent]] = {}
        self._indexed: list[tuple[int, str, int]] = []
        self._idf: dict[str, float] = {}
        self._all: list[_Sent] = []
        self._groups: dict[int, int] = {}
        self._graph = Centrality([], [], [])

    def prepare(self) -> None:
        """Nothing to get ready: no client, no model."""

    def chunk_budget(self) -> None:
        """None: the extractive engine reads whole sources, so the run does not chunk them."""
        return None

    def judge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """No model to judge with: the pipeline does not ask an offline engine (an empty verdict list if it did)."""
        return {}

    def use_cache(self, cache: Cache, eid: str) -> None:
        """Nothing to cache: the offline synthesis is computed, not bought."""

    def cache_identity(self, *tasks: str) -> None:
        """None: not worth caching (free, and it ranks sentences corpus-wide, so one new source changes all)."""
        return None

    def estimate(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile) -> dict[str, Any]:
        """A dry run of the extractive engine costs nothing."""
        zero = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        return {"engine": self.name, "model": self.model, "stages": {"summarize": dict(zero), "synthesize": dict(zero)},
                **zero}

    # -- indexing ---------------------------------------------------------------------------------------------

    def _index(self, sources: list[Source]) -> None:
        """Split every source into sentences, build TF-IDF vectors over the whole corpus and the sentence graph."""
        signature = [(s.id, s.sha256, len(s.text)) for s in sources]
        if self._sents and signature == self._indexed:
            return
        self._sents = {}
        self._indexed = signature
        raw: dict[int, list[tuple[int, int, int, str, Counter[str]]]] = {}
        df: Counter[str] = Counter()
        n_docs = 0
        for src in sources:
            rows = []
            for sent in src.sentences:
                start = sent.start + _after_dateline(sent.text)  # the quote starts after a wire dateline
                text = src.text[start:sent.end]
                if _usable(text):
                    tf = Counter(index_terms(text))
                    if tf:
                        rows.append((sent.id, start, sent.end, text, tf))
                        df.update(tf.keys())
                        n_docs += 1
            raw[src.id] = rows
        self._idf = {t: math.log((1 + n_docs) / (1 + c)) + 1.0 for t, c in df.items()}
        langs = _languages(sources)
        self._all = []
        for src in sources:
            pub = _parse_date(src.published)
            length = max(1, len(src.text))
            self._sents[src.id] = [
                _Sent(src.id, sid, s, e, text, s / length,
                      _norm({t: (1 + math.log(c)) * self._idf.get(t, 1.0) for t, c in tf.items()}),
                      find_date(text, pub), langs[src.id])
                for sid, s, e, text, tf in raw.get(src.id, [])
            ]
            for row in self._sents[src.id]:
                whole = src.sentence(row.sid)
                if whole is not None and whole.start != row.start:
                    row.quote = (whole.start, whole.end, whole.text)
                row.idx = len(self._all)
                self._all.append(row)
        self._groups = independent_groups(sources)
        self._graph = self._cross_source()

    def _cross_source(self) -> Centrality:
        """Centrality over all sources (capped at MAX_NODES sentences, each source's leading ones first)."""
        from briefing.engines.centrality import MAX_NODES

        nodes = self._all
        if len(nodes) > MAX_NODES:
            per = max(4, MAX_NODES // max(1, len(self._sents)))
            nodes = [s for sents in self._sents.values() for s in sents[:per]][:MAX_NODES]
        graph = centrality([s.vec for s in nodes], [self._groups.get(s.source_id, s.source_id) for s in nodes],
                           [s.lang for s in nodes], [_prior(s) for s in nodes])
        # Scores are normalised within each language; across languages, a language with few independent sources
        # weighs less (square root of its share of the source groups), so one foreign report does not dominate.
        groups_of: dict[str, set[int]] = {}
        for sent in nodes:
            groups_of.setdefault(sent.lang, set()).add(self._groups.get(sent.source_id, sent.source_id))
        top = max((len(g) for g in groups_of.values()), default=1)
        weight = {lang: math.sqrt(len(g) / top) if len(g) < top else 1.0 for lang, g in groups_of.items()}
        graph.score = [sc * weight[sent.lang] for sc, sent in zip(graph.score, nodes, strict=True)]
        if nodes is self._all:
            return graph
        full = Centrality([0.0] * len(self._all), [0] * len(self._all), [{} for _ in self._all])
        for k, s in enumerate(nodes):
            full.score[s.idx], full.agree[s.idx] = graph.score[k], graph.agree[k]
            full.matches[s.idx] = {g: (nodes[j].idx, c) for g, (j, c) in graph.matches[k].items()}
        return full

    def _query(self, terms: list[str]) -> list[dict[str, float]]:
        """Query vectors, one per script of its terms (Latin, Hangul, CJK, Cyrillic...), each of unit length: a
        Korean sentence is measured against the Korean keywords alone, so every language is ranked on its own."""
        by_script: dict[str, Counter[str]] = {}
        for t in terms:
            for term in index_terms(t):
                by_script.setdefault(_script(term), Counter())[term] += 1
        return [_norm({t: c * self._idf.get(t, 1.0) for t, c in tf.items()}) for tf in by_script.values()]

    # -- selection --------------------------------------------------------------------------------------------

    @staticmethod
    def _mmr(cands: list[tuple[float, _Sent]], k: int, lam: float = 0.7, min_sources: int = 1,
             max_sim: float = 0.6, coverage: bool = False, spread: float = 1.0) -> list[_Sent]:
        """Maximal marginal relevance; the first picks come from distinct sources until min_sources is met.

        A candidate closer than max_sim (cosine) to a sentence already chosen is skipped: it would repeat it.
        With coverage, redundancy is also the share of the candidate's weight in terms already chosen; with
        spread < 1, each sentence already taken from the same source multiplies a candidate's score by spread.
        """
        pool = sorted(((score, s) for score, s in cands if score > 0), key=lambda x: -x[0])[:MMR_POOL]
        chosen: list[_Sent] = []
        while pool and len(chosen) < k:
            have = {c.source_id for c in chosen}
            need_new = len(have) < min_sources and any(s.source_id not in have for _, s in pool)

            said = {t for c in chosen for t in c.vec}
            per_source = Counter(c.source_id for c in chosen)
            eligible = [p for p in pool if not need_new or p[1].source_id not in have]
            values = []
            for score, s in eligible:
                redundancy = max((_cos(s.vec, c.vec) for c in chosen), default=0.0)
                if coverage:  # share of the sentence's weight in terms the chosen sentences already used
                    redundancy = max(redundancy, sum(w * w for t, w in s.vec.items() if t in said))
                values.append(lam * score * spread ** per_source[s.source_id] - (1 - lam) * redundancy)
            best = eligible[max(range(len(eligible)), key=values.__getitem__)]
            if chosen and max(_cos(best[1].vec, c.vec) for c in chosen) > max_sim:
                pool.remove(best)
                continue
            chosen.append(best[1])
            pool.remove(best)
        return chosen

    def _claim(self, s: _Sent, **extra: str | None) -> Claim:
        evidence = _evidence(s)
        return Claim(text=s.text, source_ids=[s.source_id], evidence=[evidence], language=s.lang,
                     **extra)  # type: ignore[arg-type]

    def _relevance(self, query: list[dict[str, float]], exclude: set[int] | None = None,
                   said: set[int] | None = None) -> list[tuple[float, _Sent]]:
        """Sentences relevant to a query; ties (and near-ties) go to what the sources agree is central.

        `exclude` sentences are left out; `said` ones (already in the BLUF) are kept only as a fallback.
        """
        out = []
        for s in self._all:
            if exclude and s.idx in exclude:
                continue
            rel = _match(s.vec, query)
            if rel > 0:
                weight = (0.6 + 0.4 * self._graph.score[s.idx]) * _standalone(s.text)
                if said and s.idx in said:
                    weight *= 0.3
                out.append((rel * weight, s))
        out.sort(key=lambda x: -x[0])
        return out

    def _centrality(self) -> dict[tuple[int, int], float]:
        """Cosine of each sentence to its source's centroid (how typical of the article it is)."""
        out: dict[tuple[int, int], float] = {}
        for sid, sents in self._sents.items():
            centroid: Counter[str] = Counter()
            for s in sents:
                centroid.update(s.vec)
            c = _norm(centroid)
            for s in sents:
                out[(sid, s.start)] = _cos(s.vec, c)
        return out

    def _importance(self, focus: list[list[dict[str, float]]], opinion: set[int]) -> list[tuple[float, _Sent]]:
        """Cross-source importance: centrality x agreement x stand-alone quality, lifted by relevance to any focus
        question; an opinion piece's sentences weigh a little less (the bottom line states facts first)."""
        out = []
        for s in self._all:
            rel = max((_match(s.vec, q) for q in focus), default=0.0)
            agree = 1.0 + AGREE_BOOST * min(4, self._graph.agree[s.idx])
            score = (self._graph.score[s.idx] * agree * _standalone(s.text) * _length_fit(s.text)
                     * (1.0 + FOCUS_BOOST * rel) * (OPINION_WEIGHT if s.source_id in opinion else 1.0))
            out.append((score, s))
        out.sort(key=lambda x: -x[0])
        return out

    def _corroborated(self, s: _Sent, limit: int = 3) -> list[_Sent]:
        """Closest sentences of other independent sources that say the same thing, best first."""
        found = sorted(self._graph.matches[s.idx].values(), key=lambda m: -m[1]) if s.idx >= 0 else []
        out = []
        numbers = _numbers(s.text)
        for j, _ in found:
            other = self._all[j]
            # Same point, same figures: a report giving another toll or amount does not corroborate this one.
            if len(set(other.vec) & set(s.vec)) >= 3 and len(numbers & _numbers(other.text)) >= 0.6 * len(numbers):
                out.append(other)
        return out[:limit]

    def _agreed_claim(self, s: _Sent, **extra: str | None) -> Claim:
        """A claim quoting s, also citing the independent sources whose own sentence says the same."""
        claim = self._claim(s, **extra)
        for o in self._corroborated(s):
            claim.source_ids.append(o.source_id)
            claim.evidence.append(_evidence(o))
        return claim

    # -- Engine protocol --------------------------------------------------------------------------------------

    def summarize(self, sources: Iterable[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                  on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """Per-source summary: the most central sentences, redundancy-controlled, in the article's order."""
        sources = list(sources)  # centrality is computed over all of them
        self._index(sources)
        cent = self._centrality()
        out = []
        for src in sources:
            sents = self._sents.get(src.id, [])
            # Lead sentences of news and analysis carry the point: a mild position prior.
            cands = [(cent[(src.id, s.start)] * (1.15 - 0.3 * s.pos) * _standalone(s.text), s) for s in sents]
            picked = sorted(self._mmr(cands, self.summary_sentences, lam=0.75), key=lambda s: s.start)
            events = [self._claim(s, date=s.date) for s in sents if s.date]
            out.append(SourceSummary(source_id=src.id, claims=[self._claim(s) for s in picked],
                                     stance=_stance(src), events=events[:5],
                                     actors=_actors(src.text)))
        if on_summary is not None:  # all at once: the ranking is corpus-wide
            for summary in out:
                on_summary(summary)
        return out

    def synthesize(self, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
        """BLUF from cross-source centrality; themes per focus question, judgments preferring corroborated points."""
        self._index(sources)
        queries = [self._query([q.title, q.question, *q.keywords, *q.keywords]) for q in profile.focus_questions]

        # BLUF: the most central facts the independent sources agree on, redundancy-controlled.
        opinion = {src.id for src in sources if _stance(src).startswith("opinion")}
        bluf_sents = self._mmr(self._importance(queries, opinion), 5, lam=BLUF_LAM, min_sources=2, max_sim=BLUF_MAX_SIM,
                               coverage=True, spread=BLUF_SPREAD)
        used = {s.idx for s in bluf_sents}
        bluf = [self._agreed_claim(s) for s in bluf_sents]

        themes: list[Section] = []
        theme_picks: list[list[_Sent]] = []
        theme_pools: list[list[tuple[float, _Sent]]] = []
        for q, query in zip(profile.focus_questions, queries, strict=True):
            ranked = self._relevance(query, said=used)
            picks = self._mmr(ranked, self.section_claims, min_sources=2)
            theme_picks.append(picks)
            theme_pools.append(ranked)
            themes.append(Section(q.key, q.title, [self._claim(s) for s in picks]))

        # Key judgments: per theme, among its picks and other strongly relevant sentences (at least half the best
        # relevance), the statement the most independent sources agree on, then the most relevant.
        judgments = []
        taken = set(used)
        for q, picks, ranked in zip(profile.focus_questions, theme_picks, theme_pools, strict=True):
            best = ranked[0][0] if ranked else 0.0
            pool = [s for s in picks if s.idx not in taken]
            pool += [s for score, s in ranked[:12] if score >= 0.5 * best and s.idx not in taken and s not in pool]
            if not pool:
                continue
            s = max(pool, key=lambda x: (len(self._corroborated(x)), -pool.index(x)))
            taken.add(s.idx)
            claim = self._agreed_claim(s)
            others = claim.source_ids[1:]
            n = len({self._groups.get(i, i) for i in claim.source_ids})
            confidence = "high" if n >= 3 else "moderate" if n == 2 else "low"
            if others:
                agree = ", ".join(f"[{i}]" for i in others)
                verb = "reports" if len(others) == 1 else "report"
                reason = (f"verbatim from [{s.source_id}]; {agree} independently {verb} the same "
                          f"({n} independent sources)")
            else:
                reason = f"verbatim from a single source [{s.source_id}]; not corroborated by other sources"
            claim.confidence, claim.reason = confidence, f"{q.title}: {reason}"
            judgments.append(claim)

        timeline = self._timeline()
        implication_query = self._query([*self.settings.profile.implication_terms(), *IMPLICATION_TERMS])
        implications = self._mmr(self._relevance(implication_query, exclude=taken), 4, min_sources=2)
        indicators = self._mmr(self._relevance(self._query(INDICATOR_TERMS),
                                               exclude=taken | {s.idx for s in implications}), 4, min_sources=2)
        return Synthesis(
            bluf=bluf,
            judgments=judgments,
            themes=themes,
            timeline=timeline,
            implications=[self._claim(s) for s in implications],
            indicators=[self._claim(s) for s in indicators],
        )

    def _timeline(self, limit: int = 12) -> list[Claim]:
        """Dated sentences, oldest first; one per (date, source) and no near-repeats."""
        dated = sorted((s for sents in self._sents.values() for s in sents if s.date),
                       key=lambda s: (s.date or "", s.source_id, s.start))
        seen: set[tuple[str, int]] = set()
        out: list[_Sent] = []
        for s in dated:
            key = (s.date or "", s.source_id)
            if key in seen or any(_cos(s.vec, o.vec) > 0.5 for o in out):
                continue
            seen.add(key)
            out.append(s)
        if len(out) > limit:  # keep the spread: evenly spaced picks across the span
            step = len(out) / limit
            out = [out[int(i * step)] for i in range(limit)]
        return [self._claim(s, date=s.date) for s in out]


def _evidence(s: _Sent) -> Evidence:
    """Evidence for a quoted sentence: the whole sentence as segmented (the claim may skip its dateline)."""
    start, end, text = s.quote or (s.start, s.end, s.text)
    return Evidence(s.source_id, text, (start, end), sentence_ids=[s.sid])


def _numbers(text: str) -> set[str]:
    """Figures of a sentence (digits, separators removed): 12,000 -> 12000."""
    return {re.sub(r"[,\s]", "", n) for n in re.findall(r"\d+(?:[,.\s]\d{3})*(?:\.\d+)?", text)}


def _prior(s: _Sent) -> float:
    """Teleport weight of a sentence in the graph: lead sentences of news carry the point; stand-alone ones quote."""
    return (1.2 - 0.4 * s.pos) * _standalone(s.text)


def _length_fit(text: str) -> float:
    """Mild preference for sentences of news-lead length (15-35 words) over very short or very long ones."""
    n = _length(text)
    return 1.0 if 15 <= n <= 35 else 0.85 if n < 15 else max(0.6, 1.0 - (n - 35) / 80)


def _languages(sources: list[Source]) -> dict[int, str]:
    """Language of each source for ranking; unknown ones join the corpus's most common language."""
    codes = {s.id: (s.language or "").split("-")[0].lower() for s in sources}
    known = Counter(c for c in codes.values() if c)
    default = known.most_common(1)[0][0] if known else "en"
    return {sid: c or default for sid, c in codes.items()}


def _parse_date(iso: str | None) -> date | None:
    if not iso:
        return None
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


def _stance(src: Source) -> str:
    """A coarse genre label from flags and wording."""
    if "machine_translated" in src.flags:
        return "news report (machine translation)"
    op = len(OPINION_MARKERS.findall(src.text))
    rep = len(REPORT_MARKERS.findall(src.text))
    if op > rep * 1.5:
        return "opinion / analysis"
    return "news report"


def _actors(text: str, limit: int = 8) -> list[str]:
    """Most frequent capitalised multi-word names (a rough list of who the article is about)."""
    names = Counter(m.group(0) for m in re.finditer(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b", text))
    return [n for n, c in names.most_common(limit) if c >= 2]
