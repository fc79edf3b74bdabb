"""A real OpenAI-compatible HTTP server on loopback for tests and benchmarks, with fault injection and a latency model.

It answers POST /v1/chat/completions and GET /v1/models. Answers are deterministic functions of the prompt: summaries
quote real sentences of the article between <article id="n"> tags; syntheses cite the source ids found in the notes
("- (3.2) text [3]") and rest each claim on note ids, some also quoting directly. The server remembers the quotes of
the summaries it wrote, in the engine's note order (summary, key_points, events), to plant faults and record them.

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
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from briefing.tokens import count_tokens

FAULTS = ("429", "500", "503", "timeout", "drop", "html",  # transport faults: retried by the client
          "invalid_json", "think", "fence", "length", "planted",  # content faults
          "empty_choices", "refusal", "refusal_text")  # answers without usable content
TRANSPORT = {"429", "500", "503", "timeout", "drop", "html"}
PLANT_KINDS = ("wrong_id", "fabricated_quote", "altered_number")  # faults planted in synthesis claims (plant_share)
FABRICATED = "Officials confirmed in a closed briefing that the accord had been quietly renegotiated."
_NUM = re.compile(r"\b\d[\d,]*\b")

_SENT = re.compile(r"[^.!?\n]{20,400}[.!?]")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_ARTICLE = re.compile(r'<article id="(\d+)">\n(.*?)\n</article>', re.S)
_NOTE = re.compile(r"^- \(([\w.]+)\) (.*?) ((?:\[\d+\])+)$", re.M)  # "- (3.2) text [3]"
_LABEL = re.compile(r"^(?:\d{4}(?:-\d\d){0,2}: )?(?:The article reports|Key point|Event): ")  # our note texts
_KEYS = re.compile(r'^[ \t]+- "([a-z0-9_]+)": ', re.M)  # focus keys in the synthesis system prompt
_KEYS2 = re.compile(r'^- "([a-z0-9_]+)": ', re.M)  # ... and in the condense one
_INJECTION = re.compile(r"ignore (all )?previous instructions", re.I)


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
    """Verbatim sentences of the text (substrings), for quotes."""
    return [m.group(0).strip() for m in _SENT.finditer(text) if len(m.group(0).strip()) >= 20]


Note = tuple[str, str, list[int]]  # note id, text, cited source ids
Quotes = dict[int, list[str]]  # source id -> quotes of the summary the server wrote, in note order


def _claim(text: str, ids: list[int], refs: list[str], ev: list[tuple[int, str]] | None = None) -> dict[str, Any]:
    return {"text": text, "source_ids": ids, "notes": refs,
            "evidence": [{"source_id": i, "quote": q} for i, q in ev or []]}


def note_quote(quotes: Quotes, note_id: str) -> tuple[int, str] | None:
    """(source id, quote) behind a source note id "3.2" (source 3, note 2), if this server wrote that summary."""
    m = re.fullmatch(r"(\d+)\.(\d+)", note_id)
    if not m:
        return None
    sid, k = int(m.group(1)), int(m.group(2))
    got = quotes.get(sid, [])
    return (sid, got[k - 1]) if 0 < k <= len(got) else None


def resolved(c: dict[str, Any], quotes: Quotes) -> list[tuple[int, str]]:
    """The claim's evidence as the engine resolves it: referenced notes' quotes, then direct quotes, no repeats."""
    out: list[tuple[int, str]] = []
    for ref in c["notes"]:
        q = note_quote(quotes, ref)
        if q and q not in out:
            out.append(q)
    for e in c["evidence"]:
        if (e["source_id"], e["quote"]) not in out:
            out.append((e["source_id"], e["quote"]))
    return out


def summary_quotes(data: dict[str, Any]) -> list[str]:
    """Quotes of a summary in the engine's note order."""
    return [x["quote"] for k in ("summary", "key_points", "events") for x in data.get(k, [])]


