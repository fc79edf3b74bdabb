"""The LLM engine: Chat Completions through an injected OpenAI client, parsing, pricing and rate limits."""

from briefing.engines.llm.engine import LLMEngine

__all__ = ["LLMEngine"]
