"""Stagger check: when do a run's requests reach the STOCK test server (concurrency 64)?

    .venv/bin/python -m bench.stagger [TESTS_DIR] [N]    # TESTS_DIR: the tests/ folder whose llm_server to use
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.corpus import ROOT, write_articles


def main(argv: list[str]) -> None:
    """Print how many requests reached the server within 0.1 s of the first."""
    tests_dir = argv[0] if argv else str(ROOT / "tests")
    n = int(argv[1]) if len(argv) > 1 else 64
    sys.path.insert(0, tests_dir)
    import llm_server  # noqa: PLC0415 - the server of the chosen tests/ folder

    from bench import pipeline as bp

    with tempfile.TemporaryDirectory() as tmp:
        articles = write_articles(n, Path(tmp) / "a")
        with llm_server.LLMServer(latency=0.3, per_token=0.002) as srv:
            settings = bp._settings(articles, Path(tmp) / "out", srv.base_url, 64)
            bp.run(settings, bp.Reporter())
            starts = sorted(r.start for r in srv.completions())
    first = starts[0]
    print(f"{tests_dir}: {sum(1 for x in starts if x - first <= 0.1)} of {len(starts)} requests within 0.1 s of the "
          f"first; last summary start +{starts[min(n, len(starts)) - 1] - first:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
