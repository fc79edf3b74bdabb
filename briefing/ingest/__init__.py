"""Ingest stage: load files, URLs and feeds, decode, clean, extract metadata, group near-duplicates."""
