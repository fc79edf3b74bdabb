"""Pipeline: our LLM run vs LangChain map_reduce summarization on the loopback server; unchanged-rerun cost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench.corpus import ROOT, SEEDS, write_articles
from briefing.config import load_settings
from briefing.engines.llm import pricing
from briefing.ingest.clean import clean_documents
from briefing.ingest.sources import load_raw
from briefing.pipeline import Reporter, run
from briefing.tokens import ENCODING_NAME, count_tokens, encoding

sys.path.insert(0, str(ROOT / "tests"))
from llm_server import LLMServer, Record, sentences  # noqa: E402

MODEL = "gpt-4o-mini"


class BenchServer(LLMServer):
    """The loopback test server with the behaviour of a hosted model that matters for timing and cost.

    - Prompts the stock server does not recognise (LangChain's "concise summary") get a prose summary of the quoted
      text of ~150-200 tokens, what a real model writes for that prompt (the stock server says {"answer": "ok"}).
    - Answers are as long as the prompt asks: counts the prompt states ("3 to 5 claims") are kept, and an answer
      never runs past the request's max_tokens (a model stops there; the stock server charges time for text it
      could not have written). Nothing else bounds the synthesis: unbounded sections keep every claim that fits.
    The same server settings serve both sides.
    """

    def _answer(self, body: dict[str, Any], fault: str | None, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
        task, content, finish = super()._answer(body, fault, *args, **kwargs)
        limit = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
        if task in ("synthesize", "synthesize_reduce", "section") and limit:
            content = _as_asked(content, _system(body), limit)
        if task == "other":
            msgs = body.get("messages", [])
            user = next((m["content"] for m in msgs if m.get("role") == "user"), "")
            content = prose_summary(user)
        return task, content, finish


def _system(body: dict[str, Any]) -> str:
    return next((m["content"] for m in body.get("messages", []) if m.get("role") == "system"), "")


def prose_summary(text: str, target: int = 175) -> str:
    """A concise prose summary of ~150-200 tokens built from the text's sentences (what a model writes)."""
    words: list[str] = ["The", "text", "reports", "that"]
    for s in sentences(text):
        words += s.split()[:25]
        if count_tokens(" ".join(words)) >= target:
            break
    while count_tokens(" ".join(words)) < 150:  # a short text: the model still writes a paragraph
        words += "It adds context on the actors involved, their stated positions and what may follow.".split()
    return " ".join(words).rstrip(".,;:") + "."


_STATED = re.compile(r'"(\w+)": (\d+) to (\d+) ')  # a count the prompt states for a section: "bluf": 3 to 5


