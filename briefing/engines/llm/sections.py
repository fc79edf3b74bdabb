"""The shape of the LLM synthesis: notes routed to theme sections, stable source groups, the timeline without a model.

The sections of a brief are written in parallel, each from the notes routed to its focus question only. A section
whose notes are too many for one request is written in parts: its sources are split into stable groups by a hash of
each source's path (a binary trie over hash bits, split until a group's notes fit the part budget), so adding or
editing one source changes only the group it falls in, and each part is cached by its inputs. Parts' claims are joined
in hash order; where joined claims exceed the section budget, sibling parts are merged by one more request, bottom up,
two at a time (bounded fan-in), so the reduction converges for any number of sources.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from briefing.models import Claim, Evidence, FocusQuestion, Source, SourceSummary, claim_from_dict
from briefing.tokens import count_tokens

HASH_BITS = 64
TIMELINE_SOURCES = 5  # sources cited by one timeline entry reported by many (copies of a wire story)
_WORD = re.compile(r"\w+", re.U)
_PHRASE = re.compile(r"[\s\-+·/]")


def position(source: Source) -> int:
    """A source's place in the trie: a hash of its path (or URL), stable when its text is edited."""
    return int(hashlib.sha256(source.path.encode("utf-8", "replace")).hexdigest()[:16], 16)


def stable_key(source: Source) -> str:
    """What identifies a source across runs in cached parts (run ids shift when a file is added before it)."""
    return source.path


class Router:
    """Focus-question keys for a note: the model's tags where it gave known keys, else the profile's keywords."""

    def __init__(self, questions: list[FocusQuestion]) -> None:
        self.keys = [q.key for q in questions]
        self._words: list[set[str]] = []
        self._phrases: list[list[str]] = []
        for q in questions:
            words, phrases = set(), []
            for kw in q.keywords:
                k = kw.strip().lower()
                if not k:
                    continue
                if _PHRASE.search(k) or not k.isascii():  # "south korea", "2+2", Hangul glued to particles
                    phrases.append(k)
                else:
                    words.add(k)
            self._words.append(words)
            self._phrases.append(phrases)

    def scores(self, text: str) -> list[int]:
        """Distinct keywords of each focus question found in the text."""
        low = text.lower()
        words = set(_WORD.findall(low))
        return [len(w & words) + sum(1 for p in ph if p in low) for w, ph in zip(self._words, self._phrases,
                                                                                 strict=True)]

    def by_keywords(self, text: str) -> list[str]:
        """The keys whose questions' keywords the text matches most (ties: all of them); [] when none matches."""
        sc = self.scores(text)
        top = max(sc, default=0)
        return [k for k, s in zip(self.keys, sc, strict=True) if top and s == top]

    def tagged(self, tags: list[str]) -> list[str]:
        """The model's tags that are profile keys, in profile order."""
        known = set(tags)
        return [k for k in self.keys if k in known]


@dataclass
class Note:
    """One note of a source as the section prompts show it, with the evidence its id stands for."""

    id: str
    text: str
    source_ids: list[int]
    evidence: list[Evidence]

    def var(self) -> dict[str, Any]:
        """The prompt variable of the note."""
        return {"id": self.id, "text": self.text, "source_ids": self.source_ids, "evidence": self.evidence}


@dataclass
class SourceNotes:
    """A source's notes routed to one section."""

    source: Source
    notes: list[Note]
    tokens: int
    pos: int = 0


@dataclass
class Group:
    """A node of a section's trie: a leaf holds sources (one part request); an inner node holds two children."""

    depth: int
    prefix: int
    sources: list[SourceNotes] = field(default_factory=list)
    children: list[Group] = field(default_factory=list)

    @property
    def leaf(self) -> bool:
        """Whether this node is written from notes (else it joins or merges its children's claims)."""
        return not self.children

    def leaves(self) -> list[Group]:
        """Leaf groups in hash order."""
        return [self] if self.leaf else [x for c in self.children for x in c.leaves()]


def note_tokens(text: str, source_ids: list[int]) -> int:
    """Prompt tokens of a note line "- (id) text [n]" (id and brackets estimated)."""
    return count_tokens(text) + 6 + 2 * len(source_ids)


def _pieces(item: SourceNotes, budget: int) -> list[SourceNotes]:
    """A source whose notes alone exceed the budget, in consecutive pieces that fit (in note order)."""
    out: list[SourceNotes] = []
    cur: list[Note] = []
    tok = item.tokens - sum(note_tokens(n.text, n.source_ids) for n in item.notes)  # its source line
    base = tok
    for n in item.notes:
        t = note_tokens(n.text, n.source_ids)
        if cur and tok + t > budget:
            out.append(SourceNotes(item.source, cur, tok, item.pos))
            cur, tok = [], base
        cur.append(n)
        tok += t
    out.append(SourceNotes(item.source, cur, tok, item.pos))
    return out


