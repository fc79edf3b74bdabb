"""Typed data passed between stages (ingest -> clean -> chunk -> summarize -> synthesize -> verify -> render)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypedDict

from briefing.sentences import Sentence, split_sentences


@dataclass
class Dropped:
    """A block the cleaner removed, with the reason, so users can see why a paragraph went."""

    text: str
    reason: str
    start_line: int  # 1-based line in the decoded input
    end_line: int


@dataclass
class RawDoc:
    """An input document after decoding, before cleaning."""

    path: str  # file path or URL, as given by the user
    text: str  # decoded text (or HTML)
    sha256: str  # hash of the raw bytes
    encoding: str = "utf-8"
    is_html: bool = False
    # Metadata known before cleaning (feed entries): fallbacks for what the cleaner finds in the text.
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date YYYY-MM-DD


@dataclass(kw_only=True)
class DocMeta:
    """A document's metadata, declared once for the cleaner (Meta), CleanedDoc and Source; unknown stays None/empty."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    original_publisher: str | None = None  # "This article originally appeared in ..."
    published: str | None = None  # ISO date YYYY-MM-DD
    language: str | None = None
    url: str | None = None

    def doc_meta(self) -> dict[str, Any]:
        """The metadata fields alone (lists copied), to pass on: Source(**doc.doc_meta(), ...)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), list) else v for f in fields(DocMeta)}


@dataclass
class CleanedDoc(DocMeta):
    """Output of the clean stage: article text plus metadata (DocMeta, keyword-only)."""

    path: str
    text: str
    sha256: str
    flags: list[str] = field(default_factory=list)  # machine_translated, appended_content_removed, near_duplicate
    dropped: list[Dropped] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # 0-based indices (in the cleaned batch) of same-event reports


RUN_FLAGS = ("near_duplicate",)  # source flags set from the whole run's sources (see Source.own_flags)

_SOURCE_JSON_ORDER = ("id", "path", "sha256", "tokens", "title", "authors", "publisher", "original_publisher",
                      "published", "language", "url", "flags", "same_event_as")


@dataclass
class Source(DocMeta):
    """A cleaned document with the stable id cited as [id] everywhere in the run (metadata: DocMeta, keyword-only)."""

    id: int
    path: str
    text: str
    sha256: str
    tokens: int
    flags: list[str] = field(default_factory=list)
    same_event_as: list[int] = field(default_factory=list)  # ids of near-duplicate reports

    @classmethod
    def from_doc(cls, id: int, doc: CleanedDoc, tokens: int) -> Source:
        """Give a cleaned document its run-wide id."""
        return cls(id=id, path=doc.path, text=doc.text, sha256=doc.sha256, tokens=tokens, flags=list(doc.flags),
                   **doc.doc_meta())

    def own_flags(self) -> list[str]:
        """Flags of the source itself: not near_duplicate, which depends on the run's other sources and is known only
        once all are cleaned (a summary, asked for as soon as its source is cleaned, never depends on it)."""
        return [f for f in self.flags if f not in RUN_FLAGS]

    @property
    def sentences(self) -> list[Sentence]:
        """The text's sentences (ids 1..n, spans into text), segmented once per text and shared by every stage."""
        cached = self.__dict__.get("_sentences")
        if cached is None or cached[0] is not self.text:
            cached = (self.text, split_sentences(self.text))
            self.__dict__["_sentences"] = cached
        return cached[1]

    def use_sentences(self, spans: list[tuple[int, int]]) -> None:
        """Take the text's sentence spans as split_sentences gave them elsewhere (the process that cleaned it),
        instead of segmenting the text again here."""
        self.__dict__["_sentences"] = (self.text, [Sentence(i, a, b, self.text[a:b])
                                                   for i, (a, b) in enumerate(spans, 1)])

    def sentence(self, sid: int) -> Sentence | None:
        """Sentence number sid (1-based), or None if the source has no such sentence."""
        sents = self.sentences
        return sents[sid - 1] if isinstance(sid, int) and not isinstance(sid, bool) and 1 <= sid <= len(sents) else None

    def to_json(self) -> dict[str, Any]:
        """Metadata for brief.json (the text itself is not repeated there), in a stable key order."""
        d = asdict(self)
        return {k: d[k] for k in _SOURCE_JSON_ORDER}


@dataclass
class Chunk:
    """A token-budgeted slice of a source; start/end are char offsets into the source text."""

    source_id: int
    index: int
    text: str
    start: int
    end: int
    tokens: int


@dataclass
class FocusQuestion:
    """One analysis theme of the profile."""

    key: str
    title: str
    question: str
    keywords: list[str] = field(default_factory=list)


@dataclass
class Profile:
    """What the brief is about and for whom."""

    title: str
    audience: str
    focus_questions: list[FocusQuestion]
    language: str = "en"  # the brief's language (claims, headings)


