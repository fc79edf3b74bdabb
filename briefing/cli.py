"""Thin command-line interface: parse arguments, resolve settings, call the library, map errors to exit codes."""

from __future__ import annotations

import atexit
import functools
import gc
import io
import json
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from briefing import __version__
from briefing.errors import BriefingError, Terminated
from briefing.redact import redact

if TYPE_CHECKING:
    from rich.console import Console

    from briefing.config import Settings

# Stage modules (pipeline, cleaner, tokenizer, rapidfuzz, openai) are imported inside the commands that use them,
# so `briefing --help` and `briefing prompts list` start fast.

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _err() -> Console:
    """The stderr console (rich is imported on first use: a --quiet run, or one whose stderr is not a terminal,
    never needs it)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


class _Bar:
    """Live progress on a terminal: one rich bar per stage with done/total, elapsed, ETA, requests in flight,
    tokens and dollars so far, or the stage's own `detail` (a batch's status and next check); the pipeline's
    Reporter.progress. A stage whose figures say "open" stays shown even when done == total."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Any = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int, figures: dict[str, Any]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if self._live is None:
            self._live = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                  TextColumn("{task.fields[figures]}"), console=self.console)
            self._live.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._live.add_task(stage, total=total, figures="")
        detail = figures.get("detail") or (f"{figures.get('in_flight', 0)} in flight · "
                                           f"{figures.get('tokens', 0):,} tokens · ${figures.get('cost_usd', 0.0):.4f}")
        self._live.update(self._tasks[stage], completed=done, total=total, figures=detail)
        if done >= total and not figures.get("open"):
            self.close()

    def close(self) -> None:
        """Stop the live display (at the end of a stage, or when the run fails mid-stage)."""
        if self._live is not None:
            self._live.stop()
        self._live, self._tasks = None, {}


class _State:
    quiet = False
    debug = False


def _say(line: str, style: str | None = None) -> None:
    """Every stderr line goes through here: secrets (the configured key, sk-..., api_key= values) are redacted."""
    if not sys.stderr.isatty():  # a log file or a pipe: plain lines, no styling
        print(redact(line), file=sys.stderr, flush=True)
        return
    _err().out(redact(line), style=style)


def _info(msg: str) -> None:
    if not _State.quiet:
        _say(f"· {msg}", style="dim")


def _warn(msg: str) -> None:
    _say(f"warning: {msg}", style="yellow")


def _traceback() -> None:
    sys.stderr.write(redact(traceback.format_exc()))
    sys.stderr.flush()


def common(f: F) -> F:
    """Options every command takes."""
    f = click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr (warnings still show).")(f)
    f = click.option("--debug", is_flag=True, help="Show a traceback on unexpected errors.")(f)
    return f


def _apply_common(quiet: bool, debug: bool) -> None:
    _State.quiet = _State.quiet or quiet
    _State.debug = _State.debug or debug


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="briefing")
@common
def cli(quiet: bool, debug: bool) -> None:
    """Turn a folder of messy news and think-tank articles into a cited Markdown policy brief.

    Offline by default: with no LLM endpoint configured, an extractive engine builds the brief from verbatim
    sentences of the sources. Set OPENAI_API_KEY and/or OPENAI_BASE_URL (in the environment or .env) to use
    an LLM through any OpenAI-compatible server.

    Settings come from, highest first: command-line flags, environment/.env, ./briefing.toml, packaged defaults.
    """
    _apply_common(quiet, debug)


def load_settings(config: str | None, overrides: dict[str, Any] | None = None) -> Settings:
    """briefing.config.load_settings, imported on first use (pydantic is not needed for --help)."""
    from briefing.config import load_settings as load

    return load(config, overrides)


