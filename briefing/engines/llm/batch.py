"""Per-source summaries through the Batch API: JSONL upload, batch create, polling, answers by custom_id; resumable."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import json
import sqlite3
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from briefing.engines.base import OnSummary
from briefing.engines.llm import parse, pricing
from briefing.engines.llm.engine import LLMEngine, _Call, _one_line, _plausible_usage, _Retryable
from briefing.errors import BriefingError, BudgetExceededError, EngineError
from briefing.models import Chunk, Profile, Source, SourceSummary, Usage

if TYPE_CHECKING:
    import openai

ENDPOINT = "/v1/chat/completions"
PRICE_FACTOR = 0.5  # the Batch API costs half the live price
MAX_REQUESTS = 50_000  # per batch (the API's limit)
MAX_BYTES = 200 * 1024 * 1024  # per input file (the API's limit)
MAX_SUBMISSIONS = 3  # a request in an expired or cancelled batch is resubmitted this often, then sent live
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
LOST = "lost"  # recorded for a batch the server no longer knows (404): what it covered is submitted again
DEAD = frozenset({"failed", "expired", "cancelled", "cancelling", LOST})  # will not answer (more)
LOOKBACK = 7 * 86400  # a run looks for a batch it may have created without recording it this far back
LOOKUP_LIMIT = 2000  # ... and through at most this many of the account's batches (and uploaded files)
_EXTRA_COLUMNS = [("fingerprint", "TEXT"), ("completed", "INTEGER"), ("failed", "INTEGER"), ("estimate_usd", "REAL"),
                  ("cost_usd", "REAL"), ("prompt_tokens", "INTEGER"), ("completion_tokens", "INTEGER")]


_LIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("briefing_batch_live", default=False)  # send live


def cache_db(out: str | Path) -> Path:
    """The SQLite file under OUT/.cache the summaries cache and the batch records share."""
    return Path(out) / ".cache" / "cache.sqlite"


class BatchStore:
    """Batches submitted from this output root: id, status, and the requests each covers (custom_id)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.lock = threading.Lock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, status TEXT, created REAL, "
                        "requests INTEGER, model TEXT, base_url TEXT, input_file_id TEXT, output_file_id TEXT, "
                        "error_file_id TEXT, updated REAL)")
        have = {row[1] for row in self.db.execute("PRAGMA table_info(batches)")}
        for col, kind in _EXTRA_COLUMNS:  # added after the first release: older cache files get them here
            if col not in have:
                self.db.execute(f"ALTER TABLE batches ADD COLUMN {col} {kind}")
        self.db.execute("CREATE TABLE IF NOT EXISTS batch_requests (custom_id TEXT, batch_id TEXT, source TEXT, "
                        "PRIMARY KEY (custom_id, batch_id))")

    def record(self, batch_id: str, status: str, model: str, base_url: str, input_file_id: str,
               items: list[tuple[str, str]], fingerprint: str | None = None, estimate_usd: float | None = None,
               created: float | None = None) -> None:
        """A new batch and the (custom_id, source label) pairs it covers, in one transaction."""
        now = time.time()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("INSERT OR REPLACE INTO batches (id, status, created, requests, model, base_url, "
                                "input_file_id, updated, fingerprint, estimate_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                                "?, ?)", (batch_id, status, created or now, len(items), model, base_url,
                                          input_file_id, now, fingerprint, estimate_usd))
                self.db.executemany("INSERT OR REPLACE INTO batch_requests VALUES (?, ?, ?)",
                                    [(cid, batch_id, label) for cid, label in items])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def update(self, batch_id: str, status: str, output_file_id: str | None = None,
               error_file_id: str | None = None, counts: tuple[int, int] | None = None) -> None:
        """The batch's last known status (and result files, and (completed, failed) request counts)."""
        done, failed = counts if counts is not None else (None, None)
        with self.lock:
            self.db.execute("UPDATE batches SET status = ?, output_file_id = COALESCE(?, output_file_id), "
                            "error_file_id = COALESCE(?, error_file_id), completed = COALESCE(?, completed), "
                            "failed = COALESCE(?, failed), updated = ? WHERE id = ?",
                            (status, output_file_id, error_file_id, done, failed, time.time(), batch_id))

    def set_cost(self, batch_id: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """The usage of all of a batch's answers (read from its result files) and its cost at the batch price."""
        with self.lock:
            self.db.execute("UPDATE batches SET prompt_tokens = ?, completion_tokens = ?, cost_usd = ? WHERE id = ?",
                            (prompt_tokens, completion_tokens, cost_usd, batch_id))

    def covering(self, custom_id: str, base_url: str) -> str | None:
        """The newest batch at this endpoint covering this request that may still answer it (not failed, expired,
        cancelled or lost)."""
        with self.lock:
            row = self.db.execute(
                "SELECT b.id FROM batch_requests r JOIN batches b ON b.id = r.batch_id WHERE r.custom_id = ? "
                "AND b.base_url = ? AND b.status NOT IN ('failed', 'expired', 'cancelled', 'lost') "
                "ORDER BY b.created DESC LIMIT 1", (custom_id, base_url)).fetchone()
        return str(row[0]) if row else None

    def submissions(self, custom_id: str) -> int:
        """How many batches this request was submitted in."""
        with self.lock:
            row = self.db.execute("SELECT COUNT(*) FROM batch_requests WHERE custom_id = ?", (custom_id,)).fetchone()
        return int(row[0])

    def batches(self) -> list[dict[str, Any]]:
        """Every recorded batch, newest first."""
        with self.lock:
            cur = self.db.execute("SELECT id, status, requests, completed, failed, created, model, base_url, "
                                  "estimate_usd, cost_usd, updated FROM batches ORDER BY created DESC, id DESC")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        """Close the database."""
        self.db.close()


@dataclass
class _Item:
    """One request of a batch; its JSONL line waits in the run's spool file (offset, size), not in memory."""

    call: _Call
    cid: str
    offset: int
    size: int
    prompt_tokens: int
    expected: int  # completion tokens expected (the --max-cost check before submitting)
    label: str  # what the batch record names: the source's path, or the call's label
    spool: IO[bytes]  # the file holding its line
    source: Source | None = None


def custom_id(source_id: int, body: dict[str, Any]) -> str:
    """A request's id: its source and a digest of the exact body, so a rerun finds the batch that has its answer."""
    h = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"s{source_id}-{h[:32]}"


def request_id(stage: str, body: dict[str, Any]) -> str:
    """The custom_id of a request other than a source's summary (`--batch all`): its stage and body digest."""
    h = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"{stage}-{h[:32]}"


def fingerprint(cids: list[str]) -> str:
    """What a batch covers, as one digest of its requests' ids in order: the same requests give the same file and
    the same batch, which is how a run finds a batch it created but was killed before recording."""
    return hashlib.sha256("\n".join(cids).encode()).hexdigest()


def upload_name(fp: str) -> str:
    """The uploaded JSONL's file name, carrying the fingerprint (a rerun reuses an upload no batch was made from)."""
    return f"briefing-batch-{fp[:40]}.jsonl"


def split(items: list[_Item], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES) -> Iterator[list[_Item]]:
    """Groups of items within the API's per-batch request count and per-file size."""
    group: list[_Item] = []
    size = 0
    for it in items:
        if group and (len(group) >= max_requests or size + it.size > max_bytes):
            yield group
            group, size = [], 0
        group.append(it)
        size += it.size
    if group:
        yield group


def _field(obj: Any, name: str) -> Any:
    """An attribute of an SDK object or a key of a dict."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _counts(batch: Any, total: int) -> tuple[int, int, int]:
    """(completed, failed, total) of a batch's request_counts (total defaults to what was submitted)."""
    rc = _field(batch, "request_counts")
    done = int(_field(rc, "completed") or 0) if rc is not None else 0
    failed = int(_field(rc, "failed") or 0) if rc is not None else 0
    return done, failed, int(_field(rc, "total") or 0) if rc is not None and _field(rc, "total") else total


class BatchLLMEngine(LLMEngine):
    """The LLM engine with its per-source summaries sent through the Batch API; the synthesis (and the map-reduce
    of articles too long for one request) runs live, like everything retried after a failed line. With
    `llm.batch = "all"` every request goes through a batch (a live retry of a failed line excepted)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_requests, self.max_bytes = MAX_REQUESTS, MAX_BYTES
        self.submitted: list[str] = []  # batch ids this run created
        self.resumed: list[str] = []  # batch ids this run picked up from an earlier run
        self.found: list[str] = []  # of those, found on the server by fingerprint (the earlier run did not record it)
        self.reused_files: list[str] = []  # uploads an earlier run made but did not make a batch of
        self.live_retries: list[int] = []  # source ids whose batch answer failed and which were summarized live
        self.server_wait = 0.0  # seconds waiting on the batch: status checks and between them (bench: not our work)
        self._remote: dict[str, Any] | None = None  # fingerprint -> live batch on the server (listed once a run)
        # `--batch all`: requests waiting to be sent together in the next batch, and the task that sends them
        self._queue: list[tuple[openai.AsyncOpenAI, _Call, asyncio.Future[dict[str, Any]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._waiting, self._wait_since = 0, 0.0  # batches being polled now, since when

    # ----- dry run and --max-cost --------------------------------------------------------------------------

    def estimate(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile) -> dict[str, Any]:
        """As the live estimate, with the batched summary requests (one per article that fits one request) at the
        batch price in a "summarize (batch)" stage; long articles' map-reduce stays in "summarize" at the live price.
        """
        est = super().estimate(sources, chunks, profile)
        budget = self.chunk_budget()
        live = est["stages"].pop("summarize")
        batch = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
        for s in sources:
            parts = self._parts(s, chunks, budget)
            if len(parts) == 1:
                batch["requests"] += 1
                batch["prompt_tokens"] += self._prompt_tokens(*self._render(self._summary_call(s, profile, parts[0],
                                                                                               None)))
                batch["completion_tokens"] += self._expected_completion("summarize", s.tokens) + \
                    self._expected_renderings(s, profile)
        for k in batch:
            live[k] -= batch[k]
        stages: dict[str, Any] = {"summarize (batch)": {**batch, "cost_usd": round(self._batch_cost(
            batch["prompt_tokens"], batch["completion_tokens"]), 6)}}
        if live["requests"]:
            live["cost_usd"] = round(pricing.cost(self.model, live["prompt_tokens"], live["completion_tokens"],
                                                  self.settings.llm.prices), 6)
            stages["summarize"] = live
        stages.update(est["stages"])
        if self.batch_all:  # every stage at the batch price
            stages, every = {}, stages
            for name, st in every.items():
                if not name.endswith(" (batch)"):
                    st = {**st, "cost_usd": round(st["cost_usd"] * PRICE_FACTOR, 6)}
                    name += " (batch)"
                have = stages.setdefault(name, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                                "cost_usd": 0.0})
                for k in have:
                    have[k] += st[k]
        est["stages"] = stages
        est["cost_usd"] = round(sum(st["cost_usd"] for st in stages.values()), 6)
        est["batch"] = True
        return est

    def _batch_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return pricing.cost(self.model, prompt_tokens, completion_tokens, self.settings.llm.prices) * PRICE_FACTOR

    # ----- summaries ---------------------------------------------------------------------------------------

    def summary_cap(self, source: Source, profile: Profile) -> int | None:
        """None: a batched summary is not on a critical path, so it is not capped below llm.max_output_tokens (a cut
        answer would be paid for and asked again live), and its request body stays what it was before the cap."""
        return None

    @property
    def batch_all(self) -> bool:
        """`--batch all`: every request goes through a batch, not only the per-source summaries."""
        return self.settings.llm.batch == "all"

    def _item(self, spool: IO[bytes], call: _Call, cid_of: Callable[[dict[str, Any]], str], expected: int,
              label: str, source: Source | None = None) -> _Item:
        """A call rendered to its Chat Completions body, its JSONL line appended to the spool file."""
        system, user = self._render(call)
        body = self.request_body(call, system, user)
        cid = cid_of(body)
        line = json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": body},
                          ensure_ascii=False).encode() + b"\n"
        spool.seek(0, 2)
        offset = spool.tell()
        spool.write(line)
        return _Item(call, cid, offset, len(line), self._prompt_tokens(system, user), expected, label, spool, source)

    # ----- every request through a batch (`--batch all`) -----------------------------------------------------

    async def _request(self, client: openai.AsyncOpenAI, call: _Call, repair: bool = True) -> dict[str, Any]:
        """With `--batch all`, a request (other than a repair or a live retry) waits for a batch; requests started
        together, such as a stage's parallel requests, share one. Otherwise the live request."""
        if not self.batch_all or _LIVE.get() or call.template == "repair":
            return await super()._request(client, call, repair)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((client, call, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await fut

    async def _flush(self) -> None:
        """Send the queued requests as one batch (split at the API's limits) and answer each one's future; a line
        the batch could not answer is sent live, exactly as a live run would."""
        for _ in range(5):
            await asyncio.sleep(0)  # let every request started in the same step (asyncio.gather) join the queue
        queue, self._queue = self._queue, []
        if not queue:
            return
        client = queue[0][0]
        futures: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        items: dict[str, _Item] = {}

        def answer(cid: str, result: dict[str, Any] | BaseException) -> None:
            for f in futures.get(cid, []):
                if not f.done():
                    if isinstance(result, BaseException):
                        f.set_exception(result)
                    else:
                        f.set_result(result)

        try:
            with tempfile.TemporaryFile() as spool:
                for _, call, fut in queue:
                    n = len(call.variables.get("sources") or call.variables.get("items") or []) or 1
                    it = self._item(spool, call, functools.partial(request_id, call.stage),
                                    self._expected_completion(call.stage, n), call.label)
                    items.setdefault(it.cid, it)
                    futures.setdefault(it.cid, []).append(fut)
                store = BatchStore(cache_db(self.settings.run.out))
                try:
                    retry = await self._batched(client, store, items, lambda it, data: answer(it.cid, data))
                finally:
                    store.close()
            if retry:
                self.warnings.append(f"batch: {len(retry)} request(s) failed in the batch and were sent live: "
                                     + ", ".join(dict.fromkeys(it.call.label for it in retry)))
                token = _LIVE.set(True)
                try:
                    results = await asyncio.gather(*[LLMEngine._request(self, client, it.call) for it in retry],
                                                   return_exceptions=True)
                finally:
                    _LIVE.reset(token)
                for it, r in zip(retry, results, strict=True):
                    answer(it.cid, r)
        except Exception as e:  # noqa: BLE001 - every waiting request gets the error as its own
            for _, _, f in queue:
                if not f.done():
                    f.set_exception(e)
        finally:
            for _, _, f in queue:  # cancelled, or an answer the batch left out: never leave a request hanging
                if not f.done():
                    f.set_exception(EngineError("batch: the request was not answered"))

    async def asummarize(self, sources: Iterable[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                         on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """Summaries of articles that fit one request through the Batch API, the rest live; in source order."""
        sources = list(sources)  # one batch for all of them
        self._profile = profile
        budget = self.chunk_budget()
        items: dict[str, _Item] = {}
        long_ones: list[tuple[Source, list[str]]] = []
        done: dict[int, SourceSummary] = {}
        with tempfile.TemporaryFile() as spool:  # the JSONL lines, on disk until uploaded
            for s in sources:
                parts = self._parts(s, chunks, budget)
                if len(parts) != 1:
                    long_ones.append((s, parts))
                    continue
                expected = self._expected_completion("summarize", s.tokens) + self._expected_renderings(s, profile)
                it = self._item(spool, self._summary_call(s, profile, parts[0], None),
                                functools.partial(custom_id, s.id), expected, s.path, s)
                items[it.cid] = it

            def accept(it: _Item, data: dict[str, Any]) -> None:
                assert it.source is not None
                done[it.source.id] = self.finish_summary(it.source, profile, data, on_summary)

            store = BatchStore(cache_db(self.settings.run.out))
            try:
                async with self._session() as client:
                    live = [self._summarize_one(client, s, parts, profile, on_summary) for s, parts in long_ones]
                    results = await asyncio.gather(self._summaries_batched(client, store, items, profile, on_summary,
                                                                           done, accept),
                                                   *live, return_exceptions=True)
            finally:
                store.close()
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if isinstance(e, BriefingError)), errors[0])
        done.update({r.source_id: r for r in results[1:] if isinstance(r, SourceSummary)})
        return [done[s.id] for s in sources if s.id in done]

    async def _summaries_batched(self, client: openai.AsyncOpenAI, store: BatchStore, items: dict[str, _Item],
                                 profile: Profile, on_summary: OnSummary | None, done: dict[int, SourceSummary],
                                 accept: Callable[[_Item, dict[str, Any]], None]) -> None:
        """The summaries through batches; those the batch could not answer are summarized live."""
        retry = await self._batched(client, store, items, accept)
        if not retry:
            return
        self.live_retries += [it.source.id for it in retry if it.source is not None]
        self.warnings.append(f"batch: {len(retry)} summary request(s) failed in the batch and were sent live: "
                             + ", ".join(f"[{it.source.id}]" for it in retry[:20] if it.source is not None)
                             + (", ..." if len(retry) > 20 else ""))
        token = _LIVE.set(True)  # also with `--batch all`: what failed in the batch is not batched again
        try:
            results = await asyncio.gather(*[self._summarize_one(client, it.source, [it.call.variables["article"]],
                                                                 profile, on_summary)
                                             for it in retry if it.source is not None], return_exceptions=True)
        finally:
            _LIVE.reset(token)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if isinstance(e, BriefingError)), errors[0])
        done.update({r.source_id: r for r in results if isinstance(r, SourceSummary)})

    async def _batched(self, client: openai.AsyncOpenAI, store: BatchStore, items: dict[str, _Item],
                       accept: Callable[[_Item, dict[str, Any]], None]) -> list[_Item]:
        """Submit (or pick up) batches until every item has an answer (given to `accept`); returns the items whose
        batch line failed, to be sent live."""
        todo = dict(items)
        retry: list[_Item] = []
        while todo:
            by_batch: dict[str, list[str]] = {}
            fresh: list[_Item] = []
            for cid, it in todo.items():
                bid = store.covering(cid, self._endpoint())
                if bid is not None:
                    by_batch.setdefault(bid, []).append(cid)
                elif store.submissions(cid) >= MAX_SUBMISSIONS:
                    retry.append(it)
                else:
                    fresh.append(it)
            self.resumed += [b for b in by_batch if b not in self.submitted and b not in self.resumed]
            for group in split(fresh, self.max_requests, self.max_bytes):
                bid = await self._submit(client, store, group)
                by_batch.setdefault(bid, []).extend(it.cid for it in group)
            for it in retry:
                todo.pop(it.cid, None)
            if not by_batch:
                break
            outcomes = await asyncio.gather(*[self._poll(client, store, bid, len(cids))
                                              for bid, cids in by_batch.items()])
            for cids, batch in zip(by_batch.values(), outcomes, strict=True):
                if batch is None:  # lost: what it covered stays in todo and goes into a new batch
                    continue
                answered = await self._collect(client, store, batch, {c: todo[c] for c in cids if c in todo},
                                               accept, retry)
                for cid in answered:
                    todo.pop(cid, None)
                if batch.status == "failed":  # rejected as a whole (e.g. validation): resubmitting will not help
                    errors = _field(_field(batch, "errors"), "data") or []
                    why = "; ".join(_one_line(_field(e, "message"), 120) for e in errors[:3]) or "no reason given"
                    self.warnings.append(f"batch: {batch.id} failed on the server ({why}); its requests are sent live")
                    retry += [todo.pop(c) for c in cids if c in todo]
                elif batch.status == "completed":  # a request the output and error files both left out
                    retry += [todo.pop(c) for c in cids if c in todo]
                # expired / cancelled: what is missing stays in todo and goes into a new batch
        return retry

    # ----- submitting, without ever paying twice -----------------------------------------------------------

    async def _remote_batches(self, client: openai.AsyncOpenAI) -> dict[str, Any]:
        """The account's recent batches that may still answer, by the fingerprint in their metadata (listed once a
        run; a server without batches.list gives none)."""
        if self._remote is None:
            self._remote = {}
            since = time.time() - LOOKBACK
            seen = 0
            try:
                async for b in client.batches.list(limit=100):
                    seen += 1
                    if seen > LOOKUP_LIMIT or (b.created_at or 0) < since:
                        break
                    fp = (b.metadata or {}).get("fingerprint")
                    if fp and b.status not in DEAD and b.endpoint in (ENDPOINT, "/chat/completions"):
                        self._remote.setdefault(fp, b)  # newest first
            except Exception as e:  # noqa: BLE001 - an older or partial server: no lookup, the record still counts
                self.warnings.append(f"batch: could not list the server's batches ({_one_line(e, 100)}); a batch "
                                     "an interrupted run created but did not record cannot be found")
        return self._remote

    async def _uploaded(self, client: openai.AsyncOpenAI, name: str, size: int) -> str | None:
        """An earlier upload of exactly this JSONL (its name carries the fingerprint) no batch was made from."""
        since = time.time() - LOOKBACK
        seen = 0
        try:
            async for f in client.files.list(purpose="batch", limit=100):
                seen += 1
                if seen > LOOKUP_LIMIT or (f.created_at or 0) < since:
                    break
                if f.filename == name and f.bytes == size and getattr(f, "status", None) != "error":
                    return str(f.id)
        except Exception:  # noqa: BLE001 - no listing: upload again (only the upload is repeated, not the batch)
            return None
        return None

    async def _submit(self, client: openai.AsyncOpenAI, store: BatchStore, group: list[_Item]) -> str:
        """Find, or upload and create, the batch of a group; recorded before anything else can happen to the run.

        A run killed between `batches.create` returning and the record being written left a batch the record does
        not know: its metadata carries the group's fingerprint, so the rerun finds it instead of paying twice; and an
        upload without a batch is found by its file name and used instead of uploading again.
        """
        llm = self.settings.llm
        est = self._batch_cost(sum(it.prompt_tokens for it in group), sum(it.expected for it in group))
        cids = [it.cid for it in group]
        fp = fingerprint(cids)
        pairs = [(it.cid, it.label) for it in group]
        found = (await self._remote_batches(client)).get(fp)
        if found is not None:
            store.record(found.id, found.status, self.model, self._endpoint(), found.input_file_id, pairs, fp, est,
                         float(found.created_at or time.time()))
            self.found.append(found.id)
            self.resumed.append(found.id)
            return str(found.id)
        if llm.max_cost is not None and self.usage.cost_usd + est > llm.max_cost:
            raise BudgetExceededError(
                f"stopped before submitting a batch of {len(group)} requests: ${self.usage.cost_usd:.4f} spent, "
                f"the batch is estimated at ${est:.4f}, over --max-cost ${llm.max_cost:.4f}")
        name = upload_name(fp)
        try:
            with tempfile.TemporaryFile() as data:  # streamed to the server from disk, never whole in memory
                for it in group:
                    it.spool.seek(it.offset)
                    data.write(it.spool.read(it.size))
                size = data.tell()
                file_id = await self._uploaded(client, name, size)
                if file_id is not None:
                    self.reused_files.append(file_id)
                else:
                    data.seek(0)
                    file_id = (await client.files.create(file=(name, data, "application/jsonl"), purpose="batch")).id
            batch = await client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions",
                                                completion_window="24h", metadata={
                                                    "tool": "briefing", "fingerprint": fp,
                                                    "requests": str(len(group))})
        except Exception as e:  # noqa: BLE001 - mapped to one clear line
            raise self._fatal(e, "submitting a batch") from None
        store.record(batch.id, batch.status, self.model, self._endpoint(), file_id, pairs, fp, est)
        self.submitted.append(batch.id)
        return str(batch.id)

    def _endpoint(self) -> str:
        return self.settings.llm.base_url or "https://api.openai.com/v1"

    def _fatal(self, e: Exception, what: str) -> Exception:
        """One clear line for a failed Batch API request."""
        err = self._classify(e, f"batch: {what}")
        if isinstance(err, _Retryable):
            return EngineError(f"batch: {what} failed: {err.reason}")
        status = getattr(e, "status_code", None)
        if status is not None and status not in (401, 403):
            return EngineError(f"batch: {what} failed ({status}): {_one_line(getattr(e, 'message', e))}")
        return err

    # ----- waiting --------------------------------------------------------------------------------------------

    async def _poll(self, client: openai.AsyncOpenAI, store: BatchStore, batch_id: str, submitted: int) -> Any:
        """Poll a batch until it ends, waiting longer between checks (batch_poll, x1.5, up to batch_poll_max);
        each check is told to `on_batch` (the progress line). Time during which any batch is being waited on is
        added to `server_wait`."""
        if self._waiting == 0:
            self._wait_since = time.monotonic()
        self._waiting += 1
        try:
            return await self._poll_one(client, store, batch_id, submitted)
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self.server_wait += time.monotonic() - self._wait_since

    async def _poll_one(self, client: openai.AsyncOpenAI, store: BatchStore, batch_id: str, submitted: int) -> Any:
        llm = self.settings.llm
        wait = llm.batch_poll
        failures = 0
        created = time.time()
        while True:
            try:
                batch = await client.batches.retrieve(batch_id)
                failures = 0
            except Exception as e:  # noqa: BLE001 - transient errors are retried, others end the run
                if getattr(e, "status_code", None) == 404:  # the server lost it (or another endpoint): resubmit
                    store.update(batch_id, LOST)
                    self.warnings.append(f"batch: {batch_id} is unknown to the server; its requests were "
                                         "submitted again")
                    return None
                err = self._classify(e, f"batch {batch_id}")
                failures += 1
                if not isinstance(err, _Retryable) or failures >= max(1, self.retry.attempts):
                    raise self._fatal(e, f"checking batch {batch_id}") from None
                batch = None
            if batch is not None:
                done, failed, total = _counts(batch, submitted)
                store.update(batch_id, batch.status, batch.output_file_id, batch.error_file_id, (done, failed))
                created = float(batch.created_at or created)
                if self.on_batch is not None:
                    self.on_batch({"id": batch_id, "status": batch.status, "completed": done, "failed": failed,
                                   "total": total, "elapsed": max(0.0, time.time() - created),
                                   "next_check": None if batch.status in TERMINAL else wait})
                if batch.status in TERMINAL:
                    return batch
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, llm.batch_poll_max)

    # ----- answers ----------------------------------------------------------------------------------------------

    async def _rows(self, client: openai.AsyncOpenAI, file_id: str | None) -> AsyncIterator[dict[str, Any]]:
        """The JSON lines of a result file, streamed (a 200 MB output is never held whole)."""
        if not file_id:
            return
        try:
            async with client.files.with_streaming_response.content(file_id) as resp:
                async for line in resp.iter_lines():
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue  # a damaged line: its request is retried live
                    if isinstance(row, dict):
                        yield row
        except Exception as e:  # noqa: BLE001
            raise self._fatal(e, f"downloading file {file_id}") from None

    async def _collect(self, client: openai.AsyncOpenAI, store: BatchStore, batch: Any, waiting: dict[str, _Item],
                       accept: Callable[[_Item, dict[str, Any]], None], retry: list[_Item]) -> set[str]:
        """Parse a finished batch's answers for the waiting items; failed lines go to `retry`. Returns the ids
        answered or sent to retry. The batch's recorded cost is every answer's usage at the batch price."""
        handled: set[str] = set()
        spent = [0, 0]
        for file_id in (batch.output_file_id, batch.error_file_id):
            async for row in self._rows(client, file_id):
                usage = self._usage(row)
                spent[0] += usage[0]
                spent[1] += usage[1]
                cid = row.get("custom_id")
                it = waiting.get(cid) if isinstance(cid, str) else None
                if it is None or cid in handled:
                    continue
                handled.add(str(cid))
                data = self._answer(it, row)
                if data is None:
                    retry.append(it)
                else:
                    accept(it, data)
        if spent[0] or spent[1]:
            store.set_cost(batch.id, spent[0], spent[1], self._batch_cost(spent[0], spent[1]))
        return handled

    @staticmethod
    def _usage(row: dict[str, Any]) -> tuple[int, int]:
        """(prompt, completion) tokens a result line reports (0, 0 for an error line)."""
        resp = row.get("response")
        body = resp.get("body") if isinstance(resp, dict) else None
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            return 0, 0
        pt, ct = usage.get("prompt_tokens"), usage.get("completion_tokens")
        return (pt if isinstance(pt, int) and _plausible_usage(pt) else 0), \
            (ct if isinstance(ct, int) and _plausible_usage(ct) else 0)

    def _answer(self, it: _Item, row: dict[str, Any]) -> dict[str, Any] | None:
        """A result line's parsed JSON, checked like a live answer; None when it must be retried live."""
        resp = row.get("response") if isinstance(row.get("response"), dict) else None
        body = resp.get("body") if resp and resp.get("status_code") == 200 else None
        if row.get("error") or not isinstance(body, dict):
            return None
        choices = body.get("choices") or []
        msg = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
        if not isinstance(msg, dict) or msg.get("refusal") or not msg.get("content"):
            return None
        content = str(msg["content"])
        pt, ct = self._usage(row)
        pt = pt or it.prompt_tokens
        self.usage.add(Usage(1, pt, ct, self._batch_cost(pt, ct), batch_requests=1))
        sha = hashlib.sha256(content.encode()).hexdigest()
        if len(content) > self._answer_limit():
            self._log(it.call, sha, 1, f"batch: answer too large ({len(content)} characters), retried live", 0.0,
                      pt, ct)
            return None
        try:
            data = parse.parse_json(content, expect=list(parse.SCHEMAS[it.call.schema]["required"]))
            problems = parse.validate(data, it.call.schema)
            if problems:
                raise parse.ParseError("answer does not match the schema: " + "; ".join(problems[:3]))
        except parse.ParseError:
            self._log(it.call, sha, 1, "batch: invalid JSON, retried live", 0.0, pt, ct)
            return None
        dropped = parse.cap_items(data)
        if dropped:
            self.warnings.append(f"{it.call.label}: answer had {dropped} item(s) over the {parse.MAX_ITEMS}-per-list "
                                 "cap; dropped")
        self._log(it.call, sha, 1, "ok (batch)", 0.0, pt, ct)
        return data