def _as_asked(content: str, system: str, max_tokens: int) -> str:
    """The answer as a model given this prompt and max_tokens writes it: stated counts kept, within max_tokens."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        return content  # an injected fault: leave it for the client to handle
    if not isinstance(data, dict):
        return content
    for key, _, hi in _STATED.findall(system):
        if isinstance(data.get(key), list):
            data[key] = data[key][: int(hi)]
    lists = [v for v in data.values() if isinstance(v, list)]
    lists += [t["claims"] for t in data.get("themes", []) if isinstance(t, dict) and isinstance(t.get("claims"), list)]
    budget = int(max_tokens * 0.97)
    size = count_tokens(json.dumps(data, ensure_ascii=False))
    while size > budget:  # each cut's size is estimated; recounted once the estimate fits
        longest = max(lists, key=len, default=[])
        if len(longest) <= 1:
            break
        keep = max(1, len(longest) * 9 // 10)
        size -= count_tokens(json.dumps(longest[keep:], ensure_ascii=False))  # the model writes fewer items where
        del longest[keep:]  # it wrote most
        if size <= budget:
            size = count_tokens(json.dumps(data, ensure_ascii=False))
    return json.dumps(data, ensure_ascii=False)


def floor(records: list[Record], latency: float, per_token: float) -> dict[str, Any]:
    """Critical path if every independent call ran at once: per dependency level, latency + the longest output.

    Levels of our pipeline: per-article summaries (map calls of chunked articles), per-article reduces, the theme
    sections' parts and rounds of merges (told apart by start time: a round starts after the previous one ended),
    the top of the brief. Repair calls, if any, are counted as an extra level.
    """
    ok = sorted((r for r in records if r.status == 200 and r.path.endswith("/chat/completions")),
                key=lambda r: r.start)
    levels: list[list[Record]] = []
    order = ["summarize", "reduce", "synthesize_reduce", "section", "repair", "synthesize", "judge", "other", None]
    for task in order:
        group = [r for r in ok if r.task == task]
        while group:
            first_end = min(r.end for r in group)
            level = [r for r in group if r.start < first_end]
            levels.append(level)
            group = [r for r in group if r.start >= first_end] if task in ("synthesize_reduce", "section") else []
    per_level = [{"task": lv[0].task, "calls": len(lv), "max_completion_tokens": max(r.completion_tokens for r in lv),
                  "seconds": round(latency + per_token * max(r.completion_tokens for r in lv), 3),
                  "longest_request_s": round(max(r.end - r.start for r in lv), 3),  # as the server timed it
                  "started_after_previous_s": None} for lv in levels]
    for prev, lv, row in zip(levels, levels[1:], per_level[1:], strict=False):  # the gap the client left
        row["started_after_previous_s"] = round(min(r.start for r in lv) - max(r.end for r in prev), 3)
    return {"depth": len(levels), "seconds": round(sum(x["seconds"] for x in per_level), 3), "levels": per_level}


def _settings(sources: Path, out: Path, base_url: str, concurrency: int, judge: bool = False) -> Any:
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = out.parent / "bench.toml"
    cfg.write_text("", encoding="utf-8")  # hermetic: ignore any briefing.toml in the working directory
    return load_settings(cfg, {"run.sources": [str(sources)], "run.out": str(out), "run.engine": "llm",
                               "llm.base_url": base_url, "llm.api_key": "x", "llm.model": MODEL,
                               "llm.concurrency": concurrency, "verify.judge": judge}, environ={},
                         dotenv_path=None)


PRICED = ("gpt-4o-mini", "gpt-4.1")  # dollars reported at these models' prices from briefing's price table


def _counters(srv: LLMServer) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": srv.requests, "prompt_tokens": srv.prompt_tokens,
                           "completion_tokens": srv.completion_tokens}
    for m in PRICED:
        out[f"usd_{m}"] = round(pricing.cost(m, srv.prompt_tokens, srv.completion_tokens), 5)
    return out


def starts(records: list[Record], t0: float) -> dict[str, Any]:
    """When requests reached the server: how many within 0.1 s of the run's first request, and the first ones' lags."""
    ok = sorted(r.start for r in records if r.path.endswith("/chat/completions"))
    if not ok:
        return {}
    first = ok[0]
    return {"first_request_after_s": round(first - t0, 3),
            "within_0.1s_of_first": sum(1 for x in ok if x - first <= 0.1),
            "start_lag_of_64th_s": round(ok[min(63, len(ok) - 1)] - first, 3)}


def by_task(records: list[Record]) -> dict[str, dict[str, int]]:
    """Requests and tokens of the successful completions per task (summarize, synthesize, judge, ...)."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        if r.status == 200 and r.path.endswith("/chat/completions"):
            t = out.setdefault(r.task or "other", {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0})
            t["requests"] += 1
            t["prompt_tokens"] += r.prompt_tokens
            t["completion_tokens"] += r.completion_tokens
    return out


