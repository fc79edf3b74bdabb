"""Verifier flag rates on the labelled claim set (tests/fixtures/claims), per kind, citation mode and split.

    python bench/verify_eval.py            # both halves
    python bench/verify_eval.py --misses   # also list the claims judged wrongly

Modes: `ids` (claims cite sentence ids), `quote` (quotes only, as an old or hand-edited brief.json), `lower` (quotes
only, claim text lower-cased as in human-judged summary sets). The `tune` half was used to set the checks and
thresholds; `holdout` is the other half (looked at once, then a few general fixes); `fresh` was written after
the checks were set, on articles the tuning never used (tests/fixtures/dumps).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from claims_set import FRESH, MODES, flagged, load, rates, table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Print the per-kind table and the summary rates for each half."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--misses", action="store_true", help="list false flags and missed faults")
    args = ap.parse_args(argv)
    items = load() + load(FRESH)
    for split in ("tune", "holdout", "fresh"):
        sel = [it for it in items if it.split == split]
        print(f"\n## {split} ({len(sel)} claims)\n")
        print(f"| kind | n | {' | '.join(MODES)} |")
        print("|---|---|" + "---|" * len(MODES))
        for kind, by_mode in sorted(table(sel).items()):
            n = next(iter(by_mode.values()))[1]
            cells = " | ".join(f"{by_mode[m][0] / by_mode[m][1]:.0%}" for m in MODES)
            print(f"| {kind} | {n} | {cells} |")
        for m in MODES:
            tpr, fpr, bacc = rates(sel, m)
            print(f"{m}: faulty flagged {tpr:.1%}, sound flagged {fpr:.1%}, balanced accuracy {bacc:.3f}")
    if args.misses:
        print()
        for it in items:
            for m in MODES:
                f, claim = flagged(it, m)
                if f == it.sound:
                    what = "FALSE FLAG" if it.sound else "MISSED"
                    print(f"{what} [{m}] {it.split} {it.kind}: {claim.text[:100]} -> {claim.problems}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
