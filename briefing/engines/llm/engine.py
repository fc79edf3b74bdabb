"""LLM engine: per-article summaries (map-reduce over chunks) and a cited synthesis via any OpenAI-compatible API."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import random
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from briefing import __version__
from briefing.cache import digest
from briefing.chunk import chunk_text
from briefing.config import Settings
from briefing.engines.base import OnSummary, check_cost
from briefing.engines.llm import parse, pricing, sections
from briefing.engines.llm.ratelimit import RateLimiter
from briefing.errors import BriefingError, BudgetExceededError, EngineError
from briefing.ingest.sources import redact_url
from briefing.messages import DEFAULT_LANGUAGE
from briefing.messages import load as load_messages
from briefing.models import Chunk, Claim, Evidence, Profile, Section, Source, SourceSummary, Synthesis, Usage
from briefing.net import retry_after
from briefing.redact import add_secret, redact, redact_json
from briefing.templates import render_template, search_path
from briefing.tokens import count_tokens, tokenizer_loaded

if TYPE_CHECKING:
    import ssl

    import openai

T = TypeVar("T")

ESTIMATED_STATEMENTS = 4  # summary statements per summary (3-5), written by the model
ESTIMATED_EXTRACTS = 4  # key points and events per summary: article sentences, shown verbatim to the synthesis
STATEMENT_SHARE = 0.4  # share of a summary's completion tokens that its statements' texts take
MESSAGE_OVERHEAD = 9  # chat framing tokens of a system + user request (3 per message + 3 to prime the reply)


def _prompt_bytes(system: str, user: str) -> int:
    """An upper bound of a prompt's tokens that needs no tokenizer: a token is at least one UTF-8 byte."""
    return len(system.encode()) + len(user.encode()) + MESSAGE_OVERHEAD


@lru_cache(maxsize=64)
def _system_tokens(system: str) -> int:
    """Tokens of a system prompt: the same few texts for every request of a stage, counted once."""
    return count_tokens(system)


def _openai() -> ModuleType:
    """The openai package, imported on first use: a fully cached rerun never pays its ~0.8 s import."""
    import openai

    return openai


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext | bool:
    """The HTTP clients' TLS context (the SDK's default: system CA paths, SSL_CERT_FILE/DIR), made once per process:
    loading the CA bundle takes ~20 ms, and a run opens a client per stage. True (each client makes its own) if
    the SDK's HTTP library is not the one expected."""
    try:
        import httpx2
    except ImportError:
        return True
    return httpx2.create_ssl_context()


def _import_openai() -> None:
    try:
        _openai()
    except BaseException:  # noqa: BLE001, S110 - the first request imports it again, and reports what fails
        pass


@dataclass
class RetryPolicy:
    """How hard to retry transient failures; tests shrink the waits."""

    attempts: int = 7  # total tries of one request (settings.llm.max_retries + 1)
    backoff_base: float = 1.0  # seconds; attempt n waits about base * 2**(n-1), half of it random jitter
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0  # a server's Retry-After is honoured up to this many seconds


class _Retryable(Exception):
    """A transient failure: retried with backoff, honouring retry_after."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Unrepaired(Exception):
    """A repair request answered with invalid JSON again: the attempt fails (the outer request may retry)."""


@dataclass
class _Call:
    """One logical request: templates plus variables, rendered per attempt (the JSON mode can change)."""

    stage: str  # summarize, map, reduce, section, synthesize, repair, judge
    template: str  # prompt name prefix: "summarize" -> summarize.system.j2 + summarize.user.j2
    schema: str  # key of parse.SCHEMAS
    label: str  # who the call is for, in error messages
    source_id: int | None
    variables: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None  # output cap of this request when below llm.max_output_tokens (summaries)


def _one_line(text: object, limit: int = 200) -> str:
    s = re.sub(r"<[^>]{1,200}>", " ", redact(text))  # HTML error pages; an echoed key never survives
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _root_cause(e: BaseException) -> BaseException:
    """The innermost OS-level error (refused, DNS, TLS) behind a transport error, else its direct cause."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen and len(chain) < 12:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    os_errors = [x for x in chain if isinstance(x, OSError) and str(x)]
    if os_errors:
        return os_errors[-1]
    return e.__cause__ or e


def _neutralise(text: str) -> str:
    """Defuse delimiter tags inside untrusted text so it cannot close its <article> (or notes) block."""
    text = re.sub(r"<(/?)\s*(article|partials?|notes|reply|claims)\b", r"<\1 \2", text, flags=re.I)
    return text.replace("<|", "< |").replace("|>", "| >")  # chat-template special tokens (<|im_start|>)


META_LIMIT = 160  # characters of a title, publisher or path shown in a prompt (within _overhead's worst case)


def _meta(value: str | None, limit: int = META_LIMIT) -> str | None:
    """Untrusted metadata (a feed entry's title, an HTML <title>, a file name) made inert for the instruction part
    of a prompt: one line (no injected "SYSTEM:" line), delimiter tags defused as in article bodies, no double
    quote to close the quotes it is shown in, and a length cap."""
    if not value:
        return value
    s = _neutralise(" ".join(str(value).split())).replace('"', "'")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def numbered(source: Source, start: int = 0, end: int | None = None) -> str:
    """The source text in [start, end) as the prompts show it: one sentence per line after its sentence number.

    Numbers are those of the whole source (Source.sentences), also in a part of a long article; a sentence cut by
    the part's bounds shows the piece inside them under its own number. A blank line keeps a paragraph break. A
    bare leading number costs about one token per sentence (3% of article tokens on the bench corpus) and cannot
    be mistaken for a [n] source citation.
    """
    text = source.text
    end = len(text) if end is None else end
    lines: list[str] = []
    prev = -1
    for sent in source.sentences:
        a, b = max(sent.start, start), min(sent.end, end)
        if b <= a:
            if sent.start >= end:
                break
            continue
        piece = text[a:b].strip()
        if not piece:
            continue
        if prev >= 0:
            lines.append("\n\n" if "\n\n" in text[prev:a] else "\n")
        lines.append(f"{sent.id} {_neutralise(piece)}")
        prev = b
    return "".join(lines)


def _plausible_usage(n: object) -> bool:
    """A token count an honest endpoint can report: a non-negative integer below a billion."""
    return isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 1_000_000_000


def _source_vars(s: Source) -> dict[str, Any]:
    return {"id": s.id, "title": _meta(s.title), "publisher": _meta(s.publisher or s.original_publisher),
            "published": _meta(s.published, 40), "path": _meta(s.path), "language": _meta(s.language, 40),
            "flags": list(s.flags)}


def _summary_source_vars(s: Source) -> dict[str, Any]:
    """A source's variables in its summary and reduce prompts: its own flags only (a summary is asked for before the
    run's other sources are read, so near_duplicate is not known yet)."""
    return {**_source_vars(s), "flags": s.own_flags()}


def _label(s: Source) -> str:
    return f"source [{s.id}] {s.path}" + (f" ({s.title})" if s.title else "")


def _note_vars(note_id: str, c: Claim) -> dict[str, Any]:
    """A synthesis note: id, one-line text and citations for the prompt; its evidence stays with the engine."""
    text = f"{c.date}: {c.text}" if c.date else c.text
    return {"id": note_id, "text": _neutralise(" ".join(text.split())), "source_ids": list(c.source_ids),
            "evidence": [e.copy() for e in c.evidence]}


def _note_index(notes: list[dict[str, Any]]) -> dict[str, list[Evidence]]:
    """Note id -> the evidence (source id, sentences of the article) the synthesis may reference it by."""
    return {c["id"]: c["evidence"] for n in notes for c in n["claims"]}


def _first_error(eg: BaseExceptionGroup[Any]) -> BaseException:
    """The error to surface from a task group: our own typed errors first."""
    flat: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for sub in e.exceptions:
                walk(sub)
        else:
            flat.append(e)

    walk(eg)
    for e in flat:
        if isinstance(e, BriefingError):
            return e
    return flat[0]