def summarize(article: str) -> dict[str, Any]:
    """A deterministic summary whose quotes are verbatim sentences of the article."""
    sents = sentences(article) or [article.strip()[:200] or "empty"]
    def gist(s: str) -> str:  # a model paraphrases; a short gist keeps output sizes realistic
        return " ".join(s.split()[:8]).rstrip(".,;:") + "."

    summary = [{"text": f"The article reports: {gist(s)}", "quote": s} for s in sents[:4]]
    key = [{"text": f"Key point: {gist(s)}", "quote": s} for s in sents[4:7]]
    events = []
    for s in sents:
        m = _YEAR.search(s)
        if m and len(events) < 3:
            events.append({"date": m.group(1), "text": f"Event: {gist(s)}", "quote": s})
    actors = sorted({w for w in re.findall(r"\b[A-Z][a-z]{3,}\b", article) if article.count(w) > 1})[:6]
    stance = "opinion" if re.search(r"\b(I|we) (argue|believe|think)\b", article) else "news report"
    return {"summary": summary, "key_points": key, "events": events, "actors": actors, "stance": stance}


def _notes(user: str) -> list[Note]:
    return [(m.group(1), m.group(2), [int(x) for x in re.findall(r"\d+", m.group(3))]) for m in _NOTE.finditer(user)]


def _direct(note: Note, quotes: Quotes) -> list[tuple[int, str]]:
    """A direct quote for a claim on this note: the note's gist words, when they are verbatim in its quote."""
    q = note_quote(quotes, note[0])
    words = _LABEL.sub("", note[1]).rstrip(".")
    if q is None or len(words.split()) < 4 or words not in q[1] or words == q[1]:
        return []
    return [(q[0], words)]


def synthesize(system: str, user: str, planted: bool = False, quotes: Quotes | None = None) -> dict[str, Any]:
    """A deterministic synthesis citing the source ids in the notes and resting each claim on note ids.

    Every third theme claim also quotes directly (the gist words of its note, verbatim in the article), so the
    engine's direct-evidence path stays exercised.
    """
    quotes = quotes or {}
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
    for n, note in enumerate(notes):
        r, t, i = note
        themes[n % len(keys)]["claims"].append(_claim(t, i, [r], _direct(note, quotes) if n % 3 == 1 else []))
    timeline = []
    for r, t, i in notes:
        m = re.match(r"(\d{4}(?:-\d\d){0,2}): (.*)", t)
        if m:
            timeline.append({"date": m.group(1), **_claim(m.group(2), i, [r])})
    timeline.sort(key=lambda x: x["date"])
    imp = [_claim(f"Implication: {t}", i, [r]) for r, t, i in firsts[:2]]
    ind = [_claim(f"Watch for: {t}", i, [r]) for r, t, i in firsts[-2:]]
    if planted and bluf:
        bluf.append(_claim("Invented claim.", [999], ["999.1"], [(999, "This sentence appears in no source.")]))
    return {"bluf": bluf, "judgments": judgments, "themes": themes, "timeline": timeline,
            "implications": imp, "indicators": ind}


def plant(data: dict[str, Any], share: float, rng: random.Random, known: str,
          quotes: Quotes | None = None) -> list[dict[str, Any]]:
    """Corrupt about `share` of the synthesis claims in place, cycling PLANT_KINDS; returns the corrupted claims.

    wrong_id cites another real source than the referenced notes' (references kept; a direct quote moves to the new
    id); fabricated_quote references a note id that does not exist, alternately with and without a direct quote no
    source has; altered_number restates a referenced note's quote with one of its numbers changed. `known` (the
    prompt) is used to pick replacement numbers that appear nowhere in it. Each record has the claim's text, source
    ids and evidence quotes as the engine resolves them (`quotes`: what this server's summaries quoted).
    """
    quotes = quotes or {}
    claims = [c for key in ("bluf", "judgments", "timeline", "implications", "indicators") for c in data[key]]
    claims += [c for t in data["themes"] for c in t["claims"]]
    ids = sorted({i for c in claims for i in c["source_ids"]})
    out: list[dict[str, Any]] = []
    counts = dict.fromkeys(PLANT_KINDS, 0)
    fabricated = 0
    for c in claims:
        others = [i for i in ids if i not in c["source_ids"]]
        numbered = [(r, q) for r in c["notes"] if (q := note_quote(quotes, r)) and _NUM.search(q[1])]
        # claims whose quote has a number are rarer: they always get a chance at altered_number
        if not (c["notes"] or c["evidence"]) or (
                rng.random() >= share and not (numbered and rng.random() < 2 * share)):
            continue
        possible = [k for k in PLANT_KINDS if (k != "wrong_id" or others) and (k != "altered_number" or numbered)]
        kind = min(possible, key=lambda k: counts[k])  # keep the kinds balanced
        counts[kind] += 1
        if kind == "wrong_id":
            old, new = c["source_ids"][0], rng.choice(others)
            c["source_ids"] = [new if i == old else i for i in c["source_ids"]]
            for e in c["evidence"]:
                if e["source_id"] == old:
                    e["source_id"] = new
        elif kind == "fabricated_quote":
            fabricated += 1
            sid = c["source_ids"][0] if c["source_ids"] else ids[0]
            c["notes"] = [f"{sid}.999"]  # no source has 999 notes
            c["evidence"] = [{"source_id": sid, "quote": FABRICATED}] if fabricated % 2 else []
        else:
            ref, (sid, quote) = numbered[0]
            m = _NUM.search(quote)
            assert m is not None
            value = int(m.group(0).replace(",", ""))
            new_value = value * 3 + 17
            while str(new_value) in known:
                new_value += 101
            c["text"] = quote[: m.start()] + str(new_value) + quote[m.end():]
            c["source_ids"], c["notes"], c["evidence"] = [sid], [ref], []
        out.append({"kind": kind, "text": c["text"], "source_ids": list(c["source_ids"]),
                    "quotes": [q for _, q in resolved(c, quotes)]})
    return out


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


