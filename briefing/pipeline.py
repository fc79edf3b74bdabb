"""Orchestrates the stages: ingest -> clean -> chunk -> summarize -> synthesize -> verify -> render -> write."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from briefing.cache import Cache
from briefing.chunk import chunk_text
from briefing.config import Settings
from briefing.engines import Engine, make_engine
from briefing.engines.base import check_cost
from briefing.errors import BriefingError, ConfigError, NoUsableSourcesError
from briefing.ingest.ahead import CleanAhead
from briefing.ingest.sources import load_raw, redact_url
from briefing.messages import load as load_messages
from briefing.models import Chunk, Claim, RawDoc, Source, Synthesis
from briefing.redact import redact
from briefing.store import changes_since, log_run, previous_brief, run_lock, write_run
from briefing.summarize import summarize_sources
from briefing.synthesize import flatten, synthesize
from briefing.templates import preload, search_path
from briefing.tokens import encoding

if TYPE_CHECKING:
    from briefing.render import BriefJson
    from briefing.verify.judge import JudgeReport

# The stages after the synthesis (verify, render, export) are imported when first needed: on a model run, while the
# model writes the top of the brief (warm_up), so their import is not on the way to the first request.

Say = Callable[[str], None]


def warm_up(dirs: list[Path], formats: list[str]) -> None:
    """Import the verify, render and export stages and compile the brief templates ahead of use (a model run does it
    while it waits on the model's last answer)."""
    from briefing.export import EXPORT_FORMATS
    from briefing.export.html import HTML_TEMPLATE
    from briefing.render import BRIEF_TEMPLATE

    preload(dirs, BRIEF_TEMPLATE, *([HTML_TEMPLATE] if any(f in EXPORT_FORMATS for f in formats) else []))


def _quiet(_: str) -> None:
    return None


@dataclass
class Reporter:
    """Where the pipeline tells the user what it is doing (the CLI prints these to stderr)."""

    info: Say = _quiet
    warn: Say = _quiet
    # a live display (the CLI's rich bar on a terminal): told of every item as (stage, done, total, figures);
    # without one, progress goes to `info` as a few readable lines
    progress: Callable[[str, int, int, dict[str, Any]], None] | None = None


@dataclass
class RunResult:
    """What a run produced."""

    brief_md: Path
    brief_json: Path
    run_dir: Path
    engine: str
    data: BriefJson


class StageProgress:
    """Progress of a stage in readable lines: the first and last item, then one line per 10% or every 5 s at most,
    with elapsed time, ETA, tokens and dollars so far (never one line per item on long runs)."""

    def __init__(self, verb: str, report: Reporter, engine: Engine, every: float = 5.0) -> None:
        self.verb, self.report, self.engine, self.every = verb, report, engine, every
        self.t0 = time.monotonic()
        self.last_time, self.last_tenth = self.t0, -1

    def __call__(self, k: int, n: int, src: Source) -> None:
        now = time.monotonic()
        if self.report.progress is not None:
            u = self.engine.usage
            self.report.progress(self.verb, k, n, {"in_flight": self.engine.in_flight, "cost_usd": u.cost_usd,
                                                   "tokens": u.prompt_tokens + u.completion_tokens})
            return
        tenth = k * 10 // max(1, n)
        if not (k in (1, n) or tenth > self.last_tenth or now - self.last_time >= self.every):
            return
        self.last_time, self.last_tenth = now, tenth
        elapsed = now - self.t0
        eta = f", ETA {elapsed / k * (n - k):.0f}s" if 0 < k < n else ""
        usage = self.engine.usage
        spent = f", {usage.prompt_tokens + usage.completion_tokens:,} tokens, ${usage.cost_usd:.4f}"
        last = f" (last: [{src.id}] {src.path})" if n <= 10 else ""
        self.report.info(f"{self.verb} {k}/{n}, {elapsed:.1f}s elapsed{eta}{spent}{last}")


def duration(seconds: float) -> str:
    """A short readable duration: 42s, 3m05s, 2h14m."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class BatchProgress:
    """Progress of a Batch API batch while the run waits for it (the engine's `on_batch`): answered/failed/total from
    the batch's request counts, time since it was submitted, and when it is checked next. On a terminal the live bar;
    otherwise a line on the first and last check and at most one every `every` seconds in between."""

    def __init__(self, report: Reporter, every: float = 5.0) -> None:
        self.report, self.every = report, every
        self.last: dict[str, float] = {}

    def __call__(self, st: dict[str, Any]) -> None:
        bid, status, failed = st["id"], st["status"], st["failed"]
        done = st["completed"] + failed
        total = max(st["total"], done)
        nxt = st.get("next_check")
        first = bid not in self.last
        now = time.monotonic()
        if first:
            self.last[bid] = now
        if first and nxt is not None:
            self.report.info(f"waiting for batch {bid} ({total} requests; the server answers within 24 h); "
                             "interrupting is safe: the same command picks the batch up again")
        if self.report.progress is not None:
            detail = f"{status} · {failed} failed" + (f" · next check in {duration(nxt)}" if nxt is not None else "")
            self.report.progress(f"batch {bid}", done, max(total, 1), {"detail": detail, "open": nxt is not None})
            return
        if not (first or nxt is None or now - self.last[bid] >= self.every):
            return
        self.last[bid] = now
        self.report.info(f"batch {bid}: {status}, {done}/{total} answered ({failed} failed), "
                         f"{duration(st['elapsed'])} since submitted"
                         + (f", next check in {duration(nxt)}" if nxt is not None else ""))


def merge_identical(raws: list[RawDoc]) -> tuple[list[RawDoc], list[str]]:
    """Byte-identical inputs (same sha256) become one source, the first given; one note per merged copy."""
    first: dict[str, str] = {}
    kept, notes = [], []
    for raw in raws:
        if raw.sha256 in first:
            notes.append(f"{raw.path}: byte-identical to {first[raw.sha256]}, merged into one source")
            continue
        first[raw.sha256] = raw.path
        kept.append(raw)
    return kept, notes


class SourceStream:
    """The run's sources, cleaned as they are iterated: each comes with its run-wide id (1..n, in input order) as soon
    as it is cleaned, so a model run sends its summary request while the next one is cleaned. Files are read when
    the stream is made. Once the iteration has ended, `sources` holds them all with their same-event groups
    (near_duplicate, same_event_as: these need every source) and `warnings` says which files were skipped."""

    def __init__(self, paths: list[str], settings: Settings, report: Reporter, ahead: bool = False) -> None:
        self.paths, self.report = paths, report
        raws, self.warnings = load_raw(paths, max_bytes=int(settings.run.max_file_mb * 1024 * 1024),
                                       cache_dir=Path(settings.run.out) / ".cache", feed_limit=settings.run.feed_limit,
                                       since=settings.run.since, exclude=[settings.run.out])
        self.raws, merged = merge_identical(raws)
        self.warnings.extend(merged)
        for w in self.warnings:
            report.warn(w)
        self.sources: list[Source] = []
        self.seconds = 0.0  # spent cleaning (the iteration's own time)
        self._started = False
        # ahead: the cleaning starts now, in a second process when there is a free core (ingest.ahead), so the
        # caller's next steps (the model client's imports) overlap it
        self._ahead = CleanAhead(self.raws) if ahead else None

    def close(self) -> None:
        """Stop cleaning ahead (a run that fails before it has read the stream)."""
        if self._ahead is not None:
            self._ahead.close()

    def read(self) -> list[Source]:
        """Clean every source now (when all are needed before any request); returns them."""
        for _ in self:
            pass
        return self.sources

    def _warn(self, msg: str) -> None:
        self.warnings.append(msg)
        self.report.warn(msg)

    def __iter__(self) -> Iterator[Source]:
        if self._started:
            raise RuntimeError("a SourceStream is read once")
        self._started = True
        t = time.perf_counter()
        self.report.info(f"cleaning {len(self.raws)} file(s)")
        docs, kept = [], []
        cleaned = self._ahead or CleanAhead(self.raws, fork=False)
        for doc, tokens, spans in cleaned:
            docs.append(doc)
            if len(docs) == 1 and "cross_file_check_failed" in doc.flags:
                self._warn("the check for boilerplate repeated across files failed; each file was cleaned on its own")
            if "cleaner_failed" in doc.flags:
                self._warn(f"{doc.path}: the cleaner failed on this file; its text is used as is")
            if not doc.text.strip():
                self._warn(f"{doc.path}: no article text left after cleaning, skipped")
                continue
            src = Source.from_doc(len(self.sources) + 1, doc, tokens)
            if spans is not None:  # segmented by the cleaning process: not again here, on the way to the request
                src.use_sentences(spans)
            kept.append(doc)
            self.sources.append(src)
            self.seconds += time.perf_counter() - t
            yield src
            t = time.perf_counter()
        from briefing.ingest.dedup import mark_duplicates  # (numpy) imported once the last source is out

        encoding()  # and the tokenizer loaded (a model run: while it waits for the summaries; the synthesis needs it)

        try:
            mark_duplicates(docs)
        except Exception as e:  # noqa: BLE001 - grouping is an extra; never lose the batch over it, but say so
            self._warn(f"grouping near-duplicate reports failed ({type(e).__name__}); each report counts as "
                       "independent")
        index_of = {id(d): i for i, d in enumerate(docs)}
        id_of = {index_of[id(d)]: src.id for d, src in zip(kept, self.sources, strict=True)}
        for doc, src in zip(kept, self.sources, strict=True):
            src.same_event_as = sorted(id_of[i] for i in doc.duplicates if i in id_of)
            src.flags += [f for f in doc.flags if f not in src.flags]  # near_duplicate
        self.seconds += time.perf_counter() - t
        if not self.sources:
            raise NoUsableSourcesError("no usable articles in " + redact_url(", ".join(self.paths)) + (
                f" ({len(self.warnings)} skipped)" if self.warnings else ""))


def load_sources(paths: list[str], settings: Settings, report: Reporter) -> tuple[list[Source], list[str]]:
    """Ingest and clean; returns sources with run-wide ids (1..n, in input order) and warnings for skipped files."""
    stream = SourceStream(paths, settings, report)
    return stream.read(), stream.warnings


def make_chunks(sources: list[Source], budget: int) -> dict[int, list[Chunk]]:
    """Token-budgeted chunks per source id."""
    return {s.id: chunk_text(s.text, budget, source_id=s.id) for s in sources}


def _judge(settings: Settings, engine: Engine, claims: list[Claim], sources: dict[int, Source], out_root: Path,
           report: Reporter) -> JudgeReport | None:
    """Run the model judge when asked for and the engine has one; its failure keeps the deterministic verdicts."""
    if not settings.verify.judge:
        return None
    from briefing.verify.judge import judge_claims

    if engine.offline:
        report.info(f"model judge skipped: the {engine.name} engine has no model to ask")
        return None
    report.info("model judge: checking the verified claims against their cited sentences")
    with Cache(out_root / ".cache" / "cache.sqlite") as cache:
        judged = judge_claims(engine, claims, sources, cache, engine.cache_identity("judge"))
    if judged.error:
        report.warn(f"model judge failed, the deterministic verdicts stand: {judged.error}")
    elif judged.judged:
        report.info(f"model judge: {judged.judged} claim(s) judged ({judged.cached} from the cache), "
                    f"{judged.flagged} not supported, {judged.partly} partly supported"
                    + (f"; no verdict for {judged.missing}" if judged.missing else ""))
    return judged


def _contribution_warnings(sources: list[Source], claims: list[Claim]) -> list[str]:
    """One warning per source that no statement of the brief cites, and one if the brief says nothing at all: an
    article that decoded and cleaned into text the engines cannot use must not pass as a quiet, empty brief."""
    cited = {i for c in claims for i in c.source_ids}
    out = [f"[{s.id}] {s.path}: nothing from this source made it into the brief (language: {s.language or 'unknown'}, "
           f"{len(s.text.split())} words after cleaning); check it with `briefing clean`"
           for s in sources if s.id not in cited]
    if not claims:
        out.append(f"the brief has no statements: none of the {len(sources)} source(s) yielded a sentence on the "
                   "focus questions")
    return out


def os_problem(e: OSError, where: Path | str) -> str:
    """An OSError as one line naming its file: "OUT/.tmp-x/brief.md: No space left on device"."""
    return f"{e.filename or where}: {e.strerror or e}"


def prepare_out(out_root: Path) -> None:
    """Refuse an output root that is (or is under) a file, or cannot be created, as a setting (exit 2)."""
    existing = next((p for p in (out_root, *out_root.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"run.out (--out): {existing} is a file, not a folder")


def run(settings: Settings, report: Reporter | None = None, engine: Engine | None = None,
        dry_run: bool = False, lock_timeout: float = 600.0) -> RunResult | dict[str, Any]:
    """Run the whole pipeline under the output root's lock; returns the brief, or the estimate with dry_run."""
    report = report or Reporter()
    out_root = Path(settings.run.out)
    prepare_out(out_root)
    if dry_run:
        return _run(settings, report, engine, dry_run=True)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"run.out (--out): cannot create the output folder {os_problem(e, out_root)}") from None
    with run_lock(out_root, lock_timeout, report.warn):
        try:
            result = _run(settings, report, engine)
        except OSError as e:  # a full disk, a read-only or vanished folder: one line naming the path, brief intact
            if e.errno is None or isinstance(e, TimeoutError):  # not a file system error: reported as itself
                log_run(out_root, {"ok": False, "error": f"{type(e).__name__}: {e}"})
                raise
            err = BriefingError(f"{os_problem(e, out_root)}; the previous brief is intact")
            log_run(out_root, {"ok": False, "error": f"{type(e).__name__}: {err}"})
            raise err from None
        except BaseException as e:
            log_run(out_root, {"ok": False, "error": f"{type(e).__name__}: {e}"})
            raise
    assert isinstance(result, RunResult)
    log_run(out_root, {"ok": True, "brief": str(result.brief_md), "engine": result.engine,
                       "usage": result.data.get("usage")})
    return result


def _run(settings: Settings, report: Reporter, engine: Engine | None = None,
         dry_run: bool = False) -> RunResult | dict[str, Any]:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out_root = Path(settings.run.out)

    def lap(name: str, start: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - start, 3)
        return now

    if not dry_run:
        from briefing.export import check_available

        check_available(settings.run.formats)  # e.g. pdf without its extra: fail before any work
    report.info(f"reading sources: {redact_url(', '.join(settings.run.sources))}")
    stream = SourceStream(settings.run.sources, settings, report, ahead=True)
    try:
        t = lap("ingest_clean", t0)
        profile = settings.to_profile()
        dirs = search_path(settings.run.prompts)
        if engine is None:
            engine = make_engine(settings, call_log=out_root / "calls.jsonl", prompts_dirs=dirs)
        if not dry_run:
            engine.prepare()  # (its client library loads while the first source is cleaned)
        engine.notify = report.warn  # a long wait (Retry-After) is announced, not silent
        engine.on_batch = BatchProgress(report)  # a Batch API wait shows its progress
        estimated = dry_run or settings.llm.max_cost is not None
        chunks: dict[int, list[Chunk]] = {}
        if estimated:  # an estimate needs every source (and its chunks) before any request
            budget = engine.chunk_budget()  # (a window too small for the synthesis is refused here)
            chunks = make_chunks(stream.read(), budget) if budget is not None else {}
        # else the summaries start while the next sources are cleaned: the engine refuses a window too small before
        # its first request, and splits an article too long for one request itself (the same chunks), as it comes
        t = lap("chunk", t)
        if dry_run:
            return engine.estimate(stream.sources, chunks, profile)
        if settings.llm.max_cost is not None:
            check_cost(engine.estimate(stream.sources, chunks, profile), settings.llm.max_cost)

        with Cache(out_root / ".cache" / "cache.sqlite") as cache:
            for w in cache.warnings:  # a damaged cache moved aside: the run goes on with an empty one
                report.warn(w)
            said = len(cache.warnings)
            report.info(f"summarizing {len(stream.sources) if estimated else len(stream.raws)} "
                        f"{'source' if estimated else 'file'}(s) with the {engine.name} engine")
            serialized: dict[int, str] = {}
            summaries, hits = summarize_sources(
                engine, stream.sources if estimated else stream, chunks, profile, cache,
                engine.cache_identity("summarize", "reduce"),
                progress=None if engine.offline else StageProgress("summarized", report, engine),
                expected=len(stream.raws), serialized=serialized)
            sources = stream.sources
            skipped = [redact(w) for w in stream.warnings]
            if hits:
                report.info(f"{hits} of {len(sources)} summaries reused from the cache")
            t = lap("summarize", t)
            if not estimated:  # cleaning ran inside the summarize stage
                timings["ingest_clean"] = round(timings["ingest_clean"] + stream.seconds, 3)
                timings["summarize"] = round(timings["summarize"] - stream.seconds, 3)
            report.info("synthesizing across sources")
            by_id = {s.id: s for s in sources}
            early: list[tuple[int, int]] = []  # (verified, total) of the claims checked while the model wrote
            checked: dict[int, Claim] = {}  # the synthesis claims among them, by id (held, so no id is reused)

            def side_work(draft: Synthesis | None) -> None:  # independent of the synthesis' last request
                from briefing.verify.claims import verify_claims  # here: not between summaries and sections

                warm_up(dirs, settings.run.formats)
                early.append(verify_claims([c for s in summaries for c in s.claims], by_id))
                if draft is not None:  # the sections and the timeline, written before the top of the brief
                    claims = [c for _, c in flatten(draft, [])]
                    early.append(verify_claims(claims, by_id))
                    checked.update((id(c), c) for c in claims)

            # A model engine waits on the network, so the summaries are verified meanwhile; the offline one computes.
            synthesis, synth_hit = synthesize(engine, sources, summaries, profile, cache,
                                              engine.cache_identity("section", "synthesize"),
                                              meanwhile=None if engine.offline else side_work, serialized=serialized)
            if synth_hit:
                report.info("synthesis reused from the cache (nothing changed)")
            t = lap("synthesize", t)
            for w in cache.warnings[said:]:
                report.warn(w)

        for w in engine.warnings:
            report.warn(w)
        from briefing.export import render_formats
        from briefing.render import BriefContent, brief_context, brief_json, render_brief, sources_json
        from briefing.verify.claims import apply_policy, drop_unverified, verify_claims

        claims = flatten(synthesis, summaries)
        if early:
            verified, total = verify_claims([c for _, c in flatten(synthesis, []) if id(c) not in checked], by_id)
            verified, total = verified + sum(v for v, _ in early), total + sum(n for _, n in early)
        else:
            verified, total = verify_claims([c for _, c in claims], by_id)
        judged = _judge(settings, engine, [c for _, c in claims], by_id, out_root, report)
        if judged is not None:
            verified = sum(c.verified is True for _, c in claims)
        unverified = apply_policy([c for _, c in claims], settings.run.verify_policy)[1]
        if unverified:
            report.warn(f"{len(unverified)} of {total} claims could not be verified against their sources")
        if settings.run.verify_policy == "drop":
            drop_unverified(synthesis, summaries)
        t = lap("verify", t)
        for w in _contribution_warnings(sources, [c for _, c in claims]):
            report.warn(w)

        title, audience, theme_titles = settings.headings()
        generated = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        content = BriefContent(
            profile=profile, messages=load_messages(dirs, profile.language), title=title, audience=audience,
            theme_titles=theme_titles, implications_for=settings.profile.implications_for, generated_at=generated,
            engine=engine.name, model=engine.model, offline=engine.offline, sources=sources,
            summaries=summaries, synthesis=synthesis, claims=claims, unverified=unverified, verified=verified,
            total=total, policy=settings.run.verify_policy, usage=engine.usage, skipped=skipped,
            changes=changes_since(previous_brief(out_root), sources_json(sources), synthesis.judgments),
            summaries_reused=hits, synthesis_reused=synth_hit, judge=asdict(judged) if judged is not None else None)
        markdown = render_brief(brief_context(content), dirs)
        t = lap("render", t)
        timings["total"] = round(time.perf_counter() - t0, 3)
        data = brief_json(content, timings)
        texts = {s.id: s.text for s in sources}
        files: dict[str, str | bytes] = {"brief.md": markdown,
                                         "brief.json": json.dumps(data, indent=2, ensure_ascii=False)}
        data_dict: dict[str, Any] = dict(data)
        files.update(render_formats(data_dict, texts, settings.run.formats, dirs))
        run_dir = write_run(out_root, files, texts, settings.run.keep)
        report.info(f"wrote {run_dir}")
        return RunResult(run_dir / "brief.md", run_dir / "brief.json", run_dir, engine.name, data)
    finally:
        stream.close()  # a run that failed before it read every source leaves no cleaning process behind


__all__ = ["BriefingError", "Reporter", "RunResult", "load_sources", "make_chunks", "run"]