def judge_share(tasks: dict[str, dict[str, int]]) -> dict[str, float] | None:
    """The model judge's share of prompt tokens, completion tokens and cost (gpt-4o-mini list prices)."""
    if "judge" not in tasks:
        return None
    price = {"prompt_tokens": 0.15, "completion_tokens": 0.60}  # USD per million tokens

    def cost(t: dict[str, int]) -> float:
        return sum(t[k] * p for k, p in price.items())

    j = tasks["judge"]
    total = {k: sum(t[k] for t in tasks.values()) for k in price}
    return {"prompt": round(j["prompt_tokens"] / total["prompt_tokens"], 3),
            "completion": round(j["completion_tokens"] / total["completion_tokens"], 3),
            "cost": round(cost(j) / cost(total), 3), "cost_added_vs_no_judge": round(cost(j) / (cost(total) - cost(j)),
                                                                                        3)}


def run_ours(articles: Path, work: Path, latency: float, per_token: float, concurrency: int,
             judge: bool = False) -> dict[str, Any]:
    """One fresh run of our pipeline (engine llm) against a new loopback server (with the model judge if asked)."""
    with BenchServer(latency=latency, per_token=per_token) as srv:
        settings = _settings(articles, work / "out", srv.base_url, concurrency, judge)
        t, mono = time.perf_counter(), time.monotonic()
        result = run(settings, Reporter())
        wall = time.perf_counter() - t
        out = {"wall_s": round(wall, 3), **_counters(srv), "max_in_flight": srv.max_in_flight,
               "starts": starts(srv.records, mono), "floor": floor(srv.records, latency, per_token),
               "by_task": by_task(srv.records)}
        if judge:
            out["judge_share"] = judge_share(out["by_task"])
    out["wall_over_floor"] = round(wall / out["floor"]["seconds"], 3)
    out["stage_timings_s"] = getattr(result, "data", {}).get("timings")
    out["sections"] = section_counts(getattr(result, "data", {}))
    return out


def run_cli(articles: Path, work: Path, latency: float, per_token: float, concurrency: int) -> dict[str, Any]:
    """One fresh run of `briefing run --engine llm --concurrency N` as a separate process (interpreter start, cold
    imports and exit included, as someone timing the command sees it) against a new loopback server."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "briefing.toml").write_text("", encoding="utf-8")  # hermetic: the working directory's config is empty
    # An installed command runs from bytecode once it has run once (pip compiles an install; Python writes the
    # __pycache__ of an editable one on first import). Where PYTHONDONTWRITEBYTECODE is set, as on these machines,
    # an editable checkout would compile every module from source in every run (~0.08 s): compile it once, as a
    # second run anywhere else finds it.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "briefing")], check=False,
                   capture_output=True)
    with BenchServer(latency=latency, per_token=per_token) as srv:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
        env.update({"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "x", "BRIEFING_MODEL": MODEL,
                    "PYTHONPATH": str(ROOT)})
        with tempfile.TemporaryFile("w+") as err:
            mono = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "briefing", "run", str(articles), "--engine", "llm",
                                     "--concurrency", str(concurrency), "--out", str(work / "out"), "--quiet"],
                                    stdout=subprocess.DEVNULL, stderr=err, text=True, env=env, cwd=work)
            # wait4: the process' own peak RSS (with its cleaning process', whichever is larger), as time -v shows it
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - mono
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            stderr = err.read()
        ok = [r for r in srv.records if r.path.endswith("/chat/completions")]
        out: dict[str, Any] = {"exit": proc.returncode, "wall_s": round(wall, 3), **_counters(srv),
                               "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                               "starts": starts(srv.records, mono), "floor": floor(srv.records, latency, per_token),
                               "after_last_answer_s": round(mono + wall - max((r.end for r in ok), default=mono), 3)}
    if proc.returncode != 0:
        out["stderr"] = stderr[-2000:]
    out["wall_over_floor"] = round(wall / out["floor"]["seconds"], 3) if out["floor"]["seconds"] else None
    return out


def section_counts(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Claims and distinct sources cited per section of the brief (source summaries left out), from brief.json."""
    out: dict[str, dict[str, Any]] = {}
    for c in data.get("claims") or []:
        sec = c.get("section", "")
        if sec.startswith("source_summary"):
            continue
        row = out.setdefault(sec, {"claims": 0, "sources": set()})
        row["claims"] += 1
        row["sources"].update(c.get("source_ids") or [])
    return {k: {"claims": v["claims"], "sources": len(v["sources"])} for k, v in out.items()}