def merge(user: str) -> dict[str, Any]:
    """Reduce step: merge the partial summaries found in <partial> blocks."""
    parts = [json.loads(p) for p in re.findall(r"<partial n=\"\d+\">\n(.*?)\n</partial>", user, re.S)]
    out: dict[str, Any] = {"summary": [], "key_points": [], "events": [], "actors": [], "stance": "news report"}
    for p in parts:
        for k in ("summary", "key_points", "events"):
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
                 fail_marker: str | None = None, marker_fault: str = "500", plant_share: float = 0.0) -> None:
        self.latency, self.per_token = latency, per_token  # seconds per request, and per completion token
        self.faults = dict(faults or {})  # fault kind -> probability per request
        self.script = list(script or [])  # faults for the first requests, in order (None = no fault)
        self.api_key, self.models = api_key, models
        self.reject_response_format, self.max_context = reject_response_format, max_context
        self.hang, self.retry_after = hang, retry_after
        # requests whose body (prompt, schema) contains fail_marker always get marker_fault, a persistent failure:
        # a string planted in one article fails that source; "bluf" (in the synthesis schema) fails the synthesis
        self.fail_marker, self.marker_fault = fail_marker, marker_fault
        self.plant_share = plant_share  # with the "planted" fault: share of synthesis claims corrupted (PLANT_KINDS)
        self.planted: list[dict[str, Any]] = []  # the claims corrupted so far: kind, text, source_ids, quotes
        self.records: list[Record] = []
        self.requests = self.prompt_tokens = self.completion_tokens = 0  # usage of successful completions
        self.in_flight = self.max_in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._repairs: dict[str, str] = {}  # sha of a corrupted answer -> the good one (for repair requests)
        self.quotes: Quotes = {}  # source id -> quotes of the last summary written for it (note order)
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
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
        if m:
            task, data = "summarize", summarize(m.group(2))
            with self._lock:
                self.quotes[int(m.group(1))] = summary_quotes(data)
        elif "<partials" in user:
            task, data = "reduce", merge(user)
            p = re.search(r'<partials id="(\d+)">', user)
            if p:
                with self._lock:
                    self.quotes[int(p.group(1))] = summary_quotes(data)
        elif "<notes>" in user and "condense" in system.lower():
            task, data = "synthesize_reduce", condense(system, user)
        elif "<notes>" in user:
            with self._lock:
                quotes = {k: list(v) for k, v in self.quotes.items()}
            task, data = "synthesize", synthesize(system, user, fault == "planted" and not self.plant_share, quotes)
            if fault == "planted" and self.plant_share:
                with self._lock:
                    self.planted += plant(data, self.plant_share, self._rng, user, quotes)
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
                if self.path.rstrip("/").endswith("/models"):
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
                delay = srv.latency + srv.per_token * rec.completion_tokens
                if delay:
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