def split(items: list[SourceNotes], budget: int, depth: int = 0, prefix: int = 0) -> Group:
    """The trie of a section's sources: a node splits on the next hash bit until its notes fit `budget` tokens (a
    single source over the budget is cut into pieces of its notes). Stable: a source's leaf depends only on its
    hash and its neighbours'."""
    if len(items) == 1 and items[0].tokens > budget and len(items[0].notes) > 1:
        kids = [Group(depth + 1, prefix, [p]) for p in _pieces(items[0], budget)]
        return kids[0] if len(kids) == 1 else Group(depth, prefix, children=kids)
    if sum(x.tokens for x in items) <= budget or len(items) <= 1 or depth >= HASH_BITS:
        return Group(depth, prefix, sorted(items, key=lambda x: (x.pos, x.source.id)))
    bit = HASH_BITS - 1 - depth
    halves = ([x for x in items if not (x.pos >> bit) & 1], [x for x in items if (x.pos >> bit) & 1])
    kids = [split(h, budget, depth + 1, prefix * 2 + b) for b, h in enumerate(halves) if h]
    if len(kids) == 1:
        return kids[0]
    return Group(depth, prefix, children=kids)


def claim_tokens(claims: list[Claim]) -> int:
    """Prompt tokens of claims shown as notes (to the top request or a merge)."""
    return sum(note_tokens(c.text, c.source_ids) for c in claims)


def to_stable(claims: list[Claim], key_of: dict[int, str]) -> list[dict[str, Any]]:
    """Claims as cached: run ids replaced by the sources' stable keys (an id of no known source stays a number)."""
    out = []
    for c in claims:
        d = asdict(c)
        d["source_ids"] = [key_of.get(i, i) for i in c.source_ids]
        for ev in d["evidence"]:
            ev["source_id"] = key_of.get(ev["source_id"], ev["source_id"])
        out.append(d)
    return out


def stable_notes(notes: list[dict[str, Any]], key_of: dict[int, str]) -> list[dict[str, Any]]:
    """A part's note blocks as its cache key sees them: source ids, and a source note's id "3.2", by stable key."""
    def note_id(nid: str) -> str:
        if not nid[:1].isdigit():  # "p1.2": a merged part's claim, not a source's note
            return nid
        sid, rest = nid.split(".", 1)
        return f"{key_of.get(int(sid), nid)}.{rest}"

    return [{"heading": n["heading"], "claims": [
        {"id": note_id(c["id"]), "text": c["text"], "source_ids": [key_of.get(i, i) for i in c["source_ids"]],
         "evidence": to_stable([Claim("", [], c["evidence"])], key_of)[0]["evidence"]}
        for c in n["claims"]]} for n in notes]


def from_stable(items: list[dict[str, Any]], id_of: dict[str, int]) -> list[Claim] | None:
    """Cached claims with this run's ids; None when a stable key names no source of the group (a stale entry)."""
    out = []
    for d in items:
        d = dict(d)
        ids = []
        for i in d.get("source_ids", []):
            if isinstance(i, str):
                if i not in id_of:
                    return None
                i = id_of[i]
            ids.append(i)
        d["source_ids"] = ids
        evs = []
        for ev in d.get("evidence", []):
            ev = dict(ev)
            if isinstance(ev.get("source_id"), str):
                if ev["source_id"] not in id_of:
                    return None
                ev["source_id"] = id_of[ev["source_id"]]
            evs.append(ev)
        d["evidence"] = evs
        out.append(claim_from_dict(d))
    return out


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def timeline(sources: list[Source], summaries: list[SourceSummary], router: Router, language: str,
             limit: int = 40) -> list[Claim]:
    """The timeline from the summaries' dated events, without a model call: the event sentences themselves (their
    rendering in the brief's language where the source is in another one), duplicates merged (the same sentence
    reported twice, or the same date and wording from near-duplicate reports; at most TIMELINE_SOURCES cited each),
    at most `limit` entries, those most
    relevant to the focus questions first, then oldest first."""
    by_id = {s.id: s for s in sources}
    seen: dict[tuple[str, str], Claim] = {}
    scored: list[tuple[int, int, Claim]] = []
    for summ in summaries:
        src = by_id.get(summ.source_id)
        if src is None:
            continue
        foreign = bool(src.language) and (src.language or "").split("-")[0].lower() != language.split("-")[0].lower()
        for ev_claim in summ.events:
            if not ev_claim.date or not ev_claim.evidence:
                continue
            text = ev_claim.text
            lang = src.language if foreign else None
            if foreign and all(e.translation for e in ev_claim.evidence):
                text, lang = " ".join(e.translation or "" for e in ev_claim.evidence), None
            key = (ev_claim.date, _norm(text)[:160])
            if key in seen:
                dup = seen[key]
                for sid in ev_claim.source_ids:
                    if sid not in dup.source_ids and len(dup.source_ids) < TIMELINE_SOURCES:
                        dup.source_ids.append(sid)
                        dup.evidence += [e.copy() for e in ev_claim.evidence]
                continue
            c = Claim(text=text, source_ids=list(ev_claim.source_ids),
                      evidence=[e.copy() for e in ev_claim.evidence], date=ev_claim.date, language=lang)
            seen[key] = c
            scored.append((max(router.scores(text), default=0), len(scored), c))
    keep = sorted(scored, key=lambda x: (-x[0], x[1]))[:limit]
    return sorted((c for _, _, c in keep), key=lambda c: (c.date or "", c.source_ids[:1]))