def langchain_status() -> str | None:
    """None when LangChain's map_reduce summarize chain can be imported, else why not."""
    try:
        import langchain_classic.chains.summarize  # noqa: F401
        import langchain_openai  # noqa: F401
        import langchain_text_splitters  # noqa: F401
    except ImportError as e:
        return f"not installed ({e.name}); pip install -e '.[bench]'"
    return None


def run_langchain(articles: Path, latency: float, per_token: float) -> dict[str, Any]:
    """LangChain's map_reduce summarize chain as its summarization guide sets it up, on the raw files.

    Guide: load the documents, CharacterTextSplitter.from_tiktoken_encoder(chunk_size=1000, chunk_overlap=0),
    load_summarize_chain(llm, chain_type="map_reduce") with default prompts and token_max, chain.invoke(docs).
    Offline changes only: the splitter uses the bundled cl100k encoding, and ChatOpenAI counts tokens with it too
    (custom_get_token_ids); by default it would download o200k_base for gpt-4o-mini.
    """
    from langchain_classic.chains.summarize import load_summarize_chain
    from langchain_core.documents import Document
    from langchain_openai import ChatOpenAI
    from langchain_text_splitters import CharacterTextSplitter

    raws, _ = load_raw([str(articles)])
    docs = [Document(page_content=r.text, metadata={"source": r.path}) for r in raws]
    with BenchServer(latency=latency, per_token=per_token) as srv:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            splitter = CharacterTextSplitter.from_tiktoken_encoder(encoding_name=ENCODING_NAME, chunk_size=1000,
                                                                   chunk_overlap=0)
            split_docs = splitter.split_documents(docs)
            llm = ChatOpenAI(base_url=srv.base_url, api_key="x", model=MODEL, temperature=0,
                             custom_get_token_ids=encoding().encode_ordinary)
            chain = load_summarize_chain(llm, chain_type="map_reduce")
            result = chain.invoke({"input_documents": split_docs})
        wall = time.perf_counter() - t
        out = {"wall_s": round(wall, 3), **_counters(srv), "max_in_flight": srv.max_in_flight,
               "map_calls": len(split_docs), "output_chars": len(result.get("output_text", ""))}
    return out


def body_tokens(articles: Path) -> tuple[int, int]:
    """(tokens of the raw files, tokens of the cleaned article bodies) of a folder."""
    raws, _ = load_raw([str(articles)])
    return sum(count_tokens(r.text) for r in raws), sum(count_tokens(d.text) for d in clean_documents(raws))


