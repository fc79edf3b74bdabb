"""Prompt files: list, show, locate, copy for editing, and preview with real data (logic behind `briefing prompts`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from briefing.config import Settings
from briefing.errors import TemplateError
from briefing.templates import locate, search_path

TASKS = ("summarize", "reduce", "section", "synthesize", "repair", "judge")


def dirs_for(settings: Settings, prompts_dir: str | Path | None = None) -> list[Path]:
    """Search path: --prompts DIR, the configured directory, ./prompts, packaged defaults."""
    return search_path(prompts_dir, settings.run.prompts)


def list_prompts(dirs: list[Path]) -> list[tuple[str, Path]]:
    """Every template name (*.j2) visible on the search path, with the file that wins."""
    names = sorted({p.name for d in dirs for p in d.glob("*.j2")})
    return [(n, locate(dirs, n)) for n in names]


def _name(name: str) -> str:
    """Accept "summarize.system", "summarize.system.j2"; a bare task name is an error listing the parts."""
    if name in TASKS:
        raise TemplateError(f"{name!r} has two parts: use {name}.system or {name}.user")
    return name if name.endswith(".j2") else name + ".j2"


def show(dirs: list[Path], name: str) -> str:
    """The template's source text."""
    return locate(dirs, _name(name)).read_text(encoding="utf-8")


def path(dirs: list[Path], name: str) -> Path:
    """The file a template name resolves to."""
    return locate(dirs, _name(name))


def copy_for_edit(dirs: list[Path], name: str, target: Path) -> Path:
    """Copy a template into `target` (e.g. ./prompts) unless it is already there; returns the file to edit."""
    src = locate(dirs, _name(name))
    dest = target / src.name
    if not dest.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return dest


def render(settings: Settings, name: str, source_file: str, dirs: list[Path]) -> str:
    """Render a prompt (both parts of a task, or one part) with a real file, loaded and cleaned as in a run."""
    from briefing.engines.llm.engine import LLMEngine
    from briefing.engines.llm.parse import sentence_evidence
    from briefing.models import Claim, SourceSummary
    from briefing.pipeline import Reporter, load_sources

    task, _, part = name.removesuffix(".j2").partition(".")
    if task not in TASKS or part not in ("", "system", "user"):
        raise TemplateError(f"unknown prompt {name!r}; choose one of: {', '.join(TASKS)} (optionally .system/.user)")
    sources, _ = load_sources([source_file], settings, Reporter())
    engine = LLMEngine(settings, prompts_dirs=dirs)
    profile = settings.to_profile()
    src = sources[0]
    sents = [s for s in src.sentences if len(s.text) >= 20][:3]
    summ = SourceSummary(src.id, [Claim(s.text, [src.id], sentence_evidence(src, [s.id])) for s in sents],
                         "news report")
    system, user = engine.messages(task, sources, profile, [summ])
    parts = {"system": system, "user": user}
    if part:
        return parts[part]
    return f"=== {task}.system.j2 ===\n{system}\n\n=== {task}.user.j2 ===\n{user}\n"
