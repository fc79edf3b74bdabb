"""Ingest stage: expand folders, read and decode files into RawDoc; bad files are skipped with a warning."""

from __future__ import annotations

import hashlib
from pathlib import Path

from briefing.models import RawDoc

# INTERIM: minimal loader so the pipeline runs end to end; the cleaner issue (#3) replaces it with
# charset detection, binary/empty/oversize handling and symlink-loop safety.


def load_raw(paths: list[str], max_bytes: int = 5 * 1024 * 1024) -> tuple[list[RawDoc], list[str]]:
    """Read every file under the given paths; returns documents and one warning per skipped file."""
    docs: list[RawDoc] = []
    warnings: list[str] = []
    for p in paths:
        path = Path(p)
        files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
        for f in files:
            data = f.read_bytes()
            if not data.strip():
                warnings.append(f"{f}: empty file, skipped")
                continue
            text = data.decode("utf-8-sig", errors="replace")
            docs.append(RawDoc(str(f), text, hashlib.sha256(data).hexdigest()))
    return docs, warnings