def _run_overrides(**kw: Any) -> dict[str, Any]:
    keys = {
        "out": "run.out", "engine": "run.engine", "prompts": "run.prompts", "verify_policy": "run.verify_policy",
        "keep": "run.keep", "model": "llm.model", "base_url": "llm.base_url", "context_window": "llm.context_window",
        "concurrency": "llm.concurrency", "max_cost": "llm.max_cost", "feed_limit": "run.feed_limit",
        "since": "run.since", "language": "profile.language", "judge": "verify.judge",
        "formats": "run.formats", "batch": "llm.batch",
    }
    out = {keys[k]: v for k, v in kw.items() if k in keys}
    if kw.get("batch_mode") == "all" and kw.get("batch") is not False:
        out["llm.batch"] = "all"
    if kw.get("sources"):
        out["run.sources"] = list(kw["sources"])
    return out


class _BatchAll(click.Command):
    """`--batch all` (or `--batch=all`) is read as `--batch --batch-mode all`, so `--batch` stays a flag and
    `run --batch FOLDER` keeps meaning FOLDER is a source (a folder named `all` right after --batch: `./all`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        it = iter(range(len(args)))
        for i in it:
            a = args[i]
            if a == "--":
                out += args[i:]
                break
            if a == "--batch=all" or (a == "--batch" and i + 1 < len(args) and args[i + 1] == "all"):
                out += ["--batch", "--batch-mode", "all"]
                if a == "--batch":
                    next(it, None)
                continue
            out.append(a)
        return super().parse_args(ctx, out)


def run_options(f: F) -> F:
    """Options shared by `run` and `schedule`."""
    opts = [
        click.argument("sources", nargs=-1, type=click.Path()),
        click.option("--out", "-o", metavar="DIR", help="Output root; each run writes DIR/<UTC timestamp>/ and "
                     "points DIR/latest at it.  [default: outputs]"),
        click.option("--config", "-c", "config", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Settings file.  [default: ./briefing.toml if present]"),
        click.option("--engine", type=click.Choice(["auto", "extractive", "llm"]),
                     help="auto (default) uses the LLM when OPENAI_API_KEY or OPENAI_BASE_URL is set, else the "
                     "offline extractive engine."),
        click.option("--model", metavar="NAME", help="Model name for the LLM engine (env BRIEFING_MODEL)."),
        click.option("--base-url", metavar="URL", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 "
                     "(env OPENAI_BASE_URL)."),
        click.option("--context-window", type=click.IntRange(min=1), metavar="N",
                     help="Model context window in tokens; sets the chunk budget.  [default: known per model]"),
        click.option("--concurrency", type=click.IntRange(min=1), metavar="N",
                     help="Model requests in flight at once.  [default: 8]"),
        click.option("--max-cost", type=click.FloatRange(min=0), metavar="USD",
                     help="Refuse to start if the estimate exceeds this, and stop before spending more."),
        click.option("--prompts", type=click.Path(file_okay=False), metavar="DIR",
                     help="Directory searched first for prompt and brief templates."),
        click.option("--verify-policy", type=click.Choice(["flag", "drop"]),
                     help="Unverifiable claims: flag (keep, marked) or drop.  [default: flag]"),
        click.option("--judge/--no-judge", default=None, help="LLM engine: after the deterministic checks, ask the "
                     "model whether each claim's cited sentences support it; 'not supported' flags the claim (adds "
                     "about a third to the cost).  [default: off, or [verify] judge]"),
        click.option("--batch/--no-batch", default=None, help="LLM engine: send the per-source summaries through "
                     "the Batch API (half price, may take up to 24 h; an interrupted run resumes the same batch; "
                     "the synthesis runs live); `--batch all`: every request, the synthesis too.  "
                     "[default: off, or [llm] batch]"),
        click.option("--batch-mode", type=click.Choice(["all"]), hidden=True,
                     help="What `--batch all` becomes (see _BatchAll)."),
        click.option("--keep", type=click.IntRange(min=1), metavar="N", help="Briefs kept under the output root."),
        click.option("--feed-limit", type=click.IntRange(min=1), metavar="N",
                     help="Entries taken per RSS/Atom feed.  [default: 20]"),
        click.option("--language", metavar="LANG", help="Language of the brief: en, fr or ko (or one added to "
                     "prompts/messages.toml; env BRIEFING_LANGUAGE).  [default: en]"),
        click.option("--format", "formats", metavar="LIST", help="Files to write, comma-separated: md, html, docx, pdf "
                     "(brief.md and brief.json are always written; pdf needs the briefing[pdf] extra).  "
                     "[default: md,html]"),
        click.option("--since", metavar="WHEN", help="Skip feed entries published before WHEN: 7d, 12h, 2w or a "
                     "date like 2024-11-01 (undated entries are kept)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


@cli.command(cls=_BatchAll)
@run_options
@click.option("--dry-run", is_flag=True, help="Print calls, tokens and estimated cost per stage; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: one JSON object on stdout.")
@common
def run(config: str | None, dry_run: bool, as_json: bool, quiet: bool, debug: bool, **kw: Any) -> None:
    """Build a brief from SOURCES (files, folders, http(s) URLs, RSS/Atom feeds; default: seeds/).

    A URL serving RSS/Atom is read as a feed; prefix a source with feed: to force it (feed:FILE works too).

    Writes OUT/<UTC timestamp>/brief.md, brief.json and the --format files (brief.html by default), points
    OUT/latest at them, and prints the path of brief.md as the last line of stdout.
    """
    from briefing.pipeline import Reporter, RunResult
    from briefing.pipeline import run as run_pipeline

    _apply_common(quiet, debug)
    settings = load_settings(config, _run_overrides(**kw))
    bar = _Bar(_err()) if not _State.quiet and not dry_run and sys.stderr.isatty() and _err().is_terminal else None
    try:
        result = run_pipeline(settings, Reporter(info=_info, warn=_warn, progress=bar), dry_run=dry_run)
    finally:
        if bar is not None:
            bar.close()
    if isinstance(result, RunResult):
        _info(f"engine: {result.engine}; {result.data['verification']['verified']} of "
              f"{result.data['verification']['total']} claims verified")
        click.echo(str(result.brief_md))
        return
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"dry run: engine {result.get('engine')}, model {result.get('model')}; nothing was sent")
    width = max([12] + [len(stage) + 1 for stage in result.get("stages", {})])
    for stage, row in result.get("stages", {}).items():
        click.echo(f"{stage:<{width}} calls={row['requests']:<5} prompt_tokens={row['prompt_tokens']:<9} "
                   f"completion_tokens={row['completion_tokens']:<8} cost_usd={row['cost_usd']:.4f}")
    click.echo(f"{'total':<{width}} calls={result['requests']:<5} prompt_tokens={result['prompt_tokens']:<9} "
               f"completion_tokens={result['completion_tokens']:<8} cost_usd={result['cost_usd']:.4f}")


@cli.command(cls=_BatchAll)
@run_options
@click.option("--every", metavar="DURATION", help="Run now, then every DURATION (30s, 15m, 6h, 1d).")
@click.option("--cron", metavar="EXPR", help='Run on a cron schedule, e.g. "0 7 * * 1-5" (UTC).')
@click.option("--max-runs", type=click.IntRange(min=1), metavar="N", help="Stop after N runs (default: forever).")
@click.option("--print", "print_kind", type=click.Choice(["cron", "systemd"]),
              help="Print a crontab line or systemd units for unattended use, and exit.")
@common
def schedule(config: str | None, every: str | None, cron: str | None, max_runs: int | None,
             print_kind: str | None, quiet: bool, debug: bool, **kw: Any) -> None:
    """Regenerate the brief on a schedule, in the foreground; takes the same SOURCES and options as `run`.

    Each run reuses cached summaries of unchanged sources, so only new or changed articles cost model calls.
    Runs are logged to OUT/runs.jsonl; a failed run keeps the previous brief and the schedule goes on.
    """
    from briefing.pipeline import Reporter
    from briefing.schedule import print_entry, run_schedule

    _apply_common(quiet, debug)
    if print_kind:
        click.echo(print_entry(print_kind, _run_args(click.get_current_context()), every, cron, Path.cwd()))
        return
    if (every is None) == (cron is None):
        raise click.UsageError("give exactly one of --every or --cron (or --print cron|systemd)")
    settings = load_settings(config, _run_overrides(**kw))
    failed = run_schedule(settings, every, cron, max_runs, Reporter(info=_info, warn=_warn))
    if failed:
        sys.exit(1)


_SCHEDULE_ONLY = {"every", "cron", "max_runs", "print_kind", "quiet"}  # `--quiet` is in every entry already


def _run_args(ctx: click.Context) -> list[str]:
    """The `briefing run` arguments of this `schedule` command line: what was given, minus schedule-only options."""
    args: list[str] = []
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        if name in _SCHEDULE_ONLY or ctx.get_parameter_source(name) != click.core.ParameterSource.COMMANDLINE:
            continue
        if name == "batch_mode":  # written back as the user wrote it: --batch all
            args += ["all"] if args[-1:] == ["--batch"] else ["--batch", "all"]
            continue
        if isinstance(param, click.Argument):
            args += [str(v) for v in value or ()]
        elif isinstance(param, click.Option) and param.is_flag:
            if value:
                args.append(param.opts[0])
        elif value is not None:
            args += [param.opts[0], str(value)]
    return args


@cli.group(invoke_without_command=True)
@click.option("--out", "-o", metavar="DIR", help="Output root whose batches to list.  [default: outputs]")
@click.option("--config", "-c", "config", type=click.Path(dir_okay=False), metavar="FILE", help="Settings file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per batch per line.")
@click.option("--offline", is_flag=True, help="Show the status last recorded by a run; do not ask the server.")
@common
@click.pass_context
def batches(ctx: click.Context, out: str | None, config: str | None, as_json: bool, offline: bool, quiet: bool,
            debug: bool) -> None:
    """List the Batch API batches `run --batch` submitted from an output root: id, status, requests answered,
    cost, created.

    The status of a batch that had not ended is asked of the server (the configured endpoint; with --offline, or
    when the server cannot be reached, the status a run last saw is shown and said to be). The cost is what its
    answers used at the batch price, or the estimate made when it was submitted (marked "est.") until a run has
    read them. Rerunning `briefing run --batch` with the same sources picks up a pending batch instead of
    submitting it again.
    """
    _apply_common(quiet, debug)
    ctx.obj = {"out": out, "config": config}
    if ctx.invoked_subcommand is not None:
        return
    from datetime import UTC, datetime

    from briefing.engines.llm.batch import list_batches, refresh_batches
    from briefing.engines.llm.engine import LLMEngine

    settings = load_settings(config, {"run.out": out} if out else {})
    rows = list_batches(settings.run.out)
    problem = None if offline or not rows else refresh_batches(LLMEngine(settings), rows)
    for row in rows:
        created = datetime.fromtimestamp(row["created"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if as_json:
            click.echo(json.dumps({k: row[k] for k in ("id", "status", "requests", "completed", "failed", "cost_usd",
                                                       "estimate_usd", "model")} | {"created": created}))
            continue
        answered = f"{(row['completed'] or 0) + (row['failed'] or 0)}/{row['requests']}"
        if row["cost_usd"] is not None:
            cost = f"${row['cost_usd']:.4f}"
        elif row["estimate_usd"] is not None:
            cost = f"~${row['estimate_usd']:.4f} est."
        else:
            cost = "-"
        click.echo(f"{row['id']}  {row['status']:<11} answered={answered:<13} cost={cost:<15} created={created}  "
                   f"model={row['model']}")
    if not rows and not as_json:
        _info(f"no batches recorded under {settings.run.out}")
    elif offline:
        _info("status as last recorded by a run (--offline)")
    elif problem:
        _info(f"status as last recorded by a run: the server could not be asked ({problem})")


@batches.command("cancel")
@click.argument("batch_id")
@click.pass_context
def batches_cancel(ctx: click.Context, batch_id: str) -> None:
    """Ask the server to cancel batch BATCH_ID (a later `run --batch` submits what it had not answered again)."""
    from briefing.engines.llm.batch import cancel_batch
    from briefing.engines.llm.engine import LLMEngine

    obj = ctx.obj or {}
    settings = load_settings(obj.get("config"), {"run.out": obj["out"]} if obj.get("out") else {})
    status = cancel_batch(LLMEngine(settings), batch_id)
    click.echo(f"{batch_id}  {status}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line, with what was dropped.")
@click.option("--config", "-c", "config", type=click.Path(dir_okay=False), metavar="FILE", help="Settings file.")
@common
def clean(files: tuple[str, ...], as_json: bool, config: str | None, quiet: bool, debug: bool) -> None:
    """Clean article FILES (text dumps or HTML) and print the article text, or JSON with metadata and drops."""
    from briefing.ingest.clean import clean_documents
    from briefing.ingest.dedup import mark_duplicates
    from briefing.ingest.sources import load_raw

    _apply_common(quiet, debug)
    settings = load_settings(config)
    raws, warnings = load_raw(list(files), max_bytes=int(settings.run.max_file_mb * 1024 * 1024))
    for w in warnings:
        _warn(w)
    docs = clean_documents(raws)
    mark_duplicates(docs)
    for doc in docs:
        if as_json:
            d = asdict(doc)
            d["duplicates"] = [docs[i].path for i in doc.duplicates]
            click.echo(json.dumps(d, ensure_ascii=False))
        else:
            click.echo(f"==> {doc.path} <==")
            click.echo(doc.text)
    if not docs:
        raise BriefingError("no usable input files")


@cli.command()
@click.argument("file", type=click.Path())
@click.option("--max-tokens", type=click.IntRange(min=4), required=True, metavar="N", help="Token budget per chunk.")
@click.option("--overlap", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Tokens repeated between consecutive chunks.")
@click.option("--raw", is_flag=True, help="Chunk the file as is, without cleaning it first.")
@common
def chunk(file: str, max_tokens: int, overlap: int, raw: bool, quiet: bool, debug: bool) -> None:
    """Split FILE (cleaned first) into chunks of at most N tokens; one JSON line per chunk."""
    from briefing.chunk import chunk_text
    from briefing.ingest.clean import clean_documents
    from briefing.ingest.sources import load_raw

    _apply_common(quiet, debug)
    if overlap >= max_tokens:
        raise click.BadParameter(f"{overlap} must be smaller than --max-tokens ({max_tokens})", param_hint="--overlap")
    raws, warnings = load_raw([file])
    for w in warnings:
        _warn(w)
    if not raws:
        raise BriefingError(f"{file}: nothing to chunk")
    text = raws[0].text if raw else clean_documents(raws)[0].text
    for c in chunk_text(text, max_tokens, overlap=overlap):
        click.echo(json.dumps({"index": c.index, "text": c.text, "tokens": c.tokens, "start": c.start, "end": c.end},
                              ensure_ascii=False))


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--to", "formats", multiple=True, required=True, metavar="FORMAT",
              help="html, docx or pdf; repeat the option or separate with commas.")
@click.option("--out", "-o", "dest", type=click.Path(file_okay=False), metavar="DIR",
              help="Folder to write into.  [default: the run folder]")
@click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Directory searched first for brief.html.j2.")
@click.option("--config", "-c", "config", type=click.Path(dir_okay=False), metavar="FILE", help="Settings file.")
@common
def export(run_dir: str, formats: tuple[str, ...], dest: str | None, prompts_dir: str | None, config: str | None,
           quiet: bool, debug: bool) -> None:
    """Write brief.html, brief.docx or brief.pdf for an existing run (e.g. outputs/latest).

    Made from the run's brief.json and its saved source texts (RUN_DIR/sources/N.txt); no model is called.
    Prints the path of each file written.
    """
    from briefing.errors import ConfigError
    from briefing.export import EXPORT_FORMATS, export_run
    from briefing.prompt_files import dirs_for

    _apply_common(quiet, debug)
    names: list[str] = []
    for raw in ",".join(formats).split(","):
        name = raw.strip().lower()
        if name and name not in EXPORT_FORMATS:
            raise ConfigError(f"unknown format {raw.strip()!r} for --to; choose from {', '.join(EXPORT_FORMATS)}"
                              + (" (brief.md is written by every run)" if name == "md" else ""))
        if name and name not in names:
            names.append(name)
    if not names:
        raise ConfigError(f"--to: give a format: {', '.join(EXPORT_FORMATS)}")
    settings = load_settings(config)
    profile = settings.to_profile()
    _, audience, titles = settings.headings()  # for a brief.json from before it recorded them
    themes = [(q.key, titles.get(q.key, q.title), q.question) for q in profile.focus_questions]
    for path in export_run(Path(run_dir), names, dirs_for(settings, prompts_dir), Path(dest) if dest else None,
                           profile_themes=themes, audience=audience):
        click.echo(str(path))


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: claims (index, section, text, source_ids, verified, support, problems), "
                   "verified, total.")
@common
def verify(path: str, as_json: bool, quiet: bool, debug: bool) -> None:
    """Re-check every claim of a brief (brief.json or its folder) against the sentences it cites; exit 1 if any fails.

    Each claim gets a support score in [0, 1] and its problems: unknown sentence ids, quotes not found, and numbers,
    dates, names, roles or negations that the cited sentences do not have.
    """
    from briefing.verify.brief_file import format_report, report_json, verify_brief_file

    _apply_common(quiet, debug)
    report = verify_brief_file(Path(path))
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False))
    else:
        click.echo(format_report(report))
    if report.failed:
        sys.exit(1)


@cli.group()
def prompts() -> None:
    """Prompt and brief templates: list, show, locate, copy for editing, preview with real data.

    Templates are searched in order: --prompts DIR, the configured run.prompts directory, ./prompts,
    the packaged defaults. Copy one into ./prompts with `briefing prompts edit NAME` to change it.
    """


def _prompt_dirs(config: str | None, prompts_dir: str | None) -> tuple[Any, list[Path]]:
    from briefing.prompt_files import dirs_for

    settings = load_settings(config)
    return settings, dirs_for(settings, prompts_dir)


def prompt_options(f: F) -> F:
    """Options of the `prompts` subcommands."""
    f = click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False), metavar="DIR",
                     help="Directory searched first.")(f)
    f = click.option("--config", "-c", "config", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Settings file.")(f)
    return f


@prompts.command("list")
@prompt_options
def prompts_list(config: str | None, prompts_dir: str | None) -> None:
    """List every template and the file that is used for it."""
    from briefing.prompt_files import list_prompts

    _, dirs = _prompt_dirs(config, prompts_dir)
    for name, where in list_prompts(dirs):
        click.echo(f"{name:<32} {where}")


@prompts.command("show")
@click.argument("name")
@prompt_options
def prompts_show(name: str, config: str | None, prompts_dir: str | None) -> None:
    """Print a template's source (NAME like summarize.system or brief.md)."""
    from briefing.prompt_files import show

    _, dirs = _prompt_dirs(config, prompts_dir)
    click.echo(show(dirs, name), nl=False)


