"""A real OpenAI-compatible HTTP server on loopback for tests and benchmarks, with fault injection and a latency model.

It answers POST /v1/chat/completions and GET /v1/models, and the Batch API: /v1/files (upload, content, list) and
/v1/batches (create, retrieve, cancel, list with metadata) with a completion delay, failed lines and expiry.

Answers are deterministic functions of the prompt: summary items cite the numbers of sentence lines ("12 The ...") of
the article between <article id="n"> tags; syntheses cite the source ids found in the notes ("- (3.2) text [3]") and
rest each claim on note ids. The server remembers the sentence ids of the summaries it wrote, in the engine's note
order (summary, key_points, events), to plant faults and record them.

    with LLMServer(faults={"429": 0.1, "drop": 0.1}) as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="test")

CLI for benchmarks: python -m tests.llm_server --port 8765 --latency 0.3 --per-token 0.002 --faults 429=0.1,500=0.05
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from briefing.figures import numbers
from briefing.tokens import count_tokens

FAULTS = ("429", "500", "503", "timeout", "drop", "html",  # transport faults: retried by the client
          "invalid_json", "think", "fence", "length", "planted",  # content faults
          "empty_choices", "refusal", "refusal_text")  # answers without usable content
TRANSPORT = {"429", "500", "503", "timeout", "drop", "html"}
SUMMARY_PLANTS = ("unknown_id", "unrelated_id", "altered_number", "swapped_name", "negation")  # in summary items
SYNTHESIS_PLANTS = ("wrong_source", "unknown_note")  # in synthesis claims
PLANT_KINDS = SUMMARY_PLANTS + SYNTHESIS_PLANTS  # faults planted with the "planted" fault and plant_share
# For an article in another language than the brief, a statement on a sentence with a figure gets this instead of
# altered_number: the sentence's rendering (and the statement, which agrees with it) carries a wrong figure.
RENDERING_PLANT = "rendering_number"
# The brief language the prompts ask for, and a request for renderings of the cited sentences.
_BRIEF_LANGUAGE = re.compile(r"(?:writing every text in|[Aa]nswer in) (English|French|Korean)\b")
_TRANSLATE = re.compile(r'^The article is in [^;\n]+; the brief is in (\w+)\. In "renderings"', re.M)
_PREFIX = {"English": "The article reports: ", "French": "L'article rapporte : ", "Korean": "기사 내용: "}
_LATIN = re.compile(r"(?<![A-Za-z])(?:[A-Z][A-Z0-9&-]*[A-Z0-9]|[A-Z][a-zà-ÿ]+)(?![A-Za-z])")
_NUM = re.compile(r"\b\d[\d,]*\b")

_SENT = re.compile(r"[^.!?\n]{20,400}[.!?]")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_ARTICLE = re.compile(r'<article id="(\d+)">\n(.*?)\n</article>', re.S)
_LINE = re.compile(r"^(\d+) (.+)$", re.M)  # a numbered sentence line of the article: "12 The ..."
_NOTE = re.compile(r"^- \(([\w.]+)\) (.*?) ((?:\[\d+\])+)$", re.M)  # "- (3.2) text [3]"
_KEYS = re.compile(r'^[ \t]+- "([a-z0-9_]+)": ', re.M)  # focus keys in the synthesis system prompt
_KEYS2 = re.compile(r'^- "([a-z0-9_]+)": ', re.M)  # ... and in the condense one
_INJECTION = re.compile(r"ignore (all )?previous instructions", re.I)
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}\b")  # a capitalised word inside a sentence (not its first word)
_NOT_NAMES = frozenset("""The This That These Those They Their There Then When While After Before However But And
    January February March April May June July August September October November December Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday North South East West Northern Southern Eastern Western""".split())
# A name standing alone: a capitalised word inside a sentence whose neighbours are not capitalised ("Putin", not the
# "North" of "North Korea"), so swapping it gives another name rather than a broken one.
_LONE_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{3,}\b(?![ -][A-Z])")
_AUX = re.compile(r"\b(is|are|was|were|has|have|had|will|would|can|could|should|may|might|must)\b(?! not\b)")
_NEGATED = re.compile(r"\b(not|never|no longer)\s|n't\b")
_PAST = re.compile(r"(?<=[a-z] )([a-z]{3,}ed|said|told|sent|held|met|made|took|gave)\b")  # a past-tense verb


class _Server(ThreadingHTTPServer):
    """http.server with a real server's accept queue: with the default backlog of 5, a burst of concurrent connects
    overflows it, the kernel drops the SYNs and clients retransmit them 1 s (then 3 s) later, an artificial stagger
    of requests that no hosted endpoint shows."""

    request_queue_size = 1024


@dataclass
class Record:
    """One HTTP request as the server saw it."""

    start: float
    end: float = 0.0
    path: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    fault: str | None = None
    task: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


def sentences(text: str) -> list[str]:
    """Sentence-like substrings of a text (prose the server summarises for prompts it does not recognise)."""
    return [m.group(0).strip() for m in _SENT.finditer(text) if len(m.group(0).strip()) >= 20]


Note = tuple[str, str, list[int]]  # note id, text, cited source ids
Lines = list[tuple[int, str]]  # numbered article lines (sentence id, text) as the prompt showed them


@dataclass
class Written:
    """What the server wrote for one source: sentence ids per note (engine order), the lines, planted notes."""

    notes: list[list[int]] = field(default_factory=list)
    lines: dict[int, str] = field(default_factory=dict)
    faulty: dict[int, str] = field(default_factory=dict)  # 1-based note number -> planted fault kind
    renderings: dict[int, str] = field(default_factory=dict)  # sentence id -> rendering (translated articles)
    bad_renderings: set[int] = field(default_factory=set)  # sentence ids whose rendering has a planted wrong figure


def _claim(text: str, ids: list[int], refs: list[str]) -> dict[str, Any]:
    return {"text": text, "source_ids": ids, "notes": refs}


def note_sentences(written: dict[int, Written], note_id: str) -> list[tuple[int, int]]:
    """(source id, sentence id) pairs behind a source note id "3.2" (source 3, note 2); [] for unknown notes."""
    m = re.fullmatch(r"(\d+)\.(\d+)", note_id)
    if not m:
        return []
    w, k = written.get(int(m.group(1))), int(m.group(2))
    return [(int(m.group(1)), i) for i in w.notes[k - 1]] if w and 0 < k <= len(w.notes) else []


Aliases = dict[str, tuple[list[tuple[int, int]], str | None]]  # note id of a written claim -> its pairs, fault


def resolved(c: dict[str, Any], written: dict[int, Written],
             aliases: Aliases | None = None) -> list[tuple[int, int]]:
    """The claim's evidence as the engine resolves it: the referenced notes' sentences, no repeats. Notes that are
    claims the server wrote before (a section's claims shown to a merge or to the top request) resolve through
    `aliases`."""
    out: list[tuple[int, int]] = []
    for ref in c["notes"]:
        pairs = aliases[ref][0] if aliases and ref in aliases else note_sentences(written, ref)
        for pair in pairs:
            if pair not in out:
                out.append(pair)
    return out


def article_lines(article: str) -> Lines:
    """The numbered sentence lines of an article block."""
    return [(int(m.group(1)), m.group(2).strip()) for m in _LINE.finditer(article)]


def _gist(s: str) -> str:  # a model paraphrases; a short gist keeps output sizes realistic
    return " ".join(s.split()[:8]).rstrip(".,;:") + "."


def _figure(v: float) -> str:
    return f"{v:,.0f}" if v >= 10_000 and v == int(v) else f"{v:g}"


def render(text: str, language: str) -> str:
    """A stand-in for a model's rendering of a sentence in another language: its Latin-script names and its figures
    (as digits) in a fixed frame of that language; nothing else of the sentence survives, nothing is added."""
    names = " ".join(dict.fromkeys(m.group(0) for m in _LATIN.finditer(text)))
    figures = ", ".join(_figure(v) for _, v in numbers(text))
    if language == "Korean":
        return f"원문 문장의 요지: {names or '해당 내용'}{f' ({figures})' if figures else ''}."
    if language == "French":
        return f"Selon la phrase d'origine : {names or 'voir l original'}{f' ({figures})' if figures else ''}."
    return f"The original sentence concerns {names or 'the matter reported'}{f' ({figures})' if figures else ''}."


_THEMES = re.compile(r'"([a-z0-9_]+)" ([^;\n]+?)(?=; "|\.\n|\.$)', re.M)  # theme keys and titles (summary prompt)


def theme_tags(text: str, themes: list[tuple[str, str]]) -> list[str]:
    """A model's theme tags for a statement: the themes whose title shares a word (4+ letters) with it."""
    words = _words(text)
    return [k for k, title in themes if _words(title) & words]


def summarize(lines: Lines, language: str = "English", translate: bool = False,
              themes: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A deterministic summary whose items cite the article's sentence numbers.

    For an article in another language than the brief (`translate`), statements restate the sentences' renderings
    (listed under "renderings"); otherwise they are a gist of the sentence after a prefix in the brief language.
    """
    sents = [(i, t) for i, t in lines if len(t) >= 20] or lines[:1] or [(1, "empty")]
    if translate:
        summary = [{"text": render(t, language), "sentences": [i]} for i, t in sents[:4]]
    else:
        summary = [{"text": f"{_PREFIX.get(language, '')}{_gist(t)}", "sentences": [i]} for i, t in sents[:4]]
    if themes:
        text_of = dict(sents)
        for item in summary:
            item["themes"] = theme_tags(text_of.get(item["sentences"][0], ""), themes)
    key = [i for i, _ in sents[4:7]]
    events = []
    for i, t in sents:
        m = _YEAR.search(t)
        if m and len(events) < 3:
            events.append({"date": m.group(1), "sentences": [i]})
    article = "\n".join(t for _, t in lines)
    actors = sorted({w for w in re.findall(r"\b[A-Z][a-z]{3,}\b", article) if article.count(w) > 1})[:6]
    stance = "opinion" if re.search(r"\b(I|we) (argue|believe|think)\b", article) else "news report"
    out: dict[str, Any] = {"summary": summary, "key_points": key, "events": events, "actors": actors,
                           "stance": stance}
    if translate:
        text_of = dict(lines)
        cited = [i for n in summary_notes(out) for i in n]
        out["renderings"] = [{"sentence": i, "text": render(text_of.get(i, ""), language)}
                             for i in dict.fromkeys(cited)]
    return out


def summary_notes(data: dict[str, Any]) -> list[list[int]]:
    """Sentence ids of a summary's items in the engine's note order (summary, key_points, events)."""
    return ([list(x.get("sentences", [])) for x in data.get("summary", [])] + [[i] for i in data.get("key_points", [])]
            + [list(x.get("sentences", [])) for x in data.get("events", [])])


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}


def _faults_for(sid_line: tuple[int, str], lines: Lines, known: str) -> dict[str, dict[str, Any]]:
    """Every summary-item fault that can be made from this sentence: kind -> the corrupted item."""
    i, t = sid_line
    out: dict[str, dict[str, Any]] = {"unknown_id": {"text": f"The article reports: {_gist(t)}",
                                                     "sentences": [9000 + i]}}
    others = [(j, u) for j, u in lines if j != i and len(u) >= 20]
    if others:  # the sentence sharing the fewest words with this one
        j, _ = min(others, key=lambda x: (len(_words(x[1]) & _words(t)), x[0]))
        out["unrelated_id"] = {"text": f"The article reports: {_gist(t)}", "sentences": [j]}
    m = _NUM.search(t)
    if m:
        value = int(m.group(0).replace(",", "")) * 3 + 17
        while str(value) in known:
            value += 101
        out["altered_number"] = {"text": t[: m.start()] + str(value) + t[m.end():], "sentences": [i]}
    names = [n for n in _LONE_NAME.finditer(t) if n.group(0) not in _NOT_NAMES]
    near = " ".join(u for j, u in lines if i - 2 <= j <= i)  # the sentence and the two before it
    stems = {w[:4] for w in re.findall(r"[A-Z][a-z]+", near)}  # "Korean" is no swap for "Korea"
    elsewhere = sorted({n.group(0) for _, u in others for n in _LONE_NAME.finditer(u)
                        if n.group(0) not in _NOT_NAMES and n.group(0)[:4] not in stems})
    if names and elsewhere:
        n = names[0]
        other = elsewhere[(i * 7) % len(elsewhere)]
        out["swapped_name"] = {"text": t[: n.start()] + other + t[n.end():], "sentences": [i]}
    neg, aux, past = _NEGATED.search(t), _AUX.search(t), _PAST.search(t)
    if neg:  # dropped
        out["negation"] = {"text": (t[: neg.start()] + t[neg.end():]).replace("  ", " "), "sentences": [i]}
    elif aux:  # added after an auxiliary ("has agreed" -> "has not agreed")
        out["negation"] = {"text": t[: aux.end()] + " not" + t[aux.end():], "sentences": [i]}
    elif past:  # added to a past-tense verb ("agreed" -> "never agreed")
        out["negation"] = {"text": t[: past.start()] + "never " + t[past.start():], "sentences": [i]}
    return out


def plant_rendering(data: dict[str, Any], k: int, known: str) -> int | None:
    """Put a wrong figure in the rendering of statement k's sentence (and in the statement, which restates it).

    Returns the sentence id, or None when the rendering has no figure."""
    item = data["summary"][k - 1]
    i = item["sentences"][0]
    entry = next((r for r in data.get("renderings", []) if r["sentence"] == i), None)
    m = re.search(r"\d[\d,]*", entry["text"]) if entry else None
    if entry is None or m is None:
        return None
    value = int(m.group(0).replace(",", "")) * 3 + 17
    while str(value) in known:
        value += 101
    entry["text"] = entry["text"][: m.start()] + str(value) + entry["text"][m.end():]
    item["text"] = entry["text"]
    return int(i)


def plant_summary(data: dict[str, Any], lines: Lines, share: float, rng: random.Random,
                  known: str) -> dict[int, str]:
    """Corrupt about `share` of the "summary" items in place, taking the kinds in turn.

    Returns 1-based note number -> fault kind. unknown_id cites a sentence number the article does not have;
    unrelated_id cites the article sentence sharing the fewest words with the right one; altered_number,
    swapped_name (a name from elsewhere in the article) and negation (added or dropped) restate the cited sentence
    with that change.
    """
    text_of = dict(lines)
    start = rng.randrange(len(SUMMARY_PLANTS))
    out: dict[int, str] = {}
    for k, item in enumerate(data["summary"], 1):
        i = item["sentences"][0]
        made = _faults_for((i, text_of.get(i, "")), lines, known)
        # statements on a sentence with a number are rarer: they get a second chance at a fault
        if rng.random() >= share and not ("altered_number" in made and rng.random() < share):
            continue
        # kinds in turn from a random start; altered_number whenever the sentence has a number (they are rarer)
        turn = [SUMMARY_PLANTS[(start + len(out) + j) % len(SUMMARY_PLANTS)] for j in range(len(SUMMARY_PLANTS))]
        kind = "altered_number" if "altered_number" in made else next(x for x in turn if x in made)
        if "renderings" in data and kind in ("altered_number", "swapped_name", "negation"):
            # a translated article: statements restate renderings, so the fault goes into the rendering
            if plant_rendering(data, k, known) is not None:
                out[k] = RENDERING_PLANT
            continue
        item.update(made[kind])
        out[k] = kind
    return out


def _notes(user: str) -> list[Note]:
    return [(m.group(1), m.group(2), [int(x) for x in re.findall(r"\d+", m.group(3))]) for m in _NOTE.finditer(user)]


def synthesize(system: str, user: str, planted: bool = False) -> dict[str, Any]:
    """A deterministic synthesis citing the source ids in the notes and resting each claim on note ids."""
    keys = _KEYS.findall(system) or ["general"]
    notes = _notes(user)
    by_src: dict[int, list[Note]] = {}
    for n in notes:
        by_src.setdefault(n[2][0], []).append(n)
    firsts = [v[0] for _, v in sorted(by_src.items())]
    bluf = [_claim(t, i, [r]) for r, t, i in firsts[:4]]
    judgments = []
    for a, b in zip(firsts[0::2], firsts[1::2], strict=False):
        c = _claim(f"{a[1]} Also: {b[1]}", a[2] + b[2], [a[0], b[0]])
        judgments.append({**c, "confidence": "high", "reason": "Two independent sources agree."})
    if firsts:  # single-source judgment the model rates "high": the engine must cap it
        r, t, i = firsts[-1]
        judgments.append({**_claim(t, i, [r]), "confidence": "high", "reason": "One direct report."})
    themes = [{"key": k, "claims": []} for k in keys]
    for n, (r, t, i) in enumerate(notes):
        themes[n % len(keys)]["claims"].append(_claim(t, i, [r]))
    timeline = []
    for r, t, i in notes:
        m = re.match(r"(\d{4}(?:-\d\d){0,2}): (.*)", t)
        if m:
            timeline.append({"date": m.group(1), **_claim(m.group(2), i, [r])})
    timeline.sort(key=lambda x: x["date"])
    telling = [f for f in firsts if len(f[1].split()) >= 8] or firsts  # not a dateline as an implication
    imp = [_claim(f"Implication: {t}", i, [r]) for r, t, i in telling[:2]]
    ind = [_claim(f"Watch for: {t}", i, [r]) for r, t, i in telling[-2:]]
    if planted and bluf:
        bluf.append(_claim("Invented claim.", [999], ["999.1"]))
    return {"bluf": bluf, "judgments": judgments, "themes": themes, "timeline": timeline,
            "implications": imp, "indicators": ind}


def write_in_language(data: dict[str, Any], written: dict[int, Written], aliases: Aliases | None = None) -> None:
    """A synthesis in the brief's language: each claim resting on sound notes restates its sentences as the brief
    reads them (the renderings of translated articles, the sentences of the others); claims on planted notes keep
    their faulty text."""
    for c in _all_claims(data):
        pairs = resolved(c, written, aliases)
        faulty = any(int(r.split(".")[1]) in written[int(r.split(".")[0])].faulty for r in c["notes"]
                     if re.fullmatch(r"\d+\.\d+", r) and int(r.split(".")[0]) in written) or any(
            aliases[r][1] for r in c["notes"] if aliases and r in aliases)
        if not pairs or faulty:
            continue
        c["text"] = " ".join(written[s].renderings.get(i) or written[s].lines.get(i, "") for s, i in pairs)


def _all_claims(data: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("bluf", "judgments", "timeline", "implications", "indicators", "claims")
    claims = [c for key in keys for c in data.get(key, [])]
    return claims + [c for t in data.get("themes", []) for c in t["claims"]]


def _record(kind: str, c: dict[str, Any], written: dict[int, Written],
            aliases: Aliases | None = None) -> dict[str, Any]:
    return {"kind": kind, "text": c["text"], "source_ids": list(c["source_ids"]),
            "sentences": sorted(resolved(c, written, aliases))}


def plant(data: dict[str, Any], share: float, rng: random.Random,
          written: dict[int, Written] | None = None, aliases: Aliases | None = None) -> list[dict[str, Any]]:
    """Corrupt about `share` of the synthesis claims in place, cycling SYNTHESIS_PLANTS; returns every faulty claim.

    wrong_source cites another real source than the referenced notes'; unknown_note references a note id that does
    not exist. A claim resting on a note whose summary item was planted wrong (`written`) is faulty too, with that
    note's kind. Each record has the claim's text, source ids and (source id, sentence id) evidence pairs as the
    engine resolves them.
    """
    written = written or {}

    def faulty_note(c: dict[str, Any]) -> str | None:
        for ref in c["notes"]:
            if aliases and ref in aliases and aliases[ref][1]:
                return aliases[ref][1]
            m = re.fullmatch(r"(\d+)\.(\d+)", ref)
            w = written.get(int(m.group(1))) if m else None
            if m and w and int(m.group(2)) in w.faulty:
                return w.faulty[int(m.group(2))]
        for s, i in resolved(c, written, aliases):  # any note on a sentence whose rendering was planted wrong
            if i in written[s].bad_renderings:
                return RENDERING_PLANT
        return None

    claims = _all_claims(data)
    ids = sorted({i for c in claims for i in c["source_ids"]})
    out: list[dict[str, Any]] = []
    counts = dict.fromkeys(SYNTHESIS_PLANTS, 0)
    for c in claims:
        inherited = faulty_note(c)
        if inherited:
            out.append(_record(inherited, c, written, aliases))
            continue
        others = [i for i in ids if i not in c["source_ids"]]
        if not c["notes"] or rng.random() >= share:
            continue
        possible = [k for k in SYNTHESIS_PLANTS if k != "wrong_source" or others]
        kind = min(possible, key=lambda k: counts[k])  # keep the kinds balanced
        counts[kind] += 1
        if kind == "wrong_source":
            old, new = c["source_ids"][0], rng.choice(others)
            c["source_ids"] = [new if i == old else i for i in c["source_ids"]]
        else:
            sid = c["source_ids"][0] if c["source_ids"] else ids[0]
            c["notes"] = [f"{sid}.999"]  # no source has 999 notes
        out.append(_record(kind, c, written, aliases))
    return out


_SECTION = re.compile(r'The section is "(.*?)"; it answers')  # the section a section request writes


def _headings(user: str, default: str) -> dict[str, str]:
    """Note id -> the "## heading" it is listed under in a prompt (the top request lists sections' claims so)."""
    out: dict[str, str] = {}
    current = default
    for line in user.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
        elif m := _NOTE.match(line):
            out[m.group(1)] = current
    return out


def section(user: str, merge: bool = False) -> dict[str, Any]:
    """A section (or a part of one): one claim per note, citing the note's sources and id. A merge of parts keeps
    the first claim of each set of sources, so every source stays cited."""
    notes = _notes(user)
    if merge:
        firsts: dict[tuple[int, ...], Note] = {}
        for n in notes:
            firsts.setdefault(tuple(n[2]), n)
        notes = list(firsts.values())
    same: dict[tuple[str, tuple[int, ...]], str] = {}  # notes with the same text and sources: the first one is kept
    for r, t, i in notes:
        same.setdefault((t, tuple(i)), r)
    # most important first, as the prompt asks: a claim from each source in turn, then the next of each
    turn: dict[tuple[int, ...], int] = {}
    ranked = []
    for (t, i), r in same.items():
        turn[i] = turn.get(i, 0) + 1
        ranked.append((turn[i], len(ranked), _claim(t, list(i), [r])))
    return {"claims": [c for _, _, c in sorted(ranked, key=lambda x: (x[0], x[1]))]}


def condense(system: str, user: str) -> dict[str, Any]:
    """Theme notes for the hierarchical synthesis: the first two notes of each source, themed round-robin."""
    keys = _KEYS2.findall(system) or ["other"]
    seen: dict[int, int] = {}
    out = []
    for n, (r, t, i) in enumerate(_notes(user)):
        if seen.get(i[0], 0) >= 2:
            continue
        seen[i[0]] = seen.get(i[0], 0) + 1
        out.append({"theme": keys[n % len(keys)], **_claim(t, i, [r])})
    return {"notes": out}


_JUDGE_CLAIM = re.compile(r"^(\d+)\. (.*)$")
_JUDGE_SENTENCE = re.compile(r"^   \[(\d+)\] (.*)$")
_OUR_LABELS = re.compile(r"\b(?:The article reports|Key point|Event|Implication|Watch for|Also):")
_NEGATION = re.compile(r"\b(?:not|never|no)\b|n't\b", re.I)


def judge(user: str) -> dict[str, Any]:
    """A careful judge: "not supported" when a number, name or negation of the claim is not in its sentences, or
    the sentences share few words with it; else "supported"."""
    claims: list[tuple[int, str, list[str]]] = []
    for line in user.split("<claims>", 1)[-1].split("</claims>", 1)[0].splitlines():
        if m := _JUDGE_CLAIM.match(line):
            claims.append((int(m.group(1)), m.group(2), []))
        elif (m := _JUDGE_SENTENCE.match(line)) and claims:
            claims[-1][2].append(m.group(2))
    verdicts = []
    for cid, text, sents in claims:
        claim = _OUR_LABELS.sub(" ", text)
        evidence = " ".join(sents)
        reason = ""
        if not sents:
            reason = "no cited sentence"
        elif any(n not in evidence for n in _NUM.findall(claim)):
            reason = "number not in the sentences"
        elif any(n not in evidence for n in _NAME.findall(claim) if n not in _NOT_NAMES):
            reason = "name not in the sentences"
        elif len(_NEGATION.findall(claim)) > len(_NEGATION.findall(evidence)) or (
                len(_words(evidence) - _words(claim)) <= 2 and _NEGATION.search(evidence)
                and not _NEGATION.search(claim)):  # a negation added, or dropped from a restated sentence
            reason = "negation differs"
        elif len(_words(claim) & _words(evidence)) < 0.5 * len(_words(claim)):
            reason = "the sentences do not say this"
        verdicts.append({"id": cid, "label": "not supported" if reason else "supported", "reason": reason})
    return {"verdicts": verdicts}


def merge(user: str) -> dict[str, Any]:
    """Reduce step: merge the partial summaries found in <partial> blocks."""
    parts = [json.loads(p) for p in re.findall(r"<partial n=\"\d+\">\n(.*?)\n</partial>", user, re.S)]
    out: dict[str, Any] = {"summary": [], "key_points": [], "events": [], "actors": [], "stance": "news report"}
    if any("renderings" in p for p in parts):
        out["renderings"] = []
    for p in parts:
        for k in ("summary", "key_points", "events", "renderings"):
            if k in out:
                out[k] += p.get(k, [])
        out["actors"] += [a for a in p.get("actors", []) if a not in out["actors"]]
    out["summary"], out["key_points"], out["events"] = out["summary"][:5], out["key_points"][:5], out["events"][:5]
    if parts:
        out["stance"] = parts[0].get("stance", "news report")
    return out


class LLMServer:
    """OpenAI-compatible server in a background thread; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0, per_token: float = 0.0,
                 faults: dict[str, float] | None = None, script: list[str | None] | None = None, seed: int = 0,
                 api_key: str | None = None, models: list[str] | None = None, reject_response_format: bool = False,
                 max_context: int | None = None, hang: float = 3.0, retry_after: str = "0",
                 fail_marker: str | None = None, marker_fault: str = "500", plant_share: float = 0.0,
                 batch_delay: float = 0.0, batch_fail_share: float = 0.0, batch_expire: int = 0, batch_reject: int = 0,
                 batch_hooks: dict[str, Callable[[], None]] | None = None) -> None:
        self.latency, self.per_token = latency, per_token  # seconds per request, and per completion token
        self.faults = dict(faults or {})  # fault kind -> probability per request
        self.script = list(script or [])  # faults for the first requests, in order (None = no fault)
        self.api_key, self.models = api_key, models
        self.reject_response_format, self.max_context = reject_response_format, max_context
        self.hang, self.retry_after = hang, retry_after
        # requests whose body (prompt, schema) contains fail_marker always get marker_fault, a persistent failure:
        # a string planted in one article fails that source; "bluf" (in the synthesis schema) fails the synthesis
        self.fail_marker, self.marker_fault = fail_marker, marker_fault
        # with the "planted" fault: share of summary items and of synthesis claims corrupted (PLANT_KINDS)
        self.plant_share = plant_share
        self.planted: list[dict[str, Any]] = []  # faulty claims so far: kind, text, source_ids, sentences (pairs)
        self.seed = seed
        # Batch API: seconds from create until a batch is done; share of lines answered in the error file instead
        # (chosen by custom_id); the next `batch_expire` batches expire with only their first half answered
        self.batch_delay, self.batch_fail_share, self.batch_expire = batch_delay, batch_fail_share, batch_expire
        # the next `batch_reject` batches fail as a whole at validation (status "failed", errors listed, no files)
        self.batch_reject = batch_reject
        # called after an upload ("file") or a batch create ("batch") is stored, before the answer is sent: a test
        # kills the client there, the moment between the server doing it and the client recording it
        self.batch_hooks = dict(batch_hooks or {})
        self.batch_lists = 0  # GET /v1/batches and GET /v1/files (listings)
        self.files: dict[str, dict[str, Any]] = {}  # file id -> {bytes, filename, purpose, created}
        self.batches: dict[str, dict[str, Any]] = {}  # batch id -> the Batch object as served
        self.uploads = 0  # files uploaded (POST /v1/files)
        self.batch_lines = 0  # batch lines answered
        self.batch_polls = 0  # GET /v1/batches/{id}
        self.records: list[Record] = []
        self.requests = self.prompt_tokens = self.completion_tokens = 0  # usage of successful completions
        self.in_flight = self.max_in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._repairs: dict[str, str] = {}  # sha of a corrupted answer -> the good one (for repair requests)
        self.written: dict[int, Written] = {}  # source id -> the last summary written for it
        # section claims written: (section title, text, source ids) -> (sentence pairs as the engine resolves them,
        # fault kind)
        self.claims_written: dict[tuple[str, str, tuple[int, ...]], tuple[list[tuple[int, int]], str | None]] = {}
        self._httpd = _Server((host, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Base URL for openai.AsyncOpenAI(base_url=...)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> LLMServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hanging handlers and close the socket."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget records and counters (keeps configuration)."""
        with self._lock:
            self.records.clear()
            self.requests = self.prompt_tokens = self.completion_tokens = 0
            self.max_in_flight = 0

    def completions(self) -> list[Record]:
        """Records of chat-completion requests."""
        return [r for r in self.records if r.path.endswith("/chat/completions")]

    def _pick_fault(self, body: dict[str, Any] | None = None) -> str | None:
        """The fault for this request: the marker's, the script's next (an "always_X" entry stays), or a random one."""
        if self.fail_marker and body and self.fail_marker in json.dumps(body, ensure_ascii=False):
            return "always_" + self.marker_fault
        with self._lock:
            if self.script:
                head = self.script[0]
                if head and head.startswith("always_"):
                    return head
                return self.script.pop(0)
            r = self._rng.random()
            for kind, p in self.faults.items():
                if r < p:
                    return kind
                r -= p
        return None

    # ----- Batch API -------------------------------------------------------------------------------------------

    def _new_file(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        with self._lock:
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = {"bytes": data, "filename": filename, "purpose": purpose, "created": int(time.time())}
        return self._file_object(fid)

    def _file_object(self, fid: str) -> dict[str, Any]:
        f = self.files[fid]
        return {"id": fid, "object": "file", "bytes": len(f["bytes"]), "created_at": f["created"],
                "filename": f["filename"], "purpose": f["purpose"], "status": "processed"}

    def _create_batch(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        fid = body.get("input_file_id")
        if fid not in self.files:
            return 404, {"error": {"message": f"No such File object: {fid}", "type": "invalid_request_error"}}
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return 400, {"error": {"message": "unsupported endpoint or completion_window",
                                   "type": "invalid_request_error"}}
        lines = [ln for ln in self.files[fid]["bytes"].splitlines() if ln.strip()]
        now = int(time.time())
        with self._lock:
            bid = f"batch_{len(self.batches) + 1}"
            expire = self.batch_expire > 0
            if expire:
                self.batch_expire -= 1
            reject = self.batch_reject > 0
            if reject:
                self.batch_reject -= 1
            self.batches[bid] = {
                "id": bid, "object": "batch", "endpoint": body["endpoint"], "errors": None, "input_file_id": fid,
                "completion_window": "24h", "status": "in_progress", "output_file_id": None, "error_file_id": None,
                "created_at": now, "in_progress_at": now, "expires_at": now + 86400, "completed_at": None,
                "expired_at": None, "cancelled_at": None, "metadata": body.get("metadata"),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "_done_at": time.monotonic() + self.batch_delay, "_expire": expire}
            if reject:
                self.batches[bid].update(status="failed", failed_at=now, in_progress_at=None, errors={
                    "object": "list", "data": [{"code": "invalid_request", "line": 1, "param": None,
                                                "message": "The batch input file is invalid."}]})
        return 200, self._batch_object(bid)

    def _batch_object(self, bid: str) -> dict[str, Any]:
        """The batch as the API shows it, finishing it first when its delay has passed."""
        b = self.batches[bid]
        if b["status"] == "in_progress" and time.monotonic() >= b["_done_at"]:
            self._finish_batch(b)
        return {k: v for k, v in b.items() if not k.startswith("_")}

    def _finish_batch(self, b: dict[str, Any]) -> None:
        lines = [json.loads(ln) for ln in self.files[b["input_file_id"]]["bytes"].splitlines() if ln.strip()]
        if b["_expire"]:
            lines = lines[: len(lines) // 2]
        out, err = [], []
        for n, line in enumerate(lines):
            cid = line["custom_id"]
            h = int(hashlib.sha256(cid.encode()).hexdigest()[:8], 16) / 2**32
            if h < self.batch_fail_share:
                err.append({"id": f"batch_req_{n}", "custom_id": cid, "response": {
                    "status_code": 500, "request_id": f"req_{n}", "body": {"error": {
                        "message": "The server had an error while processing your request.", "type": "server_error"}}},
                    "error": None})
                continue
            body = line["body"]
            task, content, finish = self._answer(body, None)
            msgs = body.get("messages", [])
            pt = sum(count_tokens(m.get("content") or "") + 3 for m in msgs) + 3
            ct = count_tokens(content)
            out.append({"id": f"batch_req_{n}", "custom_id": cid, "error": None, "response": {
                "status_code": 200, "request_id": f"req_{n}", "body": {
                    "id": f"chatcmpl-b{n}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", ""), "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                                                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct}}}})
            with self._lock:
                self.batch_lines += 1
        now = int(time.time())
        if out:
            b["output_file_id"] = self._new_file(
                b"".join(json.dumps(x).encode() + b"\n" for x in out), "output.jsonl", "batch_output")["id"]
        if err:
            b["error_file_id"] = self._new_file(
                b"".join(json.dumps(x).encode() + b"\n" for x in err), "errors.jsonl", "batch_output")["id"]
        b["request_counts"] = {"total": b["request_counts"]["total"], "completed": len(out), "failed": len(err)}
        if b["_expire"]:
            b["status"], b["expired_at"] = "expired", now
        else:
            b["status"], b["completed_at"] = "completed", now

    def _hook(self, event: str) -> None:
        hook = self.batch_hooks.get(event)
        if hook is not None:
            hook()

    def _page(self, objs: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        """A cursor page of a listing (limit, after) as the API serves it."""
        with self._lock:
            self.batch_lists += 1
        if "after" in query:
            ids = [o["id"] for o in objs]
            objs = objs[ids.index(query["after"]) + 1:] if query["after"] in ids else []
        limit = int(query.get("limit") or 20)
        page = objs[:limit]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(objs) > limit}

    def _batch_route(self, method: str, path: str, raw: bytes, ctype: str) -> tuple[int, Any] | None:
        """(status, payload) of a /files or /batches request; None when the path is not one of them."""
        parts = path.split("?", 1)[0].rstrip("/").split("/")
        query = {k: v[-1] for k, v in parse_qs(path.split("?", 1)[1] if "?" in path else "").items()}
        if "files" in parts:
            rest = parts[parts.index("files") + 1:]
            if method == "POST" and not rest:
                msg = BytesParser(policy=email_policy).parsebytes(
                    f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
                fields: dict[str, Any] = {}
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
                if "file" not in fields or fields.get("purpose", (None, b""))[1] != b"batch":
                    return 400, {"error": {"message": "file and purpose=batch are required",
                                           "type": "invalid_request_error"}}
                with self._lock:
                    self.uploads += 1
                made = self._new_file(fields["file"][1], fields["file"][0] or "upload.jsonl", "batch")
                self._hook("file")
                return 200, made
            if method == "GET" and not rest:
                purpose = query.get("purpose")
                ids = [f for f in reversed(self.files) if purpose is None or self.files[f]["purpose"] == purpose]
                if query.get("order") == "asc":
                    ids.reverse()
                return 200, self._page([self._file_object(f) for f in ids], query)
            if method == "GET" and rest and rest[0] in self.files:
                if rest[1:] == ["content"]:
                    return 200, self.files[rest[0]]["bytes"]
                return 200, self._file_object(rest[0])
            return 404, {"error": {"message": f"no file {'/'.join(rest)}", "type": "invalid_request_error"}}
        if "batches" in parts:
            rest = parts[parts.index("batches") + 1:]
            if method == "POST" and not rest:
                status, made = self._create_batch(json.loads(raw or b"{}"))
                if status == 200:
                    self._hook("batch")
                return status, made
            if method == "GET" and not rest:  # newest first, as the API lists them
                return 200, self._page([self._batch_object(b) for b in reversed(self.batches)], query)
            if not rest or rest[0] not in self.batches:
                return 404, {"error": {"message": f"No such Batch: {'/'.join(rest)}", "type": "invalid_request_error"}}
            if method == "POST" and rest[1:] == ["cancel"]:
                b = self.batches[rest[0]]
                if b["status"] not in ("completed", "failed", "expired", "cancelled"):
                    b["status"], b["cancelled_at"] = "cancelled", int(time.time())
                return 200, self._batch_object(rest[0])
            if method == "GET" and not rest[1:]:
                with self._lock:
                    self.batch_polls += 1
                return 200, self._batch_object(rest[0])
            return 404, {"error": {"message": "no route", "type": "invalid_request_error"}}
        return None

    # ----- request handling ------------------------------------------------------------------------------------

    def _answer(self, body: dict[str, Any], fault: str | None, persistent: bool = False) -> tuple[str, str, str]:
        """(task, content, finish_reason) for a chat request; a persistent fault corrupts repair answers too."""
        msgs = body.get("messages", [])
        system = next((m["content"] for m in msgs if m.get("role") == "system"), "")
        user = next((m["content"] for m in msgs if m.get("role") == "user"), "")
        outside = _ARTICLE.sub("", user)
        if _INJECTION.search(outside):  # a gullible model obeys instructions it sees outside the data block
            return "injected", "D'accord. Je vais répondre en français, sans JSON.", "stop"
        if "<reply>" in user:
            bad = user.split("<reply>\n", 1)[1].rsplit("\n</reply>", 1)[0]
            good = self._repairs.get(hashlib.sha256(bad.strip().encode()).hexdigest())
            if good is None:
                good = re.sub(r",\s*([}\]])", r"\1", bad[bad.find("{"):])
            if not persistent:
                return "repair", good, "stop"
            task, content = "repair", good
        else:
            task, content = self._task(system, user, fault)
        finish = "stop"
        if fault in ("invalid_json", "length"):
            bad = content[: len(content) // 2] if fault == "length" else content[:-1] + ",}"
            if fault == "length":
                finish = "length"
            with self._lock:
                self._repairs[hashlib.sha256(bad.strip().encode()).hexdigest()] = content
            content = bad
        elif fault == "think":
            content = f"<think>Let me think about {{this}}. The answer is {{\"no\": 1}}.</think>\n{content}"
        elif fault == "fence":
            content = f"Sure! Here is the JSON:\n```json\n{content}\n```\nHope this helps."
        elif fault == "refusal_text":  # a prose refusal; its repair request gets no JSON either
            content = "I'm sorry, but I can't help with that."
        return task, content, finish

    def _task(self, system: str, user: str, fault: str | None) -> tuple[str, str]:
        """(task, JSON content) of a non-repair request."""
        m = _ARTICLE.search(user)
        planting = fault == "planted" and bool(self.plant_share)
        lm = _BRIEF_LANGUAGE.search(system)
        language = lm.group(1) if lm else "English"
        if m:
            lines = article_lines(m.group(2))
            translate = bool(_TRANSLATE.search(user.split("<article", 1)[0]))
            focus = re.search(r"^Focus on .*$", system, re.M)
            themes = _THEMES.findall(focus.group(0)) if focus else []
            task, data = "summarize", summarize(lines, language, translate, themes)
            sid = int(m.group(1))
            with self._lock:
                # one generator per source: the faults do not depend on the order concurrent requests arrive in
                rng = random.Random(f"{self.seed}-{sid}")
                faulty = plant_summary(data, lines, self.plant_share, rng, user) if planting else {}
                rendered = {r["sentence"]: r["text"] for r in data.get("renderings", [])}
                bad = {data["summary"][k - 1]["sentences"][0] for k, kind in faulty.items()
                       if kind == RENDERING_PLANT}
                self.written[sid] = Written(summary_notes(data), dict(lines), faulty, rendered, bad)
                for k, kind in faulty.items():
                    item = data["summary"][k - 1]
                    self.planted.append({"kind": kind, "text": item["text"], "source_ids": [sid],
                                         "sentences": sorted((sid, i) for i in item["sentences"])})
        elif "<partials" in user:
            task, data = "reduce", merge(user)
            p = re.search(r'<partials id="(\d+)">', user)
            if p:
                with self._lock:
                    self.written[int(p.group(1))] = Written(summary_notes(data))
        elif "<claims>" in user:
            task, data = "judge", judge(user)
        elif "<notes>" in user and "condense" in system.lower():
            task, data = "synthesize_reduce", condense(system, user)
        elif "<notes>" in user:
            notes = _notes(user)
            sec = _SECTION.search(system)
            titles = _headings(user, sec.group(1) if sec else "")  # the section each note belongs to
            with self._lock:
                aliases = {r: self.claims_written[(titles.get(r, ""), " ".join(t.split()), tuple(i))]
                           for r, t, i in notes
                           if (titles.get(r, ""), " ".join(t.split()), tuple(i)) in self.claims_written}
            if "one section of a policy brief" in system:
                task, data = "section", section(user, "already written for parts" in system)
            else:
                task, data = "synthesize", synthesize(system, user, fault == "planted" and not self.plant_share)
                if '"themes"' not in system:  # the top of the brief: sections and timeline are written elsewhere
                    data.pop("themes", None)
                    data.pop("timeline", None)
            if language != "English" or any(w.renderings for w in self.written.values()):
                with self._lock:
                    write_in_language(data, dict(self.written), aliases)
            planted_here: list[dict[str, Any]] = []
            if planting:
                first = notes[0][0] if notes else ""
                with self._lock:
                    planted_here = plant(data, self.plant_share, random.Random(f"{self.seed}-{task}-{first}"),
                                         dict(self.written), aliases)
                    self.planted += planted_here
            if task == "section":  # remembered, so a merge or the top request resolving to them can be checked
                with self._lock:
                    kinds = {(p["text"], tuple(p["source_ids"])): p["kind"] for p in planted_here}
                    for c in data["claims"]:
                        k = (sec.group(1) if sec else "", " ".join(c["text"].split()), tuple(c["source_ids"]))
                        inherited = next((aliases[r][1] for r in c["notes"] if r in aliases and aliases[r][1]), None)
                        self.claims_written[k] = (resolved(c, dict(self.written), aliases),
                                                  kinds.get((c["text"], tuple(c["source_ids"]))) or inherited)
        else:
            task, data = "other", {"answer": "ok"}
        return task, json.dumps(data, ensure_ascii=False)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: object, headers: dict[str, str] | None = None,
                      ctype: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout, cancelled after a fatal error)
                    self.close_connection = True

            def _error(self, status: int, message: str, code: str | None = None,
                       headers: dict[str, str] | None = None) -> None:
                self._send(status, {"error": {"message": message, "type": "invalid_request_error", "code": code,
                                              "param": None}}, headers)

            def _auth_ok(self) -> bool:
                if srv.api_key is None or self.headers.get("Authorization") == f"Bearer {srv.api_key}":
                    return True
                self._error(401, "Incorrect API key provided.", "invalid_api_key")
                return False

            def do_GET(self) -> None:
                if not self._auth_ok():
                    return
                routed = srv._batch_route("GET", self.path, b"", "")
                if routed is not None:
                    status, payload = routed
                    ctype = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
                    self._send(status, payload, ctype=ctype)
                elif self.path.rstrip("/").endswith("/models"):
                    names = srv.models or ["gpt-4o-mini", "test-model"]
                    self._send(200, {"object": "list", "data": [
                        {"id": n, "object": "model", "created": 0, "owned_by": "test"} for n in names]})
                else:
                    self._error(404, f"no route {self.path}")

            def do_POST(self) -> None:
                rec = Record(start=time.monotonic(), path=self.path)
                with srv._lock:
                    srv.records.append(rec)
                    srv.in_flight += 1
                    srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
                try:
                    self._post(rec)
                finally:
                    rec.end = time.monotonic()
                    with srv._lock:
                        srv.in_flight -= 1

            def _post(self, rec: Record) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "/files" in self.path or "/batches" in self.path:
                    if not self._auth_ok():
                        rec.status = 401
                        return None
                    routed = srv._batch_route("POST", self.path, raw, self.headers.get("Content-Type", ""))
                    if routed is not None:
                        rec.status = routed[0]
                        return self._send(*routed)
                try:
                    rec.body = json.loads(raw)
                except ValueError:
                    rec.status = 400
                    return self._error(400, "body is not JSON")
                if not self._auth_ok():
                    rec.status = 401
                    return None
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    rec.status = 404
                    return self._error(404, f"no route {self.path}")
                model = rec.body.get("model", "")
                if srv.models is not None and model not in srv.models:
                    rec.status = 404
                    return self._error(404, f"The model `{model}` does not exist or you do not have access to it.",
                                       "model_not_found")
                msgs = rec.body.get("messages", [])
                rec.prompt_tokens = sum(count_tokens(m.get("content") or "") + 3 for m in msgs) + 3
                if srv.max_context and rec.prompt_tokens > srv.max_context:
                    rec.status = 400
                    return self._error(400, f"This model's maximum context length is {srv.max_context} tokens. "
                                            f"However, your messages resulted in {rec.prompt_tokens} tokens.",
                                       "context_length_exceeded")
                if srv.reject_response_format and "response_format" in rec.body:
                    rec.status = 400
                    return self._error(400, "response_format of type json_schema is not supported by this server")
                picked = srv._pick_fault(rec.body)
                persistent = bool(picked and picked.startswith("always_"))
                fault = rec.fault = picked.removeprefix("always_") if picked else None
                if fault == "429":
                    rec.status = 429
                    return self._error(429, "Rate limit reached. Please try again later.", "rate_limit_exceeded",
                                       {"Retry-After": srv.retry_after})
                if fault in ("500", "503"):
                    rec.status = int(fault)
                    return self._error(int(fault), "The server had an error while processing your request.")
                if fault == "timeout":
                    srv._stop.wait(srv.hang)
                    rec.status = 0
                    self.close_connection = True
                    return None
                if fault == "drop":
                    rec.status = 0
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return None
                if fault == "html":
                    rec.status = 200
                    return self._send(200, b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
                                      ctype="text/html")
                if fault == "empty_choices":
                    rec.status = 200
                    return self._send(200, {"id": "chatcmpl-empty", "object": "chat.completion",
                                            "created": int(time.time()), "model": model, "choices": []})
                if fault == "refusal":
                    rec.status = 200
                    return self._send(200, {
                        "id": "chatcmpl-refusal", "object": "chat.completion", "created": int(time.time()),
                        "model": model, "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": {
                            "role": "assistant", "content": None,
                            "refusal": "I'm sorry, I cannot assist with that request."}}]})
                rec.task, content, finish = srv._answer(rec.body, fault, persistent)
                rec.completion_tokens = count_tokens(content)
                # the answer takes latency + per-token time from the request's arrival, like a hosted model: the
                # time this Python server spent reading, counting and composing is part of it, not added to it
                delay = srv.latency + srv.per_token * rec.completion_tokens - (time.monotonic() - rec.start)
                if delay > 0:
                    srv._stop.wait(delay)
                with srv._lock:
                    srv.requests += 1
                    srv.prompt_tokens += rec.prompt_tokens
                    srv.completion_tokens += rec.completion_tokens
                rec.status = 200
                self._send(200, {
                    "id": f"chatcmpl-{len(srv.records)}", "object": "chat.completion", "created": int(time.time()),
                    "model": model, "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": rec.prompt_tokens, "completion_tokens": rec.completion_tokens,
                              "total_tokens": rec.prompt_tokens + rec.completion_tokens}})
                return None

        return Handler


def main() -> None:
    """Run the server in the foreground (for benchmarks and manual runs)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--latency", type=float, default=0.0, help="fixed seconds per completion")
    ap.add_argument("--per-token", type=float, default=0.0, help="extra seconds per completion token")
    ap.add_argument("--faults", default="", help="kind=probability,... kinds: " + ", ".join(FAULTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--api-key")
    args = ap.parse_args()
    faults = {k: float(v) for k, v in (f.split("=") for f in args.faults.split(",") if f)}
    srv = LLMServer(args.host, args.port, latency=args.latency, per_token=args.per_token, faults=faults,
                    seed=args.seed, api_key=args.api_key)
    print(f"serving {srv.base_url}", flush=True)
    srv.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        print(f"requests={srv.requests} prompt_tokens={srv.prompt_tokens} completion_tokens={srv.completion_tokens}")


if __name__ == "__main__":
    main()