def run_sizes(sizes: list[int], latency: float = 0.3, per_token: float = 0.002, langchain_max: int = 50,
              log: Any = None, judge: bool = False, concurrency: int = 64) -> dict[str, Any]:
    """Ours and LangChain side by side for each N (LangChain only up to langchain_max articles)."""
    rows = []
    lc_status = langchain_status()
    with tempfile.TemporaryDirectory(prefix="briefing-bench-") as tmp:
        for n in sizes:
            articles = write_articles(n, Path(tmp) / f"articles-{n}")
            raw_tok, body_tok = body_tokens(articles)
            if log:
                log(f"pipeline N={n}: ours")
            ours = run_ours(articles, Path(tmp) / f"ours-{n}", latency, per_token, concurrency, judge)
            row: dict[str, Any] = {"n": n, "raw_tokens": raw_tok, "body_tokens": body_tok, "ours": ours,
                                   "ours_prompt_over_body": round(ours["prompt_tokens"] / body_tok, 3)}
            if not judge:
                if log:
                    log(f"pipeline N={n}: ours as a command (briefing run in a new process)")
                row["ours_cli"] = run_cli(articles, Path(tmp) / f"cli-{n}", latency, per_token, concurrency)
            if lc_status is not None:
                row["langchain"] = {"skipped": lc_status}
            elif n > langchain_max:
                row["langchain"] = {"skipped": f"N > {langchain_max}: pass --langchain-max {n} to run it (slow)"}
            else:
                if log:
                    log(f"pipeline N={n}: langchain map_reduce")
                try:
                    lc = run_langchain(articles, latency, per_token)
                except Exception as e:  # noqa: BLE001 - reported in the table, never fatal
                    row["langchain"] = {"skipped": f"failed: {type(e).__name__}: {str(e)[:200]}"}
                else:
                    row["langchain"] = lc
                    row["speedup_vs_langchain"] = round(lc["wall_s"] / ours["wall_s"], 2)
                    row["prompt_tokens_ratio"] = round(ours["prompt_tokens"] / lc["prompt_tokens"], 3)
                    row["usd_ratio_gpt-4o-mini"] = round(ours["usd_gpt-4o-mini"] / lc["usd_gpt-4o-mini"], 3)
            rows.append(row)
    at50 = next((r for r in rows if r["n"] == 50), None)
    at200 = next((r for r in rows if r["n"] == 200), None)
    lc50 = at50 is not None and "speedup_vs_langchain" in at50
    targets: dict[str, bool | None] = {
        "wall <= 1.3x floor at N=50": None if at50 is None else at50["ours"]["wall_over_floor"] <= 1.3,
        "command wall <= 1.3x floor at N=50 (new process)": None if at50 is None or "ours_cli" not in at50
        else (at50["ours_cli"]["wall_over_floor"] or 99) <= 1.3,
        ">= 10x faster than LangChain at N=50": at50["speedup_vs_langchain"] >= 10 if lc50 and at50 else None,
        "dollars <= 0.7x LangChain at gpt-4o-mini prices, N=50": at50["usd_ratio_gpt-4o-mini"] <= 0.7
        if lc50 and at50 else None,
        "command at N=200: peak RSS <= 400 MB": None if at200 is None or "ours_cli" not in at200
        else at200["ours_cli"]["peak_rss_mb"] <= 400,
        "command wall grows sub-linearly (N=200 < 4x N=50)": None if at200 is None or at50 is None
        or "ours_cli" not in at200 or "ours_cli" not in at50
        else at200["ours_cli"]["wall_s"] < 4 * at50["ours_cli"]["wall_s"],
        "prompt tokens <= 0.7x LangChain (all N run)": None if not any("prompt_tokens_ratio" in r for r in rows)
        else all(r["prompt_tokens_ratio"] <= 0.7 for r in rows if "prompt_tokens_ratio" in r),
    }
    return {"latency_s": latency, "per_token_s": per_token, "model": MODEL, "concurrency": concurrency,
            "rows": rows, "targets": targets, "langchain_skipped": lc_status, "judge": judge}


def run_regeneration(latency: float = 0.3, per_token: float = 0.002, seeds: Path = SEEDS) -> dict[str, Any]:
    """First run on the seeds, then an unchanged rerun into the same output root: time and requests of the rerun."""
    with tempfile.TemporaryDirectory(prefix="briefing-bench-regen-") as tmp, \
            BenchServer(latency=latency, per_token=per_token) as srv:
        settings = _settings(seeds, Path(tmp) / "out", srv.base_url, 8)
        t = time.perf_counter()
        run(settings, Reporter())
        first = time.perf_counter() - t
        before = _counters(srv)
        t = time.perf_counter()
        result = run(settings, Reporter())
        rerun = time.perf_counter() - t
        after = _counters(srv)
    cache = getattr(result, "data", {}).get("cache", {})
    out = {"first_run_s": round(first, 3), "first_run_requests": before["requests"], "rerun_s": round(rerun, 3),
           "rerun_requests": after["requests"] - before["requests"], "cache": cache}
    out["targets"] = {"rerun makes 0 requests": out["rerun_requests"] == 0, "rerun < 2 s": rerun < 2.0}
    return out
