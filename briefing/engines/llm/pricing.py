"""Per-model prices (USD per 1M tokens) and context windows, with settings overrides; unknown models cost 0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# USD per million tokens (input, output). Longest matching prefix wins, so "gpt-4o-mini-2024-07-18"
# finds "gpt-4o-mini". Local / unknown models are free. Override any entry with llm.prices in briefing.toml.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o1-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
}

# Context windows in tokens; longest matching prefix wins; unknown models get DEFAULT_CONTEXT_WINDOW.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "llama3.1": 131_072,
    "llama3.2": 131_072,
    "llama3": 8_192,
    "qwen2.5": 32_768,
    "qwen3": 32_768,
    "mistral": 32_768,
    "gemma2": 8_192,
    "phi3": 4_096,
}
DEFAULT_CONTEXT_WINDOW = 8_192


def _lookup(table: Mapping[str, object], model: str) -> str | None:
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" and "meta-llama/..." style names
    best = None
    for key in table:
        if name.startswith(key.lower()) and (best is None or len(key) > len(best)):
            best = key
    return best


def price(model: str, overrides: Mapping[str, Mapping[Any, float]] | None = None) -> tuple[float, float]:
    """(input, output) USD per million tokens; an exact override beats the packaged table."""
    if overrides:
        key = _lookup(overrides, model)
        if key is not None:
            o = overrides[key]
            base = price(model)
            return float(o.get("input", base[0])), float(o.get("output", base[1]))
    key = _lookup(PRICES, model)
    return PRICES[key] if key else (0.0, 0.0)


def cost(model: str, prompt_tokens: int, completion_tokens: int,
         overrides: Mapping[str, Mapping[Any, float]] | None = None) -> float:
    """USD for one call's tokens."""
    pin, pout = price(model, overrides)
    return (prompt_tokens * pin + completion_tokens * pout) / 1_000_000


def context_window(model: str, configured: int | None = None) -> int:
    """The configured window, else the known default for the model, else DEFAULT_CONTEXT_WINDOW."""
    if configured:
        return configured
    key = _lookup(CONTEXT_WINDOWS, model)
    return CONTEXT_WINDOWS[key] if key else DEFAULT_CONTEXT_WINDOW
