"""A written run read back for export: brief.json and the saved source texts as typed views for the renderers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from briefing.errors import ConfigError, InputError
from briefing.export.evidence import SourceEvidence, build_passages, locate, merge_spans, valid_span
from briefing.messages import Messages
from briefing.messages import load as load_messages
from briefing.render import make_attribution

MAX_BRIEF_BYTES = 64 * 1024 * 1024
MAX_SOURCE_BYTES = 32 * 1024 * 1024
SAFE_HREF = re.compile(r"^https?://[^\s\"'<>`]+$", re.IGNORECASE)
# Code points HTML and XML do not allow in text (controls, lone surrogates, noncharacters): each becomes U+FFFD,
# one for one, so char offsets into the source texts stay valid.
_INVALID = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
                      "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0010fffe\U0010ffff]")


def printable(value: Any) -> Any:
    """The same JSON value with every string's forbidden code points replaced by U+FFFD (lengths unchanged)."""
    if isinstance(value, str):
        return _INVALID.sub("\ufffd", value)
    if isinstance(value, list):
        return [printable(v) for v in value]
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    return value


class BadBrief(InputError):
    """brief.json is not a brief this version can read."""


@dataclass
class ClaimView:
    """One claim as the brief shows it; `k` is its index in brief.json's claims (the key of its evidence)."""

    k: int
    section: str
    text: str
    source_ids: list[int]
    confidence: str | None = None
    reason: str | None = None
    date: str | None = None
    verified: bool | None = None
    problems: list[str] = field(default_factory=list)
    attribution: str = ""  # "Braun argues: " before an opinion source's verbatim sentence (offline engine)
    language: str | None = None  # language code of a verbatim quote (offline engine)
    language_mark: str = ""  # " (Korean)" after a quote in another language than the brief's


@dataclass
class SourceView:
    """A numbered source: metadata, the saved cleaned text, and that text split where claims cite it."""

    id: int
    title: str | None
    authors: list[str]
    publisher: str | None
    original_publisher: str | None
    published: str | None
    path: str | None
    url: str | None
    language: str | None
    flags: list[str]
    same_event_as: list[int]
    text: str | None = None
    stance: str = ""
    cited: list[tuple[str, list[int]]] = field(default_factory=list)  # (text, claim keys citing it) segments
    outlet: str = ""  # publisher, with the original outlet when the piece was republished
    reference: str = ""  # `Author(s). "Title." Outlet, date.` in the brief's language (plain text)

    @property
    def where(self) -> str:
        """URL or file path."""
        return self.url or self.path or "unknown"

    @property
    def lang(self) -> str | None:
        """The language as an HTML lang value, when it looks like one (en, ko, zh-Hant)."""
        ok = self.language and re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", self.language)
        return self.language if ok else None

    @property
    def href(self) -> str | None:
        """A link target only for plain http(s) URLs (never javascript:, data: or file:)."""
        return self.url if self.url and SAFE_HREF.match(self.url) else None


@dataclass
class ThemeView:
    """An analysis section (one per focus question)."""

    key: str
    title: str
    question: str
    claims: list[ClaimView]


@dataclass
class SummaryView:
    """A per-source summary."""

    source: SourceView
    stance: str
    claims: list[ClaimView]


@dataclass
class BriefDoc:
    """Everything a renderer needs, read from brief.json and sources/N.txt (no model call)."""

    title: str
    audience: str
    language: str
    t: Messages
    generated_at: str
    engine: str
    model: str
    coverage: dict[str, Any]
    bluf: list[ClaimView]
    judgments: list[ClaimView]
    themes: list[ThemeView]
    timeline: list[ClaimView]
    implications: list[ClaimView]
    indicators: list[ClaimView]
    summaries: list[SummaryView]
    sources: list[SourceView]
    unverified: list[ClaimView]
    method: dict[str, Any]
    changes: dict[str, Any] | None
    claims: list[ClaimView]
    evidence: dict[int, dict[int, SourceEvidence]]  # claim key -> source id -> what it cites there

    @property
    def offline(self) -> bool:
        """True for the extractive engine (no model wrote the brief)."""
        return self.engine == "extractive"

    def source(self, sid: int) -> SourceView | None:
        """The source with this id, if the brief has it."""
        return next((s for s in self.sources if s.id == sid), None)