@dataclass
class Evidence:
    """A passage of a cited source backing a claim: its sentence ids and/or a verbatim quote; span set by verify."""

    source_id: int
    quote: str
    span: tuple[int, int] | None = None
    sentence_ids: list[int] = field(default_factory=list)  # ids of Source.sentences the claim rests on
    # The model's rendering of the quoted sentence(s) in the brief's language, for a source in another language:
    # support is checked on it, and its figures, dates and names against the original quote.
    translation: str | None = None

    def copy(self) -> Evidence:
        """An independent copy (its own sentence id list), for a claim built from another claim's evidence."""
        return Evidence(self.source_id, self.quote, self.span, list(self.sentence_ids), self.translation)


@dataclass
class Claim:
    """One statement rendered in the brief, with its citations and evidence."""

    text: str
    source_ids: list[int]
    evidence: list[Evidence] = field(default_factory=list)
    confidence: str | None = None  # key judgments: low / moderate / high
    reason: str | None = None  # why that confidence
    date: str | None = None  # timeline entries: ISO date (YYYY, YYYY-MM or YYYY-MM-DD)
    language: str | None = None  # language code of the text when it is quoted verbatim from a source (offline engine)
    verified: bool | None = None  # None until the verify stage has run
    support: float | None = None  # 0..1, how well the cited sentences support the claim (set by verify)
    problems: list[str] = field(default_factory=list)  # why verification failed
    # citations the engine could not resolve ("note 3.99", "sentence 'x'"): kept so the verify stage flags the claim
    unresolved: list[str] = field(default_factory=list)
    judge: str | None = None  # the model judge's verdict ("supported", "partly: reason", ...), when it ran


@dataclass
class SourceSummary:
    """Per-source summary: sentences (each a claim citing the source) plus structured extras."""

    source_id: int
    claims: list[Claim]
    stance: str  # news report, opinion, official statement, translation, analysis
    key_points: list[Claim] = field(default_factory=list)
    events: list[Claim] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    # focus-question keys each statement (claims[i]) bears on, as the model tagged them ([] where it gave none)
    themes: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    """An analysis section: one per focus question."""

    key: str
    title: str
    claims: list[Claim]


@dataclass
class Synthesis:
    """Cross-source output of the engine: everything the brief says besides source summaries."""

    bluf: list[Claim]
    judgments: list[Claim]
    themes: list[Section]
    timeline: list[Claim]
    implications: list[Claim]
    indicators: list[Claim]


@dataclass
class Usage:
    """Model usage accumulated over a run."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    batch_requests: int = 0  # of `requests`, those answered through the Batch API (at its price)

    def add(self, other: Usage) -> None:
        """Accumulate another usage record into this one."""
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.batch_requests += other.batch_requests


def claim_from_dict(d: dict[str, Any]) -> Claim:
    """Rebuild a claim from its JSON form (verification state is not carried over: it is re-checked)."""
    return Claim(
        text=str(d["text"]),
        source_ids=[int(i) for i in d.get("source_ids", [])],
        evidence=[Evidence(int(e["source_id"]), str(e.get("quote") or ""), tuple(e["span"]) if e.get("span") else None,
                           [int(i) for i in e.get("sentence_ids") or []],
                           str(e["translation"]) if e.get("translation") else None)
                  for e in d.get("evidence", [])],
        confidence=d.get("confidence"),
        reason=d.get("reason"),
        date=d.get("date"),
        unresolved=[str(u) for u in d.get("unresolved") or []],
        language=d.get("language") if isinstance(d.get("language"), str) else None,
    )


def summary_from_dict(d: dict[str, Any]) -> SourceSummary:
    """Rebuild a per-source summary from its JSON form."""
    return SourceSummary(
        source_id=int(d["source_id"]),
        claims=[claim_from_dict(c) for c in d.get("claims", [])],
        stance=str(d.get("stance", "")),
        key_points=[claim_from_dict(c) for c in d.get("key_points", [])],
        events=[claim_from_dict(c) for c in d.get("events", [])],
        actors=[str(a) for a in d.get("actors", [])],
        themes=[[str(k) for k in t] for t in d.get("themes", []) if isinstance(t, list)],
    )


def synthesis_from_dict(d: dict[str, Any]) -> Synthesis:
    """Rebuild a synthesis from its JSON form."""
    return Synthesis(
        bluf=[claim_from_dict(c) for c in d.get("bluf", [])],
        judgments=[claim_from_dict(c) for c in d.get("judgments", [])],
        themes=[Section(str(t["key"]), str(t["title"]), [claim_from_dict(c) for c in t.get("claims", [])])
                for t in d.get("themes", [])],
        timeline=[claim_from_dict(c) for c in d.get("timeline", [])],
        implications=[claim_from_dict(c) for c in d.get("implications", [])],
        indicators=[claim_from_dict(c) for c in d.get("indicators", [])],
    )


class Changes(TypedDict):
    """What changed since the previous brief in the same output folder (brief.json "changes")."""

    previous: str  # generated_at of the previous brief
    added: list[str]  # source paths
    removed: list[str]
    updated: list[str]
    judgments_added: list[str]
    judgments_removed: list[str]