@prompts.command("path")
@click.argument("name")
@prompt_options
def prompts_path(name: str, config: str | None, prompts_dir: str | None) -> None:
    """Print the path of the file used for a template."""
    from briefing.prompt_files import path

    _, dirs = _prompt_dirs(config, prompts_dir)
    click.echo(str(path(dirs, name)))


@prompts.command("edit")
@click.argument("name")
@click.option("--to", "target", type=click.Path(file_okay=False), default="prompts", show_default=True,
              help="Directory to copy the template into.")
@click.option("--no-editor", is_flag=True, help="Only copy and print the path; do not open $EDITOR.")
@prompt_options
def prompts_edit(name: str, target: str, no_editor: bool, config: str | None, prompts_dir: str | None) -> None:
    """Copy a template into ./prompts (if not there yet) and open it in $EDITOR."""
    from briefing.prompt_files import copy_for_edit

    _, dirs = _prompt_dirs(config, prompts_dir)
    dest = copy_for_edit(dirs, name, Path(target))
    if not no_editor and sys.stdin.isatty():
        click.edit(filename=str(dest))
    click.echo(str(dest))


@prompts.command("render")
@click.argument("name")
@click.option("--source", "source_file", type=click.Path(), required=True, metavar="FILE",
              help="An article to fill the template with (loaded and cleaned as in a run).")
