"""Offline extractive engine, the default with no LLM: every statement is a verbatim sentence of its source."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from briefing.confidence import independent_groups
from briefing.config import Settings
from briefing.engines.base import OnSummary
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

# Query vocabularies for the sections that are not focus questions.
# The profile's implications_for names and keywords come first (config.ProfileSettings.implication_terms).
IMPLICATION_TERMS = ["should", "must", "need", "needs", "implications", "policy", "prudent", "course", "cooperation",
                     "increase", "defence", "allies"]
INDICATOR_TERMS = ["watch", "watching", "monitor", "monitoring", "possible", "possibility", "could", "may", "likely",
                   "next", "future", "escalation", "emerge", "signs", "test", "deploy", "deployment", "provision",
                   "transfer", "additional"]
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
    r"In short|In either case|As a result|Thus|Therefore|Still)\b[ ,]"
)
META = re.compile(r"\b(?:first published|originally appeared|photo credit|reading time|all rights reserved|"
                  r"click here|sign up|subscribe)\b", re.IGNORECASE)
EARLY_REFERENCE = re.compile(r"^(?:\S+\s+){0,9}?(?:this|these|that|those|such)\s+(?!is\b|was\b|are\b)[a-z]+\b")
SPEAKER = re.compile(r"^\s*[A-Z][\w .]{0,30}:\s")  # "Editor: ...", "Q: ..." transcript lines


def _usable(text: str) -> bool:
    """A sentence worth quoting on its own: a complete statement of sensible length, not a heading or fragment."""
    w = words(text)
    if not 8 <= len(w) <= 70:
        return False
    end = text.rstrip().rstrip("\"'”’)]")
    if not end.endswith((".", "!")):
        return False
    if META.search(text) or SPEAKER.match(text):
        return False
    first = text.lstrip("“\"‘'([ ")[:1]
    return bool(first) and (first.isupper() or first.isdigit())


def _standalone(text: str) -> float:
    """Weight for how well a sentence stands on its own when lifted out of its article."""
    n = len(words(text))
    weight = 0.4 if DEPENDENT_START.match(text) else 0.6 if EARLY_REFERENCE.match(text) else 1.0
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
        self.summary_sentences = summary_sentences
        self.section_claims = section_claims
        self._sents: dict[int, list[_Sent]] = {}
        self._indexed: list[tuple[int, str, int]] = []
        self._idf: dict[str, float] = {}

    def chunk_budget(self) -> None:
        """None: the extractive engine reads whole sources, so the run does not chunk them."""
        return None

    def judge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """No model to judge with: the pipeline does not ask an offline engine (an empty verdict list if it did)."""
        return {}

    def cache_identity(self) -> None:
        """None: not worth caching (free, and it ranks sentences corpus-wide, so one new source changes all)."""
        return None

    def estimate(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile) -> dict[str, Any]:
        """A dry run of the extractive engine costs nothing."""
        zero = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        return {"engine": self.name, "model": self.model, "stages": {"summarize": dict(zero), "synthesize": dict(zero)},
                **zero}

    # -- indexing ---------------------------------------------------------------------------------------------

    def _index(self, sources: list[Source]) -> None:
        """Split every source into sentences and build TF-IDF vectors over the whole corpus."""
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
                if _usable(sent.text):
                    tf = Counter(content_words(sent.text))
                    if tf:
                        rows.append((sent.id, sent.start, sent.end, sent.text, tf))
                        df.update(tf.keys())
                        n_docs += 1
            raw[src.id] = rows
        self._idf = {t: math.log((1 + n_docs) / (1 + c)) + 1.0 for t, c in df.items()}
        for src in sources:
            pub = _parse_date(src.published)
            length = max(1, len(src.text))
            self._sents[src.id] = [
                _Sent(src.id, sid, s, e, text, s / length, _norm({t: c * self._idf.get(t, 1.0) for t, c in tf.items()}),
                      find_date(text, pub))
                for sid, s, e, text, tf in raw.get(src.id, [])
            ]

    def _query(self, terms: list[str]) -> dict[str, float]:
        tf: Counter[str] = Counter()
        for t in terms:
            tf.update(content_words(t))
        return _norm({t: c * self._idf.get(t, 1.0) for t, c in tf.items()})

    # -- selection --------------------------------------------------------------------------------------------

    @staticmethod
    def _mmr(cands: list[tuple[float, _Sent]], k: int, lam: float = 0.7, min_sources: int = 1,
             exclude: set[tuple[int, int]] | None = None) -> list[_Sent]:
        """Maximal marginal relevance; the first picks come from distinct sources until min_sources is met."""
        pool = [(score, s) for score, s in cands if score > 0 and (s.source_id, s.start) not in (exclude or set())]
        chosen: list[_Sent] = []
        while pool and len(chosen) < k:
            have = {c.source_id for c in chosen}
            need_new = len(have) < min_sources and any(s.source_id not in have for _, s in pool)

            def value(item: tuple[float, _Sent]) -> float:
                score, s = item
                redundancy = max((_cos(s.vec, c.vec) for c in chosen), default=0.0)
                return lam * score - (1 - lam) * redundancy

            eligible = [p for p in pool if not need_new or p[1].source_id not in have]
            best = max(eligible, key=value)
            if chosen and max(_cos(best[1].vec, c.vec) for c in chosen) > 0.6:
                pool.remove(best)
                continue
            chosen.append(best[1])
            pool.remove(best)
        return chosen

    def _claim(self, s: _Sent, **extra: str | None) -> Claim:
        evidence = Evidence(s.source_id, s.text, (s.start, s.end), sentence_ids=[s.sid])
        return Claim(text=s.text, source_ids=[s.source_id], evidence=[evidence], **extra)  # type: ignore[arg-type]

    def _relevance(self, query: dict[str, float],
                   centrality: dict[tuple[int, int], float]) -> list[tuple[float, _Sent]]:
        out = []
        for sents in self._sents.values():
            for s in sents:
                rel = _cos(s.vec, query)
                if rel > 0:
                    weight = (0.75 + 0.25 * centrality.get((s.source_id, s.start), 0.0)) * _standalone(s.text)
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

    # -- Engine protocol --------------------------------------------------------------------------------------

    def summarize(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                  on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """Per-source summary: the most central sentences, redundancy-controlled, in the article's order."""
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
        """Per focus question, the most relevant sentences across sources, at least two sources each when possible."""
        self._index(sources)
        cent = self._centrality()
        groups = independent_groups(sources)
        themes: list[Section] = []
        theme_picks: list[list[_Sent]] = []
        for q in profile.focus_questions:
            query = self._query([q.title, q.question, *q.keywords, *q.keywords])
            picks = self._mmr(self._relevance(query, cent), self.section_claims, min_sources=2)
            theme_picks.append(picks)
            themes.append(Section(q.key, q.title, [self._claim(s) for s in picks]))

        # BLUF: the best pick of each theme, distinct sentences, at most five.
        bluf_sents: list[_Sent] = []
        for picks in theme_picks:
            for s in picks:
                if all(_cos(s.vec, b.vec) < 0.5 for b in bluf_sents):
                    bluf_sents.append(s)
                    break
        bluf = [self._claim(s) for s in bluf_sents[:5]]

        # Key judgments: per theme, the strongest statement not already in the BLUF, with confidence from
        # how many independent sources say something close to it.
        used = {(s.source_id, s.start) for s in bluf_sents}
        judgments = []
        for q, picks in zip(profile.focus_questions, theme_picks, strict=True):
            rest = [s for s in picks if (s.source_id, s.start) not in used] or picks
            if not rest:
                continue
            s = rest[0]
            used.add((s.source_id, s.start))
            support = {groups[o.source_id] for sents in self._sents.values() for o in sents
                       if o.source_id != s.source_id and _cos(o.vec, s.vec) >= 0.3}
            support.discard(groups[s.source_id])
            n = len(support)
            confidence = "moderate" if n >= 1 else "low"
            reason = (f"verbatim from [{s.source_id}]; {n} other independent source(s) make a closely related point"
                      if n else f"verbatim from a single source [{s.source_id}]; not corroborated by other sources")
            judgments.append(self._claim(s, confidence=confidence, reason=f"{q.title}: {reason}"))

        timeline = self._timeline()
        implication_query = self._query([*self.settings.profile.implication_terms(), *IMPLICATION_TERMS])
        implications = self._mmr(self._relevance(implication_query, cent), 4, min_sources=2, exclude=used)
        indicators = self._mmr(self._relevance(self._query(INDICATOR_TERMS), cent), 4, min_sources=2,
                               exclude=used | {(s.source_id, s.start) for s in implications})
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
