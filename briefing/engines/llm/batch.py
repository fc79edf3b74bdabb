"""Per-source summaries through the Batch API: JSONL upload, batch create, polling, answers by custom_id; resumable."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from briefing.engines.base import OnSummary
from briefing.engines.llm import parse, pricing
from briefing.engines.llm.engine import LLMEngine, _Call, _one_line, _Retryable
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
        self.db.execute("CREATE TABLE IF NOT EXISTS batch_requests (custom_id TEXT, batch_id TEXT, source TEXT, "
                        "PRIMARY KEY (custom_id, batch_id))")

    def record(self, batch_id: str, status: str, model: str, base_url: str, input_file_id: str,
               items: list[tuple[str, str]]) -> None:
        """A new batch and the (custom_id, source label) pairs it covers, in one transaction."""
        now = time.time()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                                (batch_id, status, now, len(items), model, base_url, input_file_id, now))
                self.db.executemany("INSERT OR REPLACE INTO batch_requests VALUES (?, ?, ?)",
                                    [(cid, batch_id, label) for cid, label in items])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def update(self, batch_id: str, status: str, output_file_id: str | None = None,
               error_file_id: str | None = None) -> None:
        """The batch's last known status (and result files)."""
        with self.lock:
            self.db.execute("UPDATE batches SET status = ?, output_file_id = COALESCE(?, output_file_id), "
                            "error_file_id = COALESCE(?, error_file_id), updated = ? WHERE id = ?",
                            (status, output_file_id, error_file_id, time.time(), batch_id))

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
            cur = self.db.execute("SELECT id, status, requests, created, model, updated FROM batches "
                                  "ORDER BY created DESC")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        """Close the database."""
        self.db.close()


@dataclass
class _Item:
    """One summary request of the batch."""

    source: Source
    call: _Call
    body: dict[str, Any]
    prompt_tokens: int
    line: bytes  # the JSONL line uploaded


def custom_id(source_id: int, body: dict[str, Any]) -> str:
    """A request's id: its source and a digest of the exact body, so a rerun finds the batch that has its answer."""
    h = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"s{source_id}-{h[:32]}"


def split(items: list[_Item], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES) -> Iterator[list[_Item]]:
    """Groups of items within the API's per-batch request count and per-file size."""
    group: list[_Item] = []
    size = 0
    for it in items:
        if group and (len(group) >= max_requests or size + len(it.line) > max_bytes):
            yield group
            group, size = [], 0
        group.append(it)
        size += len(it.line)
    if group:
        yield group


def _content(resp: Any) -> bytes:
    """Bytes of a files.content response (HttpxBinaryResponseContent in the SDK)."""
    data = getattr(resp, "content", resp)
    return data if isinstance(data, bytes) else str(data).encode()