def list_batches(out: str | Path) -> list[dict[str, Any]]:
    """The batches recorded under an output root, newest first (no network)."""
    path = cache_db(out)
    if not path.exists():
        return []
    store = BatchStore(path)
    try:
        return store.batches()
    finally:
        store.close()


def refresh_batches(engine: LLMEngine, rows: list[dict[str, Any]]) -> str | None:
    """Ask the server for the status of the recorded batches that had not ended (at the configured endpoint only:
    the key is never sent to another); updates `rows` and the record. Returns why it could not, or None."""
    endpoint = engine.settings.llm.base_url or "https://api.openai.com/v1"
    pending = [r for r in rows if r["status"] not in TERMINAL and r["status"] != LOST and r["base_url"] == endpoint]
    if not pending:
        return None

    async def go() -> list[Any]:
        async with engine._session() as client:
            return list(await asyncio.gather(*[client.batches.retrieve(r["id"]) for r in pending],
                                             return_exceptions=True))

    try:
        got = engine._run(go)
    except BriefingError as e:  # e.g. no endpoint or key configured
        return str(e)
    store = BatchStore(cache_db(engine.settings.run.out))
    problem = None
    try:
        for row, b in zip(pending, got, strict=True):
            if isinstance(b, BaseException):
                if not isinstance(b, Exception):
                    raise b
                if getattr(b, "status_code", None) == 404:
                    row["status"] = LOST
                    store.update(row["id"], LOST)
                else:
                    problem = problem or _one_line(getattr(engine._classify(b, "batches"), "reason", None) or b, 120)
                continue
            done, failed, _ = _counts(b, row["requests"])
            row.update(status=b.status, completed=done, failed=failed)
            store.update(row["id"], b.status, b.output_file_id, b.error_file_id, (done, failed))
    finally:
        store.close()
    return problem


def cancel_batch(engine: LLMEngine, batch_id: str) -> str:
    """Ask the server to cancel a batch; returns its new status (also recorded under the output root)."""
    async def go() -> str:
        async with engine._session() as client:
            try:
                batch = await client.batches.cancel(batch_id)
            except Exception as e:  # noqa: BLE001
                err = engine._classify(e, f"batch {batch_id}")
                raise EngineError(f"cancelling batch {batch_id} failed: {getattr(err, 'reason', err)}") from None
        return str(batch.status)

    status = engine._run(go)
    store = BatchStore(cache_db(engine.settings.run.out))
    try:
        store.update(batch_id, status)
    finally:
        store.close()
    return status
