"""Benchmarks for briefing: chunking, pipeline vs LangChain map_reduce, regeneration and cleaner throughput."""