class BatchLLMEngine(LLMEngine):
    """The LLM engine with its per-source summaries sent through the Batch API; the synthesis (and the map-reduce
    of articles too long for one request) runs live, like everything retried after a failed line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_requests, self.max_bytes = MAX_REQUESTS, MAX_BYTES
        self.submitted: list[str] = []  # batch ids this run created
        self.resumed: list[str] = []  # batch ids this run picked up from an earlier run
        self.live_retries: list[int] = []  # source ids whose batch answer failed and which were summarized live

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
        est["stages"] = stages
        est["cost_usd"] = round(sum(st["cost_usd"] for st in stages.values()), 6)
        est["batch"] = True
        return est

    def _batch_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return pricing.cost(self.model, prompt_tokens, completion_tokens, self.settings.llm.prices) * PRICE_FACTOR

    # ----- summaries ---------------------------------------------------------------------------------------

    async def asummarize(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                         on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """Summaries of articles that fit one request through the Batch API, the rest live; in source order."""
        self._profile = profile
        budget = self.chunk_budget()
        items: dict[str, _Item] = {}
        long_ones: list[tuple[Source, list[str]]] = []
        for s in sources:
            parts = self._parts(s, chunks, budget)
            if len(parts) != 1:
                long_ones.append((s, parts))
                continue
            call = self._summary_call(s, profile, parts[0], None)
            system, user = self._render(call)
            body = self.request_body(call, system, user)
            cid = custom_id(s.id, body)
            line = json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": body},
                              ensure_ascii=False).encode() + b"\n"
            items[cid] = _Item(s, call, body, self._prompt_tokens(system, user), line)
        done: dict[int, SourceSummary] = {}
        store = BatchStore(cache_db(self.settings.run.out))
        try:
            async with self._session() as client:
                live = [self._summarize_one(client, s, parts, profile, on_summary) for s, parts in long_ones]
                results = await asyncio.gather(self._batched(client, store, items, profile, on_summary, done),
                                               *live, return_exceptions=True)
        finally:
            store.close()
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if isinstance(e, BriefingError)), errors[0])
        done.update({r.source_id: r for r in results[1:] if isinstance(r, SourceSummary)})
        return [done[s.id] for s in sources if s.id in done]

    async def _batched(self, client: openai.AsyncOpenAI, store: BatchStore, items: dict[str, _Item],
                       profile: Profile, on_summary: OnSummary | None, done: dict[int, SourceSummary]) -> None:
        """Submit (or pick up) batches until every item has an answer; failed lines are retried live."""
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
                by_batch[bid] = [custom_id(it.source.id, it.body) for it in group]
            for it in retry:
                todo.pop(custom_id(it.source.id, it.body), None)
            if not by_batch:
                break
            outcomes = await asyncio.gather(*[self._poll(client, store, bid) for bid in by_batch])
            for cids, batch in zip(by_batch.values(), outcomes, strict=True):
                if batch is None:  # lost: what it covered stays in todo and goes into a new batch
                    continue
                answered = await self._collect(client, batch, {c: todo[c] for c in cids if c in todo}, profile,
                                               on_summary, done, retry)
                for cid in answered:
                    todo.pop(cid, None)
                if batch.status == "failed":  # rejected as a whole (e.g. validation): resubmitting will not help
                    retry += [todo.pop(c) for c in cids if c in todo]
                elif batch.status == "completed":  # a request the output and error files both left out
                    retry += [todo.pop(c) for c in cids if c in todo]
                # expired / cancelled: what is missing stays in todo and goes into a new batch
        if retry:
            self.live_retries += [it.source.id for it in retry]
            self.warnings.append(f"batch: {len(retry)} summary request(s) failed in the batch and were sent live: "
                                 + ", ".join(f"[{it.source.id}]" for it in retry[:20])
                                 + (", ..." if len(retry) > 20 else ""))
            results = await asyncio.gather(*[self._summarize_one(client, it.source, [it.call.variables["article"]],
                                                                 profile, on_summary) for it in retry],
                                           return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                raise next((e for e in errors if isinstance(e, BriefingError)), errors[0])
            done.update({r.source_id: r for r in results if isinstance(r, SourceSummary)})

    async def _submit(self, client: openai.AsyncOpenAI, store: BatchStore, group: list[_Item]) -> str:
        """Upload one JSONL file and create its batch; recorded before anything else can happen to the run."""
        llm = self.settings.llm
        if llm.max_cost is not None:
            est = self._batch_cost(sum(it.prompt_tokens for it in group), sum(
                self._expected_completion("summarize", it.source.tokens) for it in group))
            if self.usage.cost_usd + est > llm.max_cost:
                raise BudgetExceededError(
                    f"stopped before submitting a batch of {len(group)} summaries: ${self.usage.cost_usd:.4f} spent, "
                    f"the batch is estimated at ${est:.4f}, over --max-cost ${llm.max_cost:.4f}")
        data = b"".join(it.line for it in group)
        try:
            f = await client.files.create(file=("briefing-batch.jsonl", data, "application/jsonl"), purpose="batch")
            batch = await client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                                completion_window="24h",
                                                metadata={"tool": "briefing", "requests": str(len(group))})
        except Exception as e:  # noqa: BLE001 - mapped to one clear line
            raise self._fatal(e, "submitting a batch") from None
        store.record(batch.id, batch.status, self.model, self._endpoint(), f.id,
                     [(custom_id(it.source.id, it.body), it.source.path) for it in group])
        self.submitted.append(batch.id)
        return batch.id

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

    async def _poll(self, client: openai.AsyncOpenAI, store: BatchStore, batch_id: str) -> Any:
        """Poll a batch until it ends, waiting longer between checks (batch_poll, x1.5, up to batch_poll_max)."""
        llm = self.settings.llm
        wait = llm.batch_poll
        failures = 0
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
                store.update(batch_id, batch.status, batch.output_file_id, batch.error_file_id)
                if batch.status in TERMINAL:
                    return batch
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, llm.batch_poll_max)

    async def _download(self, client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        try:
            raw = _content(await client.files.content(file_id))
        except Exception as e:  # noqa: BLE001
            raise self._fatal(e, f"downloading file {file_id}") from None
        out = []
        for line in raw.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a damaged line: its request is retried live
            if isinstance(row, dict):
                out.append(row)
        return out

    async def _collect(self, client: openai.AsyncOpenAI, batch: Any, waiting: dict[str, _Item], profile: Profile,
                       on_summary: OnSummary | None, done: dict[int, SourceSummary], retry: list[_Item]) -> set[str]:
        """Parse a finished batch's answers for the waiting items; failed lines go to `retry`. Returns the ids
        answered or sent to retry."""
        handled: set[str] = set()
        rows = await self._download(client, batch.output_file_id) + await self._download(client, batch.error_file_id)
        for row in rows:
            cid = row.get("custom_id")
            it = waiting.get(cid) if isinstance(cid, str) else None
            if it is None or cid in handled:
                continue
            handled.add(str(cid))
            summary = self._answer(it, row, profile, on_summary)
            if summary is None:
                retry.append(it)
            else:
                done[it.source.id] = summary
        return handled

    def _answer(self, it: _Item, row: dict[str, Any], profile: Profile,
                on_summary: OnSummary | None) -> SourceSummary | None:
        """A result line to a summary, parsed and checked like a live answer; None when it must be retried live."""
        resp = row.get("response") if isinstance(row.get("response"), dict) else None
        body = resp.get("body") if resp and resp.get("status_code") == 200 else None
        if row.get("error") or not isinstance(body, dict):
            return None
        choices = body.get("choices") or []
        msg = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
        if not isinstance(msg, dict) or msg.get("refusal") or not msg.get("content"):
            return None
        content = str(msg["content"])
        usage = body.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        pt = int(usage.get("prompt_tokens") or it.prompt_tokens)
        ct = int(usage.get("completion_tokens") or 0)
        self.usage.add(Usage(1, pt, ct, self._batch_cost(pt, ct), batch_requests=1))
        sha = hashlib.sha256("\n\n".join(m["content"] for m in it.body["messages"]).encode()).hexdigest()
        try:
            data = parse.parse_json(content, expect=list(parse.SCHEMAS[it.call.schema]["required"]))
        except parse.ParseError:
            self._log(it.call, sha, 1, "batch: invalid JSON, retried live", 0.0, pt, ct)
            return None
        self._log(it.call, sha, 1, "ok (batch)", 0.0, pt, ct)
        return self.finish_summary(it.source, profile, data, on_summary)


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