def _str(v: object, default: str | None = None) -> str | None:
    if v is None:
        return default
    return v if isinstance(v, str) else str(v)


def _int(v: object, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise BadBrief(f"{what}: expected an integer id, got {type(v).__name__}")
    if isinstance(v, str) and not re.fullmatch(r"\d{1,9}", v.strip()):
        raise BadBrief(f"{what}: expected an integer id, got {v[:20]!r}")
    n = int(v)
    if not 0 <= n < 10**9:
        raise BadBrief(f"{what}: id out of range")
    return n


def _strs(v: object) -> list[str]:
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v] if isinstance(v, list) else []


def _dicts(v: object) -> list[dict[str, Any]]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def load_brief_json(run_dir: Path) -> dict[str, Any]:
    """brief.json of a run folder (or the file itself); a clear error when missing or unreadable."""
    path = run_dir / "brief.json" if run_dir.is_dir() else run_dir
    try:
        if not path.is_file():
            raise BadBrief(f"{path}: no brief.json here (give a run folder such as outputs/latest)")
        if path.stat().st_size > MAX_BRIEF_BYTES:
            raise BadBrief(f"{path}: larger than {MAX_BRIEF_BYTES // 2**20} MB, not a brief")
        data = json.loads(path.read_text(encoding="utf-8"))
    except BadBrief:
        raise
    except (OSError, UnicodeDecodeError) as e:
        raise BadBrief(f"{path}: cannot read: {e.__class__.__name__}: {e}") from None
    except (ValueError, RecursionError) as e:
        raise BadBrief(f"{path}: not valid JSON: {str(e)[:200]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not isinstance(
            data.get("sources"), list):
        raise BadBrief(f"{path}: not a brief.json (no claims and sources lists)")
    return data


def read_source_texts(run_dir: Path, ids: list[int]) -> dict[int, str]:
    """The saved cleaned texts RUN_DIR/sources/N.txt: regular files inside the run folder only, size-capped."""
    base = run_dir.resolve()
    out: dict[int, str] = {}
    for sid in ids:
        p = (base / "sources" / f"{sid}.txt")
        try:
            real = p.resolve()
            if not real.is_relative_to(base) or not real.is_file() or real.stat().st_size > MAX_SOURCE_BYTES:
                continue
            out[sid] = real.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
    return out


def _claim(k: int, d: dict[str, Any]) -> ClaimView:
    verified = d.get("verified")
    return ClaimView(
        k=k,
        section=_str(d.get("section"), "") or "",
        text=_str(d.get("text"), "") or "",
        source_ids=sorted({_int(i, f"claim {k + 1} source id") for i in (d.get("source_ids") or [])
                           if i is not None}) if isinstance(d.get("source_ids"), list) else [],
        confidence=_str(d.get("confidence")),
        reason=_str(d.get("reason")),
        date=_str(d.get("date")),
        verified=verified if isinstance(verified, bool) else None,
        problems=_strs(d.get("problems")),
        language=_str(d.get("language")),
    )


def _evidence_spans(ev: dict[str, Any], text: str | None) -> tuple[list[tuple[int, int]], bool]:
    """Spans of one evidence entry in the source text (sentence spans, its span, or the quote found again)."""
    if text is None:
        return [], False
    spans = [s for s in (valid_span(text, x) for x in (ev.get("spans") or [])) if s] if isinstance(
        ev.get("spans"), list) else []
    if not spans and (s := valid_span(text, ev.get("span"))):
        spans = [s]
    if not spans and isinstance(ev.get("quote"), str) and (s := locate(text, ev["quote"])):
        spans = [s]
    return spans, bool(spans)


def _source_evidence(claim: ClaimView, raw: dict[str, Any], texts: dict[int, str]) -> dict[int, SourceEvidence]:
    """Per cited source: passages with the cited text marked, plus quotes that could not be located."""
    out: dict[int, SourceEvidence] = {sid: SourceEvidence(sid) for sid in claim.source_ids}
    spans: dict[int, list[tuple[int, int]]] = {}
    for ev in _dicts(raw.get("evidence")):
        try:
            sid = _int(ev.get("source_id"), f"claim {claim.k + 1} evidence source id")
        except BadBrief:
            continue
        se = out.setdefault(sid, SourceEvidence(sid))
        quote = _str(ev.get("quote"), "") or ""
        found, ok = _evidence_spans(ev, texts.get(sid))
        if quote:
            se.quotes.append(quote)
        if ok:
            spans.setdefault(sid, []).extend(found)
        elif quote:
            se.unlocated.append(quote)
        if isinstance(ev.get("translation"), str) and ev["translation"].strip():
            se.translations.append(ev["translation"])
    for sid, ss in spans.items():
        out[sid].spans = merge_spans(ss)
        out[sid].passages = build_passages(texts[sid], ss)
    return out