@prompt_options
def prompts_render(name: str, source_file: str, config: str | None, prompts_dir: str | None) -> None:
    """Preview a prompt (e.g. summarize, synthesize.user) filled with real data from FILE."""
    from briefing.prompt_files import render

    settings, dirs = _prompt_dirs(config, prompts_dir)
    click.echo(render(settings, name, source_file, dirs), nl=False)


def _on_signal(signum: int, _frame: object) -> None:
    raise Terminated(signum, signal.Signals(signum).name)


def _install_signal_handlers() -> None:
    """SIGTERM and SIGHUP stop a run the way Ctrl-C does: logged to runs.jsonl, temp files removed, brief intact."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            try:
                signal.signal(sig, _on_signal)
            except (ValueError, OSError):  # not the main thread, or not supported here
                pass


def _stop_request(e: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind an error, if any: Python wraps an exception raised while a class is being made
    (e.g. "Error calling __set_name__", a signal arriving during an import) in a RuntimeError."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def main() -> None:
    """Entry point: one clear line per error, exit 2 for usage and config errors, 1 for failures."""
    # A model run allocates millions of short-lived objects (imports, cleaning, requests): the collector runs in
    # fewer passes (0.2 s -> 0.06 s of a 50-source run); and the interpreter's last collection, which walks every
    # object left (0.2-0.4 s after a model run, all of it after the brief is written), has nothing to free: the
    # objects alive at exit are frozen first.
    gc.set_threshold(10_000, 10, 10)
    atexit.register(gc.freeze)
    _install_signal_handlers()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort as e:
        if isinstance(e.__cause__, Terminated):  # click turns a KeyboardInterrupt (and so Terminated) into Abort
            _say(f"briefing: {e.__cause__}")
            sys.exit(128 + e.__cause__.signum)
        _say("aborted")
        sys.exit(130)
    except click.ClickException as e:
        buf = io.StringIO()
        e.show(file=buf)
        sys.stderr.write(redact(buf.getvalue()))
        sys.exit(e.exit_code)
    except BriefingError as e:
        if _State.debug:  # the traceback, then the same line and exit code as without --debug
            _traceback()
        _say(f"briefing: error: {e}", style="red")
        sys.exit(e.exit_code)
    except Terminated as e:
        _say(f"briefing: {e}")
        sys.exit(128 + e.signum)
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)
    except OSError as e:  # a file or folder the command could not read or write: one line naming it
        if _State.debug:
            _traceback()
        _say(f"briefing: error: {e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", style="red")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - last line of defence: one line, not a traceback
        stop = _stop_request(e)
        if stop is not None:  # a signal that landed inside a class body being built (an import) comes back wrapped
            _say(f"briefing: {stop}" if isinstance(stop, Terminated) else "interrupted")
            sys.exit(128 + stop.signum if isinstance(stop, Terminated) else 130)
        if _State.debug or "--debug" in sys.argv:
            _traceback()
            sys.exit(1)
        _say(f"briefing: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", style="red")
        sys.exit(1)
