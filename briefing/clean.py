"""Clean stage: keep the article (headline, byline, body) of a web-page text dump and drop the chrome."""

from __future__ import annotations

from briefing.models import CleanedDoc, Dropped, RawDoc

# INTERIM: drops short lines only; the cleaner issue (#3) replaces this module.


def clean_documents(raws: list[RawDoc]) -> list[CleanedDoc]:
    """Clean each document (the real cleaner also uses blocks repeated across files of one site)."""
    out = []
    for raw in raws:
        kept, dropped = [], []
        for n, line in enumerate(raw.text.splitlines(), 1):
            if len(line.split()) >= 12:
                kept.append(line.strip())
            elif line.strip():
                dropped.append(Dropped(line, "short line", n, n))
        out.append(CleanedDoc(path=raw.path, text="\n\n".join(kept), sha256=raw.sha256, dropped=dropped))
    return out