def _cited_segments(text: str, marks: list[tuple[int, int, int]]) -> list[tuple[str, list[int]]]:
    """The full text cut at every cited span's edges; each piece lists the claim keys whose evidence covers it."""
    cuts = sorted({0, len(text), *(p for s, e, _ in marks for p in (s, e))})
    out: list[tuple[str, list[int]]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        keys = sorted({k for s, e, k in marks if s <= a and b <= e})
        if out and out[-1][1] == keys:
            out[-1] = (out[-1][0] + text[a:b], keys)
        else:
            out.append((text[a:b], keys))
    return out


def messages_for(data: dict[str, Any], template_dirs: list[Path]) -> Messages:
    """The message catalogue of the brief's language (brief.json `language`), English if it has none."""
    language = data.get("language") if isinstance(data.get("language"), str) else "en"
    try:
        return load_messages(template_dirs, language or "en")
    except ConfigError:
        return load_messages(template_dirs, "en")


def build(data: dict[str, Any], texts: dict[int, str], template_dirs: list[Path],
          profile_themes: list[tuple[str, str, str]] | None = None, audience: str | None = None) -> BriefDoc:
    """The brief as the renderers see it. `profile_themes` (key, title, question) names themes for old brief.json
    files that did not record them; `audience` likewise."""
    t = messages_for(data, template_dirs)
    try:
        return _build(printable(data), {k: printable(v) for k, v in texts.items()}, t, profile_themes or [],
                      audience)
    except BadBrief:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BadBrief(f"brief.json has an unexpected shape: {e.__class__.__name__}: {str(e)[:200]}") from None


def _reference(s: SourceView, t: Messages) -> tuple[str, str]:
    """(outlet, reference) of a source, with the catalogue's words for unknown fields."""
    outlet = s.publisher or s.original_publisher or t.unknown_outlet
    if s.original_publisher and s.original_publisher != outlet:
        outlet = t("originally_in", outlet=outlet, original=s.original_publisher)
    authors = ", ".join(s.authors) or t.unknown_author
    return outlet, f'{authors}. "{s.title or t.untitled}." {outlet}, {s.published or t.date_unknown}.'


def _build(data: dict[str, Any], texts: dict[int, str], t: Messages, profile_themes: list[tuple[str, str, str]],
           audience: str | None) -> BriefDoc:
    engine = _str(data.get("engine"), "unknown") or "unknown"
    stances = {}
    for s in _dicts(data.get("summaries")):
        try:
            stances[_int(s.get("source_id"), "summary source id")] = _str(s.get("stance"), "") or ""
        except BadBrief:
            continue
    src_dicts = _dicts(data.get("sources"))
    sources = []
    for d in src_dicts:
        sid = _int(d.get("id"), "source id")
        sources.append(SourceView(
            id=sid, title=_str(d.get("title")), authors=_strs(d.get("authors")), publisher=_str(d.get("publisher")),
            original_publisher=_str(d.get("original_publisher")), published=_str(d.get("published")),
            path=_str(d.get("path")), url=_str(d.get("url")), language=_str(d.get("language")),
            flags=_strs(d.get("flags")),
            same_event_as=[_int(i, "same_event_as id") for i in d.get("same_event_as") or []]
            if isinstance(d.get("same_event_as"), list) else [],
            text=texts.get(sid), stance=stances.get(sid, "")))
        sources[-1].outlet, sources[-1].reference = _reference(sources[-1], t)
    attribution = make_attribution([{"id": s.id, "authors": s.authors} for s in sources], stances,
                                   engine == "extractive", t, esc=str)
    raw_claims = [c if isinstance(c, dict) else {} for c in data.get("claims") or []]
    claims = [_claim(k, c) for k, c in enumerate(raw_claims)]
    for c in claims:
        c.attribution = attribution(c)
        if c.language and c.language != t.language:
            c.language_mark = f" ({t.language_name(c.language)})"
    evidence = {c.k: _source_evidence(c, raw_claims[c.k], texts) for c in claims}
    for sv in sources:
        if sv.text is not None:
            marks = [(a, b, k) for k, by_src in evidence.items() if sv.id in by_src for a, b in by_src[sv.id].spans]
            sv.cited = _cited_segments(sv.text, marks)

    verification: dict[str, Any] = data["verification"] if isinstance(data.get("verification"), dict) else {}
    policy = _str(verification.get("policy"), "flag") or "flag"

    def shown(c: ClaimView) -> bool:
        return not (policy == "drop" and c.verified is False)

    def section(name: str) -> list[ClaimView]:
        return [c for c in claims if c.section == name and shown(c)]

    themes_meta: list[tuple[str, str, str]] = []
    for th in _dicts(data.get("themes")):
        themes_meta.append((_str(th.get("key"), "") or "", _str(th.get("title"), "") or "",
                            _str(th.get("question"), "") or ""))
    if not themes_meta:
        seen = [c.section.removeprefix("theme:") for c in claims if c.section.startswith("theme:")]
        known = {k for k, _, _ in profile_themes}
        themes_meta = list(profile_themes) + [(k, k.replace("_", " ").capitalize(), "")
                                              for k in dict.fromkeys(seen) if k not in known]
    themes = [ThemeView(k, title or k, q, section(f"theme:{k}")) for k, title, q in themes_meta]
    by_id = {s.id: s for s in sources}
    summaries = [SummaryView(by_id[sid], stances.get(sid, ""), section(f"source_summary:{sid}"))
                 for sid in stances if sid in by_id]
    dates = sorted(s.published for s in sources if s.published)
    usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
    method = {
        "requests": usage.get("requests", 0), "prompt_tokens": usage.get("prompt_tokens", 0),
        "completion_tokens": usage.get("completion_tokens", 0),
        "cost_usd": float(usage.get("cost_usd") or 0.0),
        "verified": verification.get("verified", sum(c.verified is True for c in claims)),
        "total_claims": verification.get("total", len(claims)), "policy": policy,
        "flagged_sources": _strs(data.get("method_notes")), "skipped": _strs(data.get("skipped")),
    }
    changes: dict[str, Any] | None = None
    if isinstance(raw_changes := data.get("changes"), dict):
        changes = {"previous": _str(raw_changes.get("previous"), "unknown time"),
                   **{k: _strs(raw_changes.get(k)) for k in ("added", "removed", "updated", "judgments_added",
                                                         "judgments_removed")}}
    return BriefDoc(
        title=_str(data.get("title"), "Brief") or "Brief",
        audience=_str(data.get("audience")) or audience or "unknown audience",
        language=t.language,
        t=t,
        generated_at=_str(data.get("generated_at"), "unknown time") or "unknown time",
        engine=engine,
        model=_str(data.get("model"), "unknown") or "unknown",
        coverage={"n_sources": len(sources), "date_from": dates[0] if dates else None,
                  "date_to": dates[-1] if dates else None},
        bluf=section("bluf"),
        judgments=section("key_judgments"),
        themes=themes,
        timeline=sorted(section("timeline"), key=lambda c: c.date or ""),
        implications=section("implications"),
        indicators=section("indicators"),
        summaries=summaries,
        sources=sources,
        unverified=[c for c in claims if c.verified is False] if policy == "flag" else [],
        method=method,
        changes=changes,
        claims=claims,
        evidence=evidence,
    )


def load(run_dir: Path, template_dirs: list[Path], profile_themes: list[tuple[str, str, str]] | None = None,
         audience: str | None = None) -> BriefDoc:
    """Read a run folder (brief.json + sources/N.txt) into a BriefDoc."""
    data = load_brief_json(run_dir)
    base = run_dir if run_dir.is_dir() else run_dir.parent
    ids = []
    for d in _dicts(data.get("sources")):
        try:
            ids.append(_int(d.get("id"), "source id"))
        except BadBrief:
            raise BadBrief(f"{base / 'brief.json'}: a source has no usable id") from None
    return build(data, read_source_texts(base, ids), template_dirs, profile_themes, audience)
