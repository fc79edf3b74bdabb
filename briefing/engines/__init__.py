"""Engines that turn cleaned sources into summaries and a synthesis; see `base.Engine` for the seam."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from briefing.config import Settings
from briefing.engines.base import Engine

if TYPE_CHECKING:
    import openai

__all__ = ["Engine", "make_engine"]


def make_engine(settings: Settings, client: openai.AsyncOpenAI | None = None, call_log: Path | None = None,
                prompts_dirs: list[Path] | None = None) -> Engine:
    """The engine settings.run.engine asks for; "auto" is the LLM when an endpoint or key is configured."""
    choice = settings.run.engine
    if choice == "auto":
        choice = "llm" if settings.llm_configured() or client is not None else "extractive"
    if choice == "llm" and settings.llm.batch:
        from briefing.engines.llm.batch import BatchLLMEngine

        return BatchLLMEngine(settings, client=client, call_log=call_log, prompts_dirs=prompts_dirs)
    if choice == "llm":
        from briefing.engines.llm.engine import LLMEngine

        return LLMEngine(settings, client=client, call_log=call_log, prompts_dirs=prompts_dirs)
    from briefing.engines.extractive import ExtractiveEngine  # lazy: keeps `--engine llm` startup light

    return ExtractiveEngine(settings)