async def _all(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Run coroutines concurrently; the first failure cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(c) for c in coros]
    except BaseExceptionGroup as eg:
        raise _first_error(eg) from None
    return [t.result() for t in tasks]


class LLMEngine:
    """Engine backed by Chat Completions on OpenAI or any OpenAI-compatible server (vLLM, Ollama, llama.cpp...)."""

    name = "llm"
    offline = False

    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None, call_log: Path | None = None,
                 prompts_dirs: list[Path] | None = None, *, retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.model = settings.llm.model
        self.usage = Usage()
        self.warnings: list[str] = []  # things the run should report (e.g. a source lost in hierarchical synthesis)
        self.call_log = call_log
        if settings.llm.api_key is not None:
            add_secret(settings.llm.api_key.get_secret_value())
        self.prompts_dirs = prompts_dirs if prompts_dirs is not None else search_path(None, settings.run.prompts)
        self.retry = retry or RetryPolicy(attempts=settings.llm.max_retries + 1,
                                          backoff_base=settings.llm.retry_backoff,
                                          backoff_max=max(settings.llm.retry_backoff, 30.0))
        self.notify: Callable[[str], None] | None = None  # told of long waits (Retry-After) as they start
        # told of each Batch API status check: {id, status, completed, failed, total, elapsed, next_check}
        self.on_batch: Callable[[dict[str, Any]], None] | None = None
        self.schema_supported = True  # flips to False once the server rejects response_format json_schema
        self._client = client
        self._limiter = RateLimiter(settings.llm.requests_per_minute, settings.llm.tokens_per_minute)
        self._reserved = 0.0  # worst-case cost of calls in flight
        self._sem: asyncio.Semaphore | None = None
        self.in_flight = 0  # requests sent and not answered yet
        # set while the synthesis waits on its last request (the top of the brief), or is done: the caller's side
        # work (verifying the summaries) runs then, instead of competing for the GIL with routing and sending
        self.waiting_on_model = threading.Event()
        self._overheads: dict[str, int] = {}
        self._language_names: dict[str | None, str] = {}
        # each source's notes as routed to the sections, by source id: (source, summary, profile, routes)
        self._routes: dict[int, tuple[Source, SourceSummary, Profile, list[tuple[str, list[sections.Note], int]]]] = {}
        self._router: tuple[Profile, sections.Router] | None = None
        # the synthesis without its top (sections, timeline), set once only the top request is left; the caller's
        # side work may verify it while the model writes the top
        self.draft: Synthesis | None = None
        self._top_sent = threading.Event()  # the top-of-brief request is in flight (or the synthesis ended)

    # ----- identity and budgets -------------------------------------------------------------------------------

    def cache_identity(self, *tasks: str) -> str:
        """Model, endpoint, generation settings and the prompt files in use: what makes a cached answer reusable.

        With `tasks` (e.g. "summarize", "reduce") only those prompts and the repair prompt count, so editing the
        section prompt does not re-bill every summary; the brief templates (render only) never count.
        """
        prompts = {}
        for d in reversed(self.prompts_dirs):  # first directory wins, as in the template loader
            for f in d.glob("*.j2"):
                task = f.name.split(".", 1)[0]
                if task != "brief" and (not tasks or task in tasks or task == "repair"):
                    prompts[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
        llm = self.settings.llm
        return digest(__version__, self.name, self.model, llm.base_url, llm.temperature, llm.context_window,
                      llm.max_output_tokens, prompts)

    def context_window(self) -> int:
        """Tokens the model accepts: --context-window, else the known default for the model, else 8192."""
        return pricing.context_window(self.model, self.settings.llm.context_window)

    def prompt_limit(self) -> int:
        """Most prompt tokens any request may carry: the window minus the reserved output and a safety margin."""
        window = self.context_window()
        return window - self.settings.llm.max_output_tokens - max(32, window // 100)

    def _overhead(self, template: str, bound: bool = False) -> int:
        """Prompt tokens of a template with an empty article (JSON schema included, long metadata): worst case.
        bound: an upper bound that needs no tokenizer (its UTF-8 bytes)."""
        key = f"{template} (bound)" if bound else template
        if key not in self._overheads:
            dummy = Source(id=9999, path="x" * 80, text="", sha256="", tokens=0, title="T " * 60,
                           publisher="P " * 20, published="2024-01-01", flags=["machine_translated", "near_duplicate"])
            call = _Call("summarize", template, "source_summary", "", 9999,
                         {"source": {**_source_vars(dummy), "language_name": "Portuguese"},
                          "part": {"index": 99, "total": 99}, "article": "", "language": "Portuguese",
                          "translate": True})  # worst case: the article needs renderings
            system, user = self._render(call, json_instructions=self._json_instructions("source_summary"))
            self._overheads[key] = _prompt_bytes(system, user) if bound else self._prompt_tokens(system, user)
        return self._overheads[key]

    def chunk_budget(self) -> int:
        """Article tokens per summary request: context window - prompt template overhead - reserved output.

        The first thing a run (and --dry-run) asks: a window in which the synthesis cannot converge is refused here,
        before any request is paid for."""
        self.check_fit()
        budget = self.prompt_limit() - self._overhead("summarize")
        if budget < 64:
            raise EngineError(
                f"context window of {self.context_window()} tokens for model {self.model!r} leaves no room for an "
                f"article after the prompt ({self._overhead('summarize')} tokens) and the reserved output "
                f"({self.settings.llm.max_output_tokens}); raise --context-window or lower llm.max_output_tokens")
        return budget

    def chunk_budget_floor(self) -> int:
        """A lower bound of chunk_budget() that needs no tokenizer: an article whose numbered lines have no more UTF-8
        bytes than this fits one request (a token is at least one byte), so a run sends its first requests without
        waiting for tiktoken to load; the exact budget is counted only for a longer article."""
        self.check_fit()
        return self.prompt_limit() - self._overhead("summarize", bound=True)

    # ----- rendering -----------------------------------------------------------------------------------------

    def messages(self, task: str, sources: list[Source], profile: Profile,
                 summaries: list[SourceSummary] | None = None) -> tuple[str, str]:
        """The (system, user) messages a run sends for `task` on sources[0], rendered for real; nothing is sent.

        Tasks: summarize, reduce, repair (of a summary), section (the first focus question's), synthesize (the top
        of the brief; both list the notes of `summaries`), judge (of the summaries' claims).
        """
        src = sources[0]
        if task in ("summarize", "reduce", "repair"):
            call = self._summary_call(src, profile, numbered(src), None)
            if task == "reduce":
                call = self._reduce_call(src, profile, ['{"summary": [], "key_points": [], "events": [], '
                                                        '"actors": [], "stance": "news report"}'])
            if task == "repair":
                call = _Call("repair", "repair", "source_summary", "", src.id,
                             {"error": "invalid JSON", "output": '{"summary": [', "target_schema": "source_summary"})
        elif task == "judge":  # the summaries' claims, judged against their evidence
            claims = [c for summ in summaries or [] for c in summ.claims]
            call = self._judge_call([{"id": k, "text": c.text,
                                      "sentences": [{"source_id": e.source_id, "text": e.quote} for e in c.evidence]}
                                     for k, c in enumerate(claims, 1)])
        elif task == "section":  # the first focus question, from every note of the summaries
            meta, notes = self._notes(sources, summaries or [])
            q = profile.focus_questions[0]
            call = self._part_call(profile, q, {m["id"]: m for m in meta}, notes, False)
        else:
            meta, notes = self._notes(sources, summaries or [])
            call = self._synth_call(task, profile, meta, notes)
        return self._render(call)

    def _json_instructions(self, schema: str) -> str:
        return ("Reply with only one JSON object, no prose and no code fences, matching this JSON Schema:\n"
                + json.dumps(parse.SCHEMAS[schema], separators=(",", ":")))

    def _render(self, call: _Call, json_instructions: str | None = None) -> tuple[str, str]:
        if json_instructions is None:
            json_instructions = "" if self.schema_supported else self._json_instructions(call.schema)
        profile = call.variables.get("profile") or self._profile or self.settings.to_profile()
        system_vars: dict[str, Any] = {"profile": profile, "stances": parse.STANCES,
                                       "json_instructions": json_instructions,
                                       "language": self._language_name(profile.language)}
        if call.template == "section":  # the section it writes, and whether it merges parts
            system_vars.update(section=call.variables["section"], merge=call.variables["merge"])
        if call.template == "repair":
            system_vars = {"schema": json.dumps(parse.SCHEMAS[call.variables["target_schema"]], indent=1)}
        system = render_template(self.prompts_dirs, f"{call.template}.system.j2", **system_vars).strip()
        user = render_template(self.prompts_dirs, f"{call.template}.user.j2",
                               **{k: v for k, v in call.variables.items()
                                  if k not in ("profile", "target_schema", "merge")})
        return system, user.strip()

    _profile: Profile | None = None

    def _language_name(self, code: str | None) -> str:
        """English name of a language code ("ko" -> "Korean") from the message catalogue, else the code (looked up
        once per code: every summary request asks)."""
        if code not in self._language_names:
            try:
                name = load_messages(self.prompts_dirs, DEFAULT_LANGUAGE).language_name(code) or "English"
            except BriefingError:
                name = code or "English"
            self._language_names[code] = name
        return self._language_names[code]

    @staticmethod
    def _translate(source: Source, profile: Profile) -> bool:
        """Whether the source is in another language than the brief (its cited sentences then need renderings)."""
        lang = (source.language or "").split("-")[0].lower()
        return bool(lang) and lang != profile.language.split("-")[0].lower()

    @staticmethod
    def _prompt_tokens(system: str, user: str) -> int:
        return _system_tokens(system) + count_tokens(user) + MESSAGE_OVERHEAD

    def _expected_renderings(self, s: Source, profile: Profile) -> int:
        """Completion tokens of the renderings of cited sentences when the article is in another language: about one
        per statement and extract, each the length of an average sentence of the article."""
        if not self._translate(s, profile):
            return 0
        return (ESTIMATED_STATEMENTS + ESTIMATED_EXTRACTS) * min(120, s.tokens // max(1, len(s.sentences)))

    def _expected_completion(self, stage: str, n: int) -> int:
        """Estimated completion tokens: `n` is article tokens (summaries) or the number of sources (synthesis)."""
        cap = self.settings.llm.max_output_tokens
        if stage in ("summarize", "reduce"):  # 3-5 statements citing sentence numbers, a few more numbers
            return min(cap, 160 + min(n, 6000) // 16)
        if stage == "map":
            return min(cap, 100 + n // 16)
        if stage == "judge":  # n claims: id and label, a few words of reason for some
            return min(cap, 10 + 15 * n)
        return min(cap, 400 + 150 * n)

    # ----- transport -----------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Import the openai package (~0.3 s of CPU) in a helper thread: the run's first request then does not wait
        for it after the first source is cleaned (a fully cached rerun pays it too, but sends nothing)."""
        if self._client is None and "openai" not in sys.modules:
            threading.Thread(target=_import_openai, name="briefing-import-openai", daemon=True).start()

    def _build_client(self) -> openai.AsyncOpenAI:
        llm = self.settings.llm
        key = llm.api_key.get_secret_value() if llm.api_key else None
        if key is None and llm.base_url:
            key = "not-needed"  # local servers (Ollama, llama.cpp, vLLM) accept any key
        try:
            return _openai().AsyncOpenAI(api_key=key, base_url=llm.base_url, timeout=llm.timeout, max_retries=0,
                                         http_client=_openai().DefaultAsyncHttpxClient(verify=_ssl_context()))
        except _openai().OpenAIError as e:
            raise EngineError(f"cannot configure the model endpoint: {_one_line(e)} "
                              "(set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server)") from None

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[openai.AsyncOpenAI]:
        """A client whose connection pool lives and dies with the current event loop (closed on exit)."""
        if self._client is None:
            client = self._build_client()
        else:
            client = self._client.copy(http_client=_openai().DefaultAsyncHttpxClient(verify=_ssl_context()),
                                       max_retries=0)
        self._sem = asyncio.Semaphore(self.settings.llm.concurrency)
        try:
            yield client
        finally:
            await client.close()

    def _run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine to completion from sync code (in a helper thread if a loop is already running)."""
        async def main() -> T:
            return await fn()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(main())
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, main()).result()

    def _log(self, call: _Call, prompt_sha: str, attempt: int, outcome: str, latency: float,
             prompt_tokens: int | None = None, completion_tokens: int | None = None) -> None:
        if self.call_log is None:
            return
        line = {"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"), "stage": call.stage,
                "source_id": call.source_id, "model": self.model, "prompt_sha256": prompt_sha,
                "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "latency_s": round(latency, 3), "attempt": attempt, "outcome": outcome}
        self.call_log.parent.mkdir(parents=True, exist_ok=True)
        with self.call_log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(redact_json(line), ensure_ascii=False) + "\n")

    def _wait(self, state: RetryCallState, label: str = "") -> float:
        p = self.retry
        base = min(p.backoff_max, p.backoff_base * 2 ** (state.attempt_number - 1))
        wait = base / 2 + random.uniform(0, base / 2)
        exc = state.outcome.exception() if state.outcome else None
        asked = exc.retry_after if isinstance(exc, _Retryable) else None
        if asked is not None:
            wait = max(wait, min(asked, p.retry_after_cap))
        if self.notify is not None and (asked is not None and asked >= 1 or wait >= 5):
            why = exc.reason if isinstance(exc, _Retryable) else "transient failure"
            note = ""
            if asked is not None:
                cap = f", capped at {p.retry_after_cap:g}s" if asked > p.retry_after_cap else ""
                note = f" (the server asked for {asked:g}s with Retry-After{cap})"
            self.notify(f"{label or 'request'}: {why}; waiting {wait:.1f}s before attempt "
                        f"{state.attempt_number + 1} of {p.attempts}{note}")
        return wait

    def _classify(self, e: Exception, label: str) -> Exception:
        """Map an SDK error to _Retryable (transient) or EngineError (one clear line naming the source)."""
        llm = self.settings.llm
        where = redact_url(llm.base_url) if llm.base_url else "the OpenAI API"
        if isinstance(e, _openai().APITimeoutError):
            return _Retryable(f"timed out after {llm.timeout:g}s (llm.timeout) at {where}")
        if isinstance(e, _openai().APIConnectionError):
            return _Retryable(f"connection to {where} failed: {_one_line(_root_cause(e), 120)}")
        if isinstance(e, _openai().APIStatusError):
            status, msg = e.status_code, _one_line(e.message)
            body = e.body if isinstance(e.body, dict) else {}
            code = str(e.code or body.get("code") or "")
            if status == 429 and code != "insufficient_quota":
                return _Retryable("429 rate limited", retry_after(e.response.headers))
            if status >= 500 or status in (408, 409):
                return _Retryable(f"{status} server error", retry_after(e.response.headers))
            if status == 401:
                cause = f"authentication failed (401) at {where}: {msg}; check OPENAI_API_KEY or llm.api_key"
            elif status == 403:
                cause = f"permission denied (403) for model {self.model!r} at {where}: {msg}"
            elif status == 404:
                cause = f"model {self.model!r} not found at {where} (404): {msg}; check --model / BRIEFING_MODEL"
            elif status == 429:
                cause = f"quota exhausted (429 insufficient_quota): {msg}"
            elif re.search(r"context|maximum.*tokens|too long|too many tokens|prompt is too", msg, re.I):
                cause = (f"prompt too long for model {self.model!r} ({status}): {msg}; set --context-window to the "
                         f"model's real window (now {self.context_window()})")
            else:
                cause = f"request rejected ({status}): {msg}"
            return EngineError(f"{label}: {cause}")
        if isinstance(e, _openai().OpenAIError):
            return _Retryable(f"invalid response: {_one_line(e, 80)}")
        return e

    @staticmethod
    def _rejects_schema(e: openai.APIStatusError) -> bool:
        return e.status_code in (400, 422, 501) and bool(
            re.search(r"response_format|json_schema|structured|not supported|unsupported", str(e.message), re.I))

    def _reasoning(self) -> bool:
        """A reasoning model (o-series, gpt-5): max_completion_tokens, no temperature, and its hidden reasoning counts
        against the output limit."""
        return bool(re.match(r"(o\d|gpt-5)", self.model.lower().rsplit("/", 1)[-1]))

    def _token_params(self, limit: int | None = None) -> dict[str, Any]:
        reasoning = self._reasoning()
        out: dict[str, Any] = {("max_completion_tokens" if reasoning else "max_tokens"):
                               limit or self.settings.llm.max_output_tokens}
        if not reasoning:
            out["temperature"] = self.settings.llm.temperature
        return out

    async def _reserve(self, label: str, prompt_tokens: int, output_tokens: int) -> float:
        """Reserve the worst-case cost of the next call, or stop before it could push the run over --max-cost.

        While other calls are in flight their actual cost is not known yet: wait for them before deciding.
        """
        llm = self.settings.llm
        worst = pricing.cost(self.model, prompt_tokens, output_tokens, llm.prices)
        while llm.max_cost is not None and self.usage.cost_usd + self._reserved + worst > llm.max_cost:
            if self._reserved <= 1e-9:  # nothing in flight (float sums of reservations leave crumbs, not zero)
                raise BudgetExceededError(
                    f"stopped before {label}: ${self.usage.cost_usd:.4f} spent, the next call could cost up to "
                    f"${worst:.4f}, over --max-cost ${llm.max_cost:.4f}")
            await asyncio.sleep(0.02)
        self._reserved += worst
        return worst

    def request_body(self, call: _Call, system: str, user: str) -> dict[str, Any]:
        """The Chat Completions body of a call (the Batch API path sends the very same one)."""
        body: dict[str, Any] = {"model": self.model, "messages": [{"role": "system", "content": system},
                                                                  {"role": "user", "content": user}],
                                **self._token_params(call.max_tokens)}
        if self.schema_supported and call.template != "repair":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": call.schema, "schema": parse.SCHEMAS[call.schema], "strict": True}}
        return body

    async def _send(self, client: openai.AsyncOpenAI, call: _Call, attempt: int) -> tuple[str, str]:
        """One HTTP request (plus a same-attempt resend in prompt-JSON mode); returns (content, finish_reason)."""
        while True:
            system, user = self._render(call)
            llm = self.settings.llm
            # the prompt's tokens matter before the answer only to --max-cost and a tokens-per-minute limit (the
            # answer's usage reports them): not counted for every request otherwise
            ptok = self._prompt_tokens(system, user) if llm.max_cost is not None or llm.tokens_per_minute else 0
            sha = hashlib.sha256(f"{system}\n\n{user}".encode()).hexdigest()
            body = self.request_body(call, system, user)
            out_limit = call.max_tokens or self.settings.llm.max_output_tokens
            reserved = await self._reserve(call.label, ptok, out_limit)
            t0 = time.monotonic()
            try:
                await self._limiter.acquire(ptok + out_limit)
                assert self._sem is not None
                async with self._sem:
                    t0 = time.monotonic()
                    self.in_flight += 1
                    if call.stage == "synthesize":
                        self._top_sent.set()
                    deadline = self.settings.llm.request_deadline
                    try:  # llm.timeout bounds each read; a server trickling bytes is stopped by the total deadline
                        # The body is plain JSON already: posted as is (the SDK's documented client.post), not walked
                        # again by chat.completions.create's parameter transform (1.5 ms of CPU per request).
                        resp = await asyncio.wait_for(client.post(
                            "/chat/completions", cast_to=_openai().types.chat.ChatCompletion, body=body),
                            timeout=deadline)
                    except TimeoutError:
                        self._log(call, sha, attempt, "request deadline exceeded", time.monotonic() - t0)
                        raise _Retryable(f"no complete answer within {deadline:g}s (llm.request_deadline)") from None
                    finally:
                        self.in_flight -= 1
            except _openai().APIStatusError as e:
                if "response_format" in body and self._rejects_schema(e):
                    if not self.schema_supported:  # a concurrent request already switched modes
                        continue
                    self.schema_supported = False
                    self.warnings.append("the server rejected response_format json_schema "
                                         f"({_one_line(e.message, 80)}); using JSON requested in the prompt")
                    self._log(call, sha, attempt, "response_format_rejected", time.monotonic() - t0)
                    continue
                err = self._classify(e, call.label)
                self._log(call, sha, attempt, getattr(err, "reason", None) or f"error: {err}", time.monotonic() - t0)
                raise err from None
            except _openai().OpenAIError as e:
                err = self._classify(e, call.label)
                self._log(call, sha, attempt, getattr(err, "reason", None) or f"error: {err}", time.monotonic() - t0)
                raise err from None
            finally:
                self._reserved = max(0.0, self._reserved - reserved)
            latency = time.monotonic() - t0
            if not isinstance(resp, _openai().types.chat.ChatCompletion):
                self._log(call, sha, attempt, "bad response body (not a chat completion)", latency)
                raise _Retryable("bad response body (not a chat completion, e.g. an HTML error page)")
            if not resp.choices:
                self._log(call, sha, attempt, "empty choices", latency)
                raise _Retryable("the server answered with no choices")
            refusal = getattr(resp.choices[0].message, "refusal", None)
            if refusal:
                self._log(call, sha, attempt, "refusal", latency)
                raise EngineError(f"{call.label}: the model refused the request: {_one_line(refusal, 120)}")
            content = resp.choices[0].message.content or ""
            u = resp.usage
            pt = u.prompt_tokens if u else (ptok or self._prompt_tokens(system, user))
            ct = u.completion_tokens if u else count_tokens(content)
            if not _plausible_usage(pt) or not _plausible_usage(ct):
                self._log(call, sha, attempt, "impossible usage", latency)
                raise EngineError(f"{call.label}: the endpoint reported impossible usage (prompt_tokens {pt!r}, "
                                  f"completion_tokens {ct!r}); refusing it, as it would falsify the cost and "
                                  "--max-cost")
            self.usage.add(Usage(1, pt, ct, pricing.cost(self.model, pt, ct, self.settings.llm.prices)))
            finish = resp.choices[0].finish_reason or "stop"
            limit = self._answer_limit()
            if len(content) > limit:
                self._log(call, sha, attempt, f"answer too large ({len(content)} characters)", latency, pt, ct)
                raise _Retryable(f"answer of {len(content)} characters is over the {limit}-character limit for "
                                 f"llm.max_output_tokens {self.settings.llm.max_output_tokens}")
            self._log(call, sha, attempt, "ok" if finish != "length" else "ok (finish_reason length)", latency, pt, ct)
            return content, finish

    def _answer_limit(self) -> int:
        """Characters an answer may have: far more than llm.max_output_tokens allows (a token averages ~4), so only a
        server that ignores the limit (or a hostile one sending megabytes) hits it."""
        return max(256_000, 32 * self.settings.llm.max_output_tokens)

    async def _request(self, client: openai.AsyncOpenAI, call: _Call, repair: bool = True) -> dict[str, Any]:
        """Send a call with retries; parse its JSON (one repair retry on bad JSON); EngineError when it can't."""
        retrying = AsyncRetrying(stop=stop_after_attempt(max(1, self.retry.attempts)),
                                 wait=lambda st: self._wait(st, call.label),
                                 retry=retry_if_exception_type(_Retryable), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    n = attempt.retry_state.attempt_number
                    content, finish = await self._send(client, call, n)
                    if finish == "length" and call.max_tokens is not None:  # cut at the summary cap: asked again
                        call = replace(call, max_tokens=None)  # at llm.max_output_tokens (a repair cannot restore it)
                        content, finish = await self._send(client, call, n)
                    try:
                        data = parse.parse_json(content, expect=list(parse.SCHEMAS[call.schema]["required"]))
                        problems = parse.validate(data, call.schema)
                        if problems:  # wrong-typed or empty: repaired or retried like bad JSON, never cached
                            raise parse.ParseError("answer does not match the schema: " + "; ".join(problems[:3]))
                        dropped = parse.cap_items(data)
                        if dropped:
                            self.warnings.append(f"{call.label}: answer had {dropped} item(s) over the "
                                                 f"{parse.MAX_ITEMS}-per-list cap; dropped")
                        return data
                    except parse.ParseError as e:
                        reason = str(e) + (" (output truncated: finish_reason length)" if finish == "length" else "")
                        if "{" not in content:
                            reason += f" (the model answered {_one_line(content, 80)!r})"
                        if not repair:  # the repair's own answer is bad: not retried (one repair per attempt)
                            raise _Unrepaired(reason) from None
                    fix = _Call("repair", "repair", call.schema, call.label, call.source_id,
                                {"error": reason, "output": _neutralise(parse.strip_reasoning(content)[-12000:]),
                                 "target_schema": call.schema})
                    try:
                        return await self._request(client, fix, repair=False)
                    except (_Retryable, _Unrepaired, EngineError) as e:
                        raise _Retryable(f"invalid JSON after a repair retry: {reason}") from e
        except _Retryable as e:
            raise EngineError(f"{call.label}: gave up after {self.retry.attempts} attempts: {e.reason}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ----- summaries -----------------------------------------------------------------------------------------

    def summarize(self, sources: Iterable[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                  on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """One summary per source, in the order given (requests run concurrently); each reported to on_summary.

        `sources` may be lazy (cleaned as they are read): each source's request is sent as soon as it comes."""
        return self._run(lambda: self.asummarize(sources, chunks, profile, on_summary))

    async def asummarize(self, sources: Iterable[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                         on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """Async form of summarize()."""
        self._profile = profile
        floor = self.chunk_budget_floor()
        async with self._session() as client:
            tasks: list[asyncio.Task[SourceSummary]] = []
            loop, it = asyncio.get_running_loop(), iter(sources)
            try:
                # The next source is taken in a helper thread (a lazy iterable cleans it there), so this loop sends
                # the requests of the sources already given and reads their answers meanwhile.
                while (s := await loop.run_in_executor(None, next, it, None)) is not None:
                    tasks.append(asyncio.create_task(self._summarize_one(client, s, self._parts(s, chunks, floor),
                                                                         profile, on_summary)))
            except BaseException:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            results = await asyncio.gather(*tasks, return_exceptions=True)
        # Every source gets its chance (each finished summary was reported to on_summary, so the caller can cache
        # it); then the first failure, our own typed errors first, is raised as itself.
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if isinstance(e, BriefingError)), errors[0])
        return [r for r in results if isinstance(r, SourceSummary)]

    def _parts(self, source: Source, chunks: dict[int, list[Chunk]], floor: int) -> list[str]:
        """The article as numbered sentence lines: one text when it fits a request, else one per part.

        Parts follow the given chunks (re-chunked if they do not tile the text), and a part whose numbered lines
        overflow the budget is split again. floor: a lower bound of the chunk budget (chunk_budget_floor, or the
        budget itself); a text of no more bytes fits without counting its tokens (a token is at least one byte).
        """
        whole = numbered(source)
        if len(whole.encode()) <= floor:
            return [whole]
        budget = self.chunk_budget()
        if count_tokens(whole) <= budget:
            return [whole]
        given = chunks.get(source.id) or []
        if not given or "".join(c.text for c in given) != source.text:
            given = chunk_text(source.text, budget, source_id=source.id)
        return [p for c in given for p in self._fit(source, c.start, c.end, budget)]

    def _fit(self, source: Source, start: int, end: int, budget: int, depth: int = 0) -> list[str]:
        """Numbered lines of text[start:end], split until each part fits the budget."""
        text = numbered(source, start, end)
        n = count_tokens(text)
        if n <= budget or depth >= 4:
            return [text] if text else []
        sub = chunk_text(source.text[start:end], max(64, int(budget * budget / n * 0.95)))
        return [p for c in sub for p in self._fit(source, start + c.start, start + c.end, budget, depth + 1)]

    def _summary_call(self, source: Source, profile: Profile, text: str, part: dict[str, int] | None) -> _Call:
        meta = _summary_source_vars(source)
        if source.title and (part is None or part["index"] == 1) and source.text.lstrip().startswith(source.title):
            meta["title"] = None  # the article's first line is its title: not sent twice
        meta["language_name"] = _meta(self._language_name(source.language), 40) if source.language else None
        return _Call("map" if part else "summarize", "summarize", "source_summary", _label(source), source.id,
                     {"profile": profile, "source": meta, "part": part, "article": text,
                      "language": self._language_name(profile.language),
                      "translate": self._translate(source, profile)}, self.summary_cap(source, profile))

    def summary_cap(self, source: Source, profile: Profile) -> int | None:
        """max_tokens of a summary request (an article, a part, or their reduce): llm.summary_output_tokens, plus
        twice the expected renderings of an article in another language, within llm.max_output_tokens; None (the
        full limit) for a reasoning model, whose hidden reasoning counts against it."""
        llm = self.settings.llm
        cap = llm.summary_output_tokens + 2 * self._expected_renderings(source, profile)
        return None if self._reasoning() or cap >= llm.max_output_tokens else cap

    async def _summarize_one(self, client: openai.AsyncOpenAI, source: Source, parts: list[str],
                             profile: Profile, on_summary: OnSummary | None) -> SourceSummary:
        if len(parts) == 1:
            data = await self._request(client, self._summary_call(source, profile, parts[0], None))
        else:
            partials = await _all([self._request(client, self._summary_call(
                source, profile, p, {"index": i + 1, "total": len(parts)})) for i, p in enumerate(parts)])
            data = await self._reduce(client, source, profile, [json.dumps(p, ensure_ascii=False) for p in partials])
        return self.finish_summary(source, profile, data, on_summary)

    def finish_summary(self, source: Source, profile: Profile, data: dict[str, Any],
                       on_summary: OnSummary | None) -> SourceSummary:
        """A parsed summary answer to a SourceSummary (unknown sentence numbers warned), reported to on_summary."""
        unknown: list[int] = []
        summary = parse.to_summary(data, source, unknown, translate=self._translate(source, profile))
        if unknown:
            self.warnings.append(f"{_label(source)}: key points or events cite sentence(s) "
                                 f"{', '.join(map(str, sorted(set(unknown))[:8]))}, which the article does not "
                                 f"have ({len(source.sentences)} sentences); left out")
        if on_summary is not None:
            on_summary(summary)
        if self._profile is profile and tokenizer_loaded():  # its notes routed now, while other answers are awaited
            self._route_source(source, summary, profile)
        return summary

    def _reduce_call(self, source: Source, profile: Profile, partials: list[str]) -> _Call:
        return _Call("reduce", "reduce", "source_summary", _label(source), source.id,
                     {"profile": profile, "source": _summary_source_vars(source),
                      "partials": [_neutralise(p) for p in partials],
                      "translate": self._translate(source, profile)}, self.summary_cap(source, profile))

    async def _reduce(self, client: openai.AsyncOpenAI, source: Source, profile: Profile,
                      partials: list[str]) -> dict[str, Any]:
        """Merge partial summaries, in batches that fit the prompt limit, until one remains."""
        limit = self.prompt_limit()
        while True:
            batches: list[list[str]] = [[]]
            for p in partials:
                trial = batches[-1] + [p]
                call = self._reduce_call(source, profile, trial)
                if batches[-1] and self._prompt_tokens(
                        *self._render(call, self._json_instructions("source_summary"))) > limit:
                    batches.append([p])
                else:
                    batches[-1] = trial
            results = await _all([self._request(client, self._reduce_call(source, profile, b)) for b in batches])
            if len(results) == 1:
                return results[0]
            partials = [json.dumps(r, ensure_ascii=False) for r in results]

    # ----- synthesis -----------------------------------------------------------------------------------------

    def synthesize(self, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
        """Cross-source synthesis on the profile's focus questions (one request unless the notes overflow).

        A "high" judgment resting on one independent source is capped here too (the rule every engine shares).
        """
        from briefing.confidence import cap_confidence  # (numpy) not on the way to the first request

        synthesis = self._run(lambda: self.asynthesize(sources, summaries, profile))
        cap_confidence(synthesis.judgments, sources)
        return synthesis

    @staticmethod
    def _notes(sources: list[Source],
               summaries: list[SourceSummary]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Source metadata and one block of notes per summarized source; note "3.2" is source 3's second note.

        Source blocks have no heading: every note line starts with its id and ends with its citation.
        """
        by_id = {s.source_id: s for s in summaries}
        meta, notes = [], []
        for s in sources:
            summ = by_id.get(s.id)
            meta.append({**_source_vars(s), "stance": summ.stance if summ else "unknown"})
            if summ:
                claims = summ.claims + summ.key_points + summ.events
                # a key point that is also an event is listed once, as the (dated) event; numbering is unchanged
                dated = {tuple(i for e in c.evidence for i in e.sentence_ids) for c in summ.events}
                first = len(summ.claims) + 1
                shown = [(k, c) for k, c in enumerate(claims, 1) if not (
                    first <= k < first + len(summ.key_points) and tuple(
                        i for e in c.evidence for i in e.sentence_ids) in dated)]
                notes.append({"heading": "", "source_ids": [s.id],  # ids "3.k" and "[3]" name the source
                              "claims": [_note_vars(f"{s.id}.{k}", c) for k, c in shown]})
        return meta, notes

    def _unknown_notes(self, stage: str, unknown: list[str]) -> None:
        if unknown:
            ids = list(dict.fromkeys(_one_line(u, 20) for u in unknown))
            self.warnings.append(f"{stage}: {len(unknown)} reference(s) to unknown notes "
                                 f"({', '.join(ids[:8])}{', ...' if len(ids) > 8 else ''}); their claims are flagged")

    def _synth_call(self, template: str, profile: Profile, meta: list[dict[str, Any]],
                    notes: list[dict[str, Any]]) -> _Call:
        return _Call(template, template, "brief_top", "synthesis", None,
                     {"profile": profile, "sources": meta, "notes": notes})

    def _fits(self, call: _Call) -> bool:
        return self._prompt_tokens(*self._render(call, self._json_instructions(call.schema))) <= self.prompt_limit()

    # The shape of the synthesis (see sections.py): parts of a section hold at most PART_TOKENS of notes, the top
    # request sees at most TOP_TOKENS of section claims, the timeline keeps TIMELINE_MAX dated events.
    PART_TOKENS = 6000
    TOP_TOKENS = 6000
    TIMELINE_MAX = 40

    def use_cache(self, cache: Any, eid: str) -> None:
        """Cache the section parts in the run's cache (the synthesize stage hands it over), keyed by their inputs."""
        self._part_cache = (cache, eid)

    _part_cache: tuple[Any, str] | None = None

    def _section_budget(self) -> int:
        """Most tokens of claims a section keeps without merging: two of them must fit one merge request."""
        room = self.prompt_limit() - self._section_overhead()
        return min(max(4 * self.settings.llm.max_output_tokens, 8192), room // 2)

    def _part_budget(self) -> int:
        """Tokens of notes (and their sources' lines) one section part may hold."""
        return max(256, min(self.PART_TOKENS, self.prompt_limit() - self._section_overhead()))

    def _section_overhead(self, bound: bool = False) -> int:
        """Prompt tokens of a section request with no notes (schema included, the longest section texts); bound: an
        upper bound that needs no tokenizer (its UTF-8 bytes)."""
        key = "section (bound)" if bound else "section"
        if key not in self._overheads:
            profile = self._profile or self.settings.to_profile()
            q = max(profile.focus_questions, key=lambda q: len(q.title) + len(q.question), default=None)
            sec = {"key": q.key if q else "", "title": q.title if q else "", "question": q.question if q else ""}
            call = _Call("section", "section", "section", "", None,
                         {"profile": profile, "section": sec, "merge": True, "sources": [], "notes": []})
            system, user = self._render(call, self._json_instructions("section"))
            self._overheads[key] = _prompt_bytes(system, user) if bound else self._prompt_tokens(system, user)
        return self._overheads[key]

    def check_fit(self) -> None:
        """Refuse, before any request, a context window in which the section reduction cannot converge: two parts'
        claims (up to llm.max_output_tokens each) must fit one merge request."""
        if self.prompt_limit() >= 2 * self.settings.llm.max_output_tokens + self._section_overhead(bound=True):
            return  # fits even counting a byte per token: no need to load the tokenizer for it
        need = 2 * self.settings.llm.max_output_tokens + self._section_overhead()
        if self.prompt_limit() < need:
            raise EngineError(
                f"synthesis cannot fit: merging two section parts needs about {need} prompt tokens (2 x "
                f"llm.max_output_tokens {self.settings.llm.max_output_tokens} + the section prompt), but the context "
                f"window of {self.context_window()} tokens for model {self.model!r} leaves {self.prompt_limit()}; "
                "raise --context-window or lower llm.max_output_tokens")

    def _route(self, sources: list[Source], summaries: list[SourceSummary],
               profile: Profile) -> dict[str, list[sections.SourceNotes]]:
        """Each source's notes, each routed to the one section it bears on most: the model's first theme tag on a
        summary statement, else the focus question whose keywords it matches most (a tie goes to the question most of
        its source's notes bear on, then profile order); a note matching none goes where most of its source's notes
        go. One section per note keeps the sections' prompts from repeating notes."""
        by_id = {summ.source_id: summ for summ in summaries}
        out: dict[str, list[sections.SourceNotes]] = {q.key: [] for q in profile.focus_questions}
        if not out:
            return out
        for s in sources:
            summ = by_id.get(s.id)
            routes = self._route_source(s, summ, profile) if summ is not None else []
            if not routes:
                continue
            # the source line (its flags are final only once every source is read): counted here, not remembered
            meta = _source_vars(s)
            line = " ".join(str(v) for k, v in meta.items() if k in ("title", "publisher", "published", "flags") and v)
            line_tokens = 8 + count_tokens(line)
            pos = sections.position(s)
            for key, notes, tok in routes:
                out[key].append(sections.SourceNotes(s, notes, line_tokens + tok, pos))
        return out

    def _route_source(self, s: Source, summ: SourceSummary,
                      profile: Profile) -> list[tuple[str, list[sections.Note], int]]:
        """One source's notes by section key, with their tokens: (key, notes, tokens). Remembered for the same
        source, summary and profile (they depend on the summary and the source's id only), so the work is done as
        each summary comes in (finish_summary), not after the last one."""
        memo = self._routes.get(s.id)
        if memo is not None and memo[0] is s and memo[1] is summ and memo[2] is profile:
            return memo[3]
        if self._router is None or self._router[0] is not profile:
            self._router = (profile, sections.Router(profile.focus_questions))
        router = self._router[1]
        order = {k: i for i, k in enumerate(router.keys)}
        result: list[tuple[str, list[sections.Note], int]] = []
        _, blocks = self._notes([s], [summ])
        if blocks and router.keys:
            candidates: list[tuple[sections.Note, list[str]]] = []
            tally = dict.fromkeys(router.keys, 0)
            for c in blocks[0]["claims"]:
                k = int(c["id"].split(".")[1])
                keys = router.tagged(summ.themes[k - 1])[:1] if k <= len(summ.themes) else []
                if not keys:
                    words = c["text"] + " " + " ".join(e.translation or "" for e in c["evidence"])
                    keys = router.by_keywords(words)
                candidates.append((sections.Note(c["id"], c["text"], c["source_ids"], c["evidence"]), keys))
                for key in keys:
                    tally[key] += 1
            best = min(router.keys, key=lambda k: (-tally[k], order[k]))
            routed: dict[str, list[sections.Note]] = {}
            for note, keys in candidates:
                key = min(keys, key=lambda k: (-tally[k], order[k])) if keys else best
                routed.setdefault(key, []).append(note)
            result = [(key, notes, sum(count_tokens(n.text) + 6 + 2 * len(n.source_ids) for n in notes))
                      for key, notes in routed.items()]
        self._routes[s.id] = (s, summ, profile, result)
        return result

    def _part_call(self, profile: Profile, q: Any, meta: dict[int, dict[str, Any]], notes: list[dict[str, Any]],
                   merge: bool) -> _Call:
        ids = sorted({i for n in notes for c in n["claims"] for i in c["source_ids"] if i in meta})
        return _Call("section", "section", "section", f"section {q.key!r}", None,
                     {"profile": profile, "section": {"key": q.key, "title": q.title, "question": q.question},
                      "merge": merge, "sources": [meta[i] for i in ids], "notes": notes})

    async def _section(self, client: openai.AsyncOpenAI, profile: Profile, q: Any, tree: sections.Group,
                       meta: dict[int, dict[str, Any]], key_of: dict[int, str], unknown: list[str]) -> list[Claim]:
        """A section's claims: its leaves written in parallel, joined in hash order, merged where over budget."""
        budget = self._section_budget()

        async def node(g: sections.Group) -> list[Claim]:
            if g.leaf:
                notes = [{"heading": "", "source_ids": [x.source.id], "claims": [n.var() for n in x.notes]}
                         for x in g.sources]
                return await self._part(client, self._part_call(profile, q, meta, notes, False), key_of, unknown)
            parts = await _all([node(c) for c in g.children])
            joined = [c for p in parts for c in p]
            if sections.claim_tokens(joined) <= budget:
                return joined
            notes = [{"heading": "", "source_ids": sorted({i for c in p for i in c.source_ids}),
                      "claims": [_note_vars(f"p{k}.{j}", c) for j, c in enumerate(p, 1)]}
                     for k, p in enumerate(parts, 1)]
            return await self._part(client, self._part_call(profile, q, meta, notes, True), key_of, unknown)

        return await node(tree)

    async def _part(self, client: openai.AsyncOpenAI, call: _Call, key_of: dict[int, str],
                    unknown: list[str]) -> list[Claim]:
        """One section request (a part or a merge), reused from the cache when its inputs are unchanged."""
        index = _note_index(call.variables["notes"])
        key = None
        if self._part_cache is not None:
            cache, eid = self._part_cache
            stable = sections.stable_notes(call.variables["notes"], key_of)
            srcs = [{**m, "id": key_of.get(m["id"], m["id"])} for m in call.variables["sources"]]
            key = digest("section_part", eid, asdict(call.variables["profile"]), call.variables["section"],
                         call.variables["merge"], srcs, stable)
            hit = cache.get("section_part", key)
            if isinstance(hit, list):
                claims = sections.from_stable(hit, {v: k for k, v in key_of.items()})
                if claims is not None:
                    return claims
        data = await self._request(client, call)
        claims = parse.to_section(data, index, unknown)
        if key is not None and self._part_cache is not None:
            self._part_cache[0].put("section_part", key, sections.to_stable(claims, key_of))
        return claims

    def _top_notes(self, profile: Profile, themes: list[Section]) -> list[dict[str, Any]]:
        """The sections' claims as the top request's notes, under the sections' titles: all of them when they fit
        TOP_TOKENS, else round-robin over the sections, claims citing more sources first."""
        budget = min(self.TOP_TOKENS, max(512, self.prompt_limit() - self._overhead_top() - 2000))
        queues = [sorted(enumerate(t.claims, 1), key=lambda x: (-len(x[1].source_ids), x[0])) for t in themes]
        chosen: list[set[int]] = [set() for _ in themes]
        used = 0
        progress = True
        while progress:
            progress = False
            for i, qu in enumerate(queues):
                if not qu:
                    continue
                j, c = qu.pop(0)
                cost = sections.note_tokens(c.text, c.source_ids)
                if used + cost > budget:
                    queues[i] = []
                    continue
                used += cost
                chosen[i].add(j)
                progress = True
        return [{"heading": t.title, "source_ids": sorted({i for c in t.claims for i in c.source_ids}),
                 "claims": [_note_vars(f"s{i}.{j}", c) for j, c in enumerate(t.claims, 1) if j in chosen[i - 1]]}
                for i, t in enumerate(themes, 1) if chosen[i - 1]]

    def _overhead_top(self) -> int:
        if "top" not in self._overheads:
            profile = self._profile or self.settings.to_profile()
            call = self._synth_call("synthesize", profile, [], [])
            self._overheads["top"] = self._prompt_tokens(*self._render(call, self._json_instructions("brief_top")))
        return self._overheads["top"]

    async def asynthesize(self, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
        """Async form of synthesize(): the theme sections in parallel, then the top of the brief from them."""
        self.waiting_on_model.clear()
        self._top_sent.clear()
        self.draft = None
        try:
            return await self._asynthesize(sources, summaries, profile)
        finally:
            self._top_sent.set()
            self.waiting_on_model.set()

    def _while_top_is_written(self, themes: list[Section], sources: list[Source], summaries: list[SourceSummary],
                              profile: Profile) -> list[Claim]:
        """The timeline, built (in a helper thread) once the top request is in flight, not before it on the critical
        path; then the draft (sections and timeline) is handed to the caller's side work (waiting_on_model)."""
        self._top_sent.wait(600)
        router = sections.Router(profile.focus_questions)
        timeline = sections.timeline(sources, summaries, router, profile.language, self.TIMELINE_MAX)
        from briefing.confidence import independent_groups

        independent_groups(sources)  # (remembered for the same sources) cap_confidence's groups: not after the top

        self.draft = Synthesis(bluf=[], judgments=[], themes=themes, timeline=timeline, implications=[], indicators=[])
        self.waiting_on_model.set()
        return timeline

    async def _asynthesize(self, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
        self._profile = profile
        self.check_fit()
        meta_list, _ = self._notes(sources, summaries)
        meta = {m["id"]: m for m in meta_list}
        key_of = {s.id: sections.stable_key(s) for s in sources}
        routed = self._route(sources, summaries, profile)
        trees = {k: sections.split(v, self._part_budget()) for k, v in routed.items() if v}
        unknown: list[str] = []
        async with self._session() as client:
            qs = [q for q in profile.focus_questions if q.key in trees]
            written = await _all([self._section(client, profile, q, trees[q.key], meta, key_of, unknown) for q in qs])
            by_key = dict(zip([q.key for q in qs], written, strict=True))
            themes = [Section(q.key, q.title, by_key.get(q.key, [])) for q in profile.focus_questions]
            self._unknown_notes("synthesis (sections)", unknown)
            top_notes = self._top_notes(profile, themes)
            unknown = []
            later = asyncio.get_running_loop().run_in_executor(None, self._while_top_is_written, themes, sources,
                                                               summaries, profile)
            try:
                if top_notes:
                    cited = {i for n in top_notes for c in n["claims"] for i in c["source_ids"]}
                    call = self._synth_call("synthesize", profile, [m for m in meta_list if m["id"] in cited],
                                            top_notes)
                    data = await self._request(client, call)
                    top = parse.to_synthesis(data, profile, _note_index(top_notes), unknown)
                else:
                    top = Synthesis([], [], [], [], [], [])
            finally:
                self._top_sent.set()  # no top request (or it failed, or went through a batch): the timeline now
            timeline = await later
        self._unknown_notes("synthesis", unknown)
        return Synthesis(bluf=top.bluf, judgments=top.judgments, themes=themes, timeline=timeline,
                         implications=top.implications, indicators=top.indicators)

    # ----- model judge ---------------------------------------------------------------------------------------

    def _judge_call(self, items: list[dict[str, Any]]) -> _Call:
        claims = [{"id": it["id"], "text": _neutralise(" ".join(str(it["text"]).split())),
                   "sentences": [{"source_id": x["source_id"], "text": _neutralise(" ".join(str(x["text"]).split()))}
                                 for x in it["sentences"]]} for it in items]
        return _Call("judge", "judge", "judge", f"model judge ({len(items)} claims)", None, {"claims": claims})

    def judge_batches(self, items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Claims in batches of verify.judge_batch, split further where a batch's prompt would not fit."""
        size = self.settings.verify.judge_batch
        out: list[list[dict[str, Any]]] = []
        for i in range(0, len(items), size):
            batch: list[dict[str, Any]] = []
            for it in items[i:i + size]:
                if batch and not self._fits(self._judge_call(batch + [it])):
                    out.append(batch)
                    batch = []
                batch.append(it)
            out.append(batch)
        return [b for b in out if b]

    def judge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """The model judge: claim id -> (label, reason) for claims {id, text, sentences: [{source_id, text}]}.

        A claim the model gives no verdict for is missing from the result. Raises EngineError (or
        BudgetExceededError) when a request fails: the caller keeps the deterministic verdicts.
        """
        return self._run(lambda: self.ajudge(items))

    async def ajudge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """Async form of judge()."""
        batches = self.judge_batches(items)
        async with self._session() as client:
            results = await _all([self._request(client, self._judge_call(b)) for b in batches])
        out: dict[int, tuple[str, str]] = {}
        for batch, data in zip(batches, results, strict=True):
            ids = {it["id"] for it in batch}
            out.update({k: v for k, v in parse.to_verdicts(data).items() if k in ids})
        return out

    def _judge_estimate(self, stage: dict[str, Any], sources: list[Source], synth_claims: int) -> None:
        """Judge requests for the expected claims: each source's statements and the synthesis claims, each with
        filler text and real sentences of its source (two for a synthesis claim)."""
        items: list[dict[str, Any]] = []
        for s in sources:
            sents = [x for x in s.sentences if len(x.text) >= 20] or s.sentences
            words = max(1, int(self._expected_completion("summarize", s.tokens) * STATEMENT_SHARE
                               / ESTIMATED_STATEMENTS))
            for k in range(ESTIMATED_STATEMENTS):
                x = sents[(k * 3) % len(sents)] if sents else None
                items.append({"id": len(items) + 1, "text": " ".join(["word"] * words),
                              "sentences": [{"source_id": s.id, "text": x.text}] if x else []})
        for k in range(synth_claims):
            s = sources[k % len(sources)]
            texts = [x.text for x in s.sentences if len(x.text) >= 20][:2] or [x.text for x in s.sentences[:2]]
            items.append({"id": len(items) + 1, "text": " ".join(["word"] * 20),
                          "sentences": [{"source_id": s.id, "text": t} for t in texts]})
        for batch in self.judge_batches(items):
            stage["requests"] += 1
            stage["prompt_tokens"] += self._prompt_tokens(*self._render(self._judge_call(batch)))
            stage["completion_tokens"] += self._expected_completion("judge", len(batch))

    # ----- dry run -------------------------------------------------------------------------------------------

    def estimate(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile) -> dict[str, Any]:
        """Calls, tokens and cost per stage for --dry-run, by rendering the real prompts; sends nothing."""
        self._profile = profile
        llm = self.settings.llm
        budget = self.chunk_budget()
        names = ("summarize", "synthesize", "judge") if self.settings.verify.judge else ("summarize", "synthesize")
        stages: dict[str, dict[str, Any]] = {s: {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
                                             for s in names}
        summ = stages["summarize"]

        def add(stage: dict[str, Any], system: str, user: str, completion: int) -> None:
            stage["requests"] += 1
            stage["prompt_tokens"] += self._prompt_tokens(system, user)
            stage["completion_tokens"] += completion

        est_summaries: list[SourceSummary] = []
        for s in sources:
            parts = self._parts(s, chunks, budget)
            ntok = s.tokens
            rendered = self._expected_renderings(s, profile)
            if len(parts) == 1:
                add(summ, *self._render(self._summary_call(s, profile, parts[0], None)),
                    self._expected_completion("summarize", ntok) + rendered)
            else:
                fake = []
                for i, p in enumerate(parts):
                    comp = self._expected_completion("map", count_tokens(p))
                    add(summ, *self._render(self._summary_call(s, profile, p, {"index": i + 1,
                                                                               "total": len(parts)})), comp)
                    fake.append("x " * comp)
                add(summ, *self._render(self._reduce_call(s, profile, fake)),
                    self._expected_completion("reduce", ntok) + rendered)
            # A stand-in summary of the expected size, so the synthesis prompt is rendered for real too: statements
            # whose texts are STATEMENT_SHARE of the summary's tokens (JSON keys and sentence numbers stay out of
            # the notes), and key points / events that are sentences spread over the article.
            words = max(1, int(self._expected_completion("summarize", ntok) * STATEMENT_SHARE
                               / ESTIMATED_STATEMENTS))
            filler = " ".join(["word"] * words)
            sents = [x for x in s.sentences if len(x.text) >= 20] or s.sentences
            step = max(1, len(sents) // ESTIMATED_EXTRACTS)
            extracts = [Claim(x.text, [s.id]) for x in sents[::step][:ESTIMATED_EXTRACTS]]
            est_summaries.append(SourceSummary(s.id, [Claim(filler, [s.id]) for _ in range(ESTIMATED_STATEMENTS)],
                                               "news report", key_points=extracts))
        synth = stages["synthesize"]
        top_claims = self._estimate_synthesis(synth, sources, est_summaries, profile)
        if "judge" in stages:
            self._judge_estimate(stages["judge"], sources, top_claims)
        for st in stages.values():
            st["cost_usd"] = round(pricing.cost(self.model, st["prompt_tokens"], st["completion_tokens"],
                                                llm.prices), 6)
        total = {k: sum(st[k] for st in stages.values()) for k in ("requests", "prompt_tokens", "completion_tokens")}
        return {"engine": self.name, "model": self.model, "context_window": self.context_window(),
                "chunk_budget": budget, "stages": stages, **total,
                "cost_usd": round(sum(st["cost_usd"] for st in stages.values()), 6),
                "max_cost": llm.max_cost}

    def _estimate_synthesis(self, stage: dict[str, Any], sources: list[Source], summaries: list[SourceSummary],
                            profile: Profile) -> int:
        """Section parts, merges and the top request for stand-in summaries, counted into `stage` as a run would
        send them (prompts of the parts rendered for real); returns the expected number of synthesis claims."""
        self.check_fit()
        meta_list, _ = self._notes(sources, summaries)
        meta = {m["id"]: m for m in meta_list}
        budget = self._section_budget()
        per_claim = 45  # completion tokens of one cited claim (text, source ids, note ids)
        shown = 0
        n_claims = 0

        def node(q: Any, g: sections.Group) -> int:
            nonlocal n_claims
            if g.leaf:
                notes = [{"heading": "", "source_ids": [x.source.id], "claims": [n.var() for n in x.notes]}
                         for x in g.sources]
                k = sum(len(x.notes) for x in g.sources)  # at most a claim per note (the prompt asks 3 to 8)
                out = min(self.settings.llm.max_output_tokens, 20 + per_claim * k)
                stage["requests"] += 1
                stage["prompt_tokens"] += self._prompt_tokens(*self._render(self._part_call(profile, q, meta, notes,
                                                                                            False)))
                stage["completion_tokens"] += out
                n_claims += k
                return out
            joined = sum(node(q, c) for c in g.children)
            if joined <= budget:
                return joined
            out = min(self.settings.llm.max_output_tokens, joined)
            stage["requests"] += 1
            stage["prompt_tokens"] += self._section_overhead() + joined + 25 * min(len(sources), joined // per_claim)
            stage["completion_tokens"] += out
            n_claims += (out - joined) // per_claim
            return out

        routed = self._route(sources, summaries, profile)
        for q in profile.focus_questions:
            items = routed.get(q.key) or []
            if items:
                shown += node(q, sections.split(items, self._part_budget()))
        if shown:
            top = min(shown, self.TOP_TOKENS)
            stage["requests"] += 1
            stage["prompt_tokens"] += self._overhead_top() + top + 25 * min(len(sources), top // per_claim)
            stage["completion_tokens"] += min(self.settings.llm.max_output_tokens, 20 + per_claim * 21)
            n_claims += 21  # bluf 5, judgments 6, implications 5, indicators 5
        return n_claims

    def check_estimate(self, estimate: dict[str, Any]) -> None:
        """Refuse to start (BudgetExceededError) when the estimated cost is over --max-cost."""
        check_cost(estimate, self.settings.llm.max_cost)
