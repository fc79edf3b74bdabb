"""Where briefs are kept: atomic write, the `latest` symlink, pruning, the previous brief, what changed, runs.jsonl."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from briefing.errors import BriefingError
from briefing.models import Changes, Claim
from briefing.redact import redact_json


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_run(out_root: Path, files: dict[str, str | bytes], source_texts: dict[int, str], keep: int) -> Path:
    """Write a run into a temp dir, rename it into place, then repoint `latest`; earlier briefs stay intact."""
    out_root.mkdir(parents=True, exist_ok=True)
    stamp = _timestamp()
    tmp = out_root / f".tmp-{stamp}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        (tmp / "sources").mkdir(parents=True)
        for sid, text in source_texts.items():
            (tmp / "sources" / f"{sid}.txt").write_text(text, encoding="utf-8")
        for name, content in files.items():
            with open(tmp / name, "wb") as f:
                f.write(content if isinstance(content, bytes) else content.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = out_root / stamp
    n = 1
    while final.exists():
        n += 1
        final = out_root / f"{stamp}-{n}"
    os.rename(tmp, final)
    link = out_root / "latest"
    tmp_link = out_root / f".latest-{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(final.name, tmp_link)
    os.replace(tmp_link, link)
    prune(out_root, keep, protect=[final])
    return final


_GENERATED = re.compile(rb'"generated_at":\s*"([^"]{10,40})"')


def recorded_time(run_dir: Path) -> float:
    """When a run was written, as it recorded itself (brief.json's generated_at), else its brief.json's mtime.

    Folder names are not trusted for order: a clock stepped back (NTP, a restored VM) or a folder named in the
    future (20991231T000000Z) would otherwise make the newest brief look oldest.
    """
    brief = run_dir / "brief.json"
    try:
        with open(brief, "rb") as f:
            head = f.read(4096)
        m = _GENERATED.search(head)
        if m:
            when = datetime.fromisoformat(m.group(1).decode("ascii", "replace").replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return when.timestamp()
    except (OSError, ValueError, OverflowError):
        pass
    try:
        return brief.stat().st_mtime
    except OSError:
        return 0.0


def prune(out_root: Path, keep: int, protect: list[Path] | None = None) -> None:
    """Keep the newest `keep` briefs by their recorded time; never remove a protected run (the one just written)
    nor the one `latest` points to, so `latest` never dangles."""
    keep_real = {p.resolve() for p in protect or []}
    link = out_root / "latest"
    if link.is_symlink():
        keep_real.add(link.resolve())

    def order(p: Path) -> tuple[float, str, int]:
        stamp, _, n = p.name.partition("-")
        return recorded_time(p), stamp, int(n) if n.isdigit() else 1

    runs = sorted((p for p in out_root.iterdir() if p.is_dir() and not p.is_symlink() and p.name[:1].isdigit()
                   and (p / "brief.json").exists()), key=order, reverse=True)
    kept = sum(1 for p in runs if p.resolve() in keep_real)
    for run in runs:
        if run.resolve() in keep_real:
            continue
        if kept < keep:
            kept += 1
            continue
        shutil.rmtree(run, ignore_errors=True)


def previous_brief(out_root: Path) -> dict[str, Any] | None:
    """brief.json of the brief `latest` points at, if any."""
    try:
        data = json.loads((out_root / "latest" / "brief.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def changes_since(previous: dict[str, Any] | None, sources: list[dict[str, Any]],
                  judgments: list[Claim]) -> Changes | None:
    """Sources added, removed or updated (by path and content hash) and key judgments that changed."""
    if previous is None:
        return None
    old_sources, old_claims = previous.get("sources"), previous.get("claims")
    old = {s["path"]: s for s in (old_sources if isinstance(old_sources, list) else [])
           if isinstance(s, dict) and isinstance(s.get("path"), str)}
    new = {s["path"]: s for s in sources}
    old_j = {c["text"] for c in (old_claims if isinstance(old_claims, list) else [])
             if isinstance(c, dict) and c.get("section") == "key_judgments" and isinstance(c.get("text"), str)}
    new_j = {c.text for c in judgments}
    return {
        "previous": str(previous.get("generated_at") or "unknown time"),
        "added": sorted(p for p in new if p not in old),
        "removed": sorted(p for p in old if p not in new),
        "updated": sorted(p for p in new if p in old and old[p].get("sha256") != new[p]["sha256"]),
        "judgments_added": sorted(new_j - old_j),
        "judgments_removed": sorted(j for j in old_j - new_j if j),
    }


def log_run(out_root: Path, record: dict[str, Any]) -> None:
    """Append one line per run (success or failure) to OUT/runs.jsonl."""
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        with open(out_root / "runs.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(redact_json({"at": datetime.now(UTC).isoformat(), **record}), ensure_ascii=False)
                    + "\n")
    except OSError:
        pass


@contextmanager
def run_lock(out_root: Path, timeout: float, warn: Callable[[str], None]) -> Iterator[None]:
    """One run at a time per output root: a second run waits up to `timeout` seconds, then fails (and is logged)."""
    out_root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_root / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        warn(f"another run is writing to {out_root}; waiting up to {timeout:.0f}s for it to finish")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            msg = f"{out_root}: another run still holds {out_root / '.lock'}; try again later"
            log_run(out_root, {"ok": False, "error": msg})
            raise BriefingError(msg) from None
    try:
        yield
    finally:
        lock.release()
