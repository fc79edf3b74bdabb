"""Train the cleaner's line model (briefing/ingest/cleaner_model.json) on the cleaning dev set, with cross-validation.

  .venv/bin/python -m bench.train_cleaner [--set DIR] [--folds 5] [--kind logistic|gbt] [--write [--out FILE]]
  .venv/bin/python -m bench.train_cleaner --fixtures   # the repository's own gold fixtures: rules only vs model
                                                       # (seeds/synthetic/intl, and tests/fixtures/en_news apart)

Each block of each dump gets the cleaner's rule verdict and features (clean.line_features); a block is labelled
article when it holds or lies inside a 'with' snippet, chrome when a 'without' one (others are unlabelled and not
trained on). Pages are split into folds by site; the cross-validated snippet P/R/F1 (the score_cleaning.py metric,
each page cleaned by a model that never saw its site) is the honest estimate. --write fits on all pages and writes
the model. Needs only numpy (a runtime dependency already).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from briefing.ingest import clean, linemodel
from briefing.ingest.sources import load_raw
from briefing.text import normalised_lines

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "cleaning-dev"


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


@dataclass
class Page:
    key: str
    site: str
    lang: str
    texts: list[str]
    x: np.ndarray
    y: np.ndarray  # 1 article, 0 chrome, -1 unlabelled
    rule_keep: np.ndarray
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    fixed: str | None = None  # HTML path: text not decided by the line model
    blocks: list[clean._Block] = field(default_factory=list)
    cut: int = 0
    appended: bool = False
    header: list[int] = field(default_factory=list)
    w: np.ndarray | None = None  # training weight of each row
    rows: list[int] = field(default_factory=list)  # the blocks the model decides (x, y and w are for these)


def labels(texts: list[str], with_: list[str], without: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per block: 1 article, 0 chrome, -1 unlabelled, and a weight that gives each snippet a total weight of 1.

    A block is labelled by the snippets it holds or lies inside (a long snippet spanning several blocks labels each
    of them, at a share of the weight). Only the first of identical blocks is labelled: the metric counts a snippet
    once, wherever it is kept.
    """
    normed = [norm(t) for t in texts]
    seen: set[str] = set()
    hits: list[list[tuple[int, int]]] = []  # per block: (snippet number, 1 for 'with' / 0 for 'without')
    for t in normed:
        h: list[tuple[int, int]] = []
        if len(t) >= 3 and t not in seen:
            h = [(j, 1) for j, s in enumerate(with_) if s in t or (t in s and len(t) >= 15)]
            h += [(len(with_) + j, 0) for j, s in enumerate(without) if s in t or (t in s and len(t) >= 15)]
        seen.add(t)
        hits.append(h)
    per_snippet: dict[int, int] = {}
    for h in hits:
        for j, _ in h:
            per_snippet[j] = per_snippet.get(j, 0) + 1
    y = np.full(len(texts), -1.0)
    w = np.zeros(len(texts))
    for i, h in enumerate(hits):
        kinds = {c for _, c in h}
        if len(kinds) == 1:
            y[i] = kinds.pop()
            w[i] = sum(1 / per_snippet[j] for j, _ in h)
    return y, w


def load_pages(root: Path, batch: int = 50, flat: bool = False) -> list[Page]:
    """The dev pages as the cleaner sees them; with flat, every line's indentation removed (a dump without it)."""
    gold = json.loads((root / "snippets.json").read_text(encoding="utf-8"))
    files = sorted((root / "dumps").glob("*.txt"))
    pages: list[Page] = []
    for i in range(0, len(files), batch):  # batches as score_cleaning.py sends them (cross-file repetition)
        raws, _ = load_raw([str(f) for f in files[i : i + batch]])
        if flat:
            raws = [r if r.is_html else replace(r, text="\n".join(ln.lstrip() for ln in r.text.split("\n")))
                    for r in raws]
        words = [None if r.is_html else clean._line_words(r.text) for r in raws]
        repeated = clean.repeated_keys(raws, words)
        for raw, rep, w in zip(raws, repeated, words, strict=True):
            k = Path(raw.path).stem + ("/flat" if flat else "")
            g = gold[Path(raw.path).stem]
            with_, without = [norm(s) for s in g["with"]], [norm(s) for s in g["without"]]
            site = urlparse(g["url"]).netloc or g["url"].split("::")[-1].split("-")[0]
            if raw.is_html:
                doc = clean.clean_document(raw, rep, w)
                pages.append(Page(k, site, g.get("lang", ""), [], np.zeros((0, len(clean.FEATURE_NAMES))),
                                  np.zeros(0), np.zeros(0), with_, without, fixed=doc.text))
                continue
            blocks, cut, header, _, appended, lang = clean._rule_pass(raw.text, rep, w, normalised_lines(raw.text))
            rows = clean.open_blocks(blocks, cut, appended)  # the blocks the model decides
            feats = clean.line_features(blocks, cut, header, lang, rows)
            texts = [b.text for b in blocks]
            y, wt = labels(texts, with_, without)
            x = np.array(feats, dtype=float).reshape(len(rows), len(clean.FEATURE_NAMES))
            pages.append(Page(k, site, g.get("lang", ""), texts, x, y[rows], np.array([b.keep for b in blocks]),
                              with_, without, blocks=blocks, cut=cut, appended=appended, header=header,
                              w=wt[rows], rows=rows))
    return pages


# ---- models -----------------------------------------------------------------------------------------------------

def fit_logistic(x: np.ndarray, y: np.ndarray, w8: np.ndarray, l2: float = 1.0) -> linemodel.LineModel:
    """L2-regularised logistic regression by Newton's method (features are already on comparable scales)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(30):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        g = xb.T @ (w8 * (p - y)) + reg * w
        h = (xb * (w8 * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-6 * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return linemodel.LineModel("logistic", clean.FEATURE_NAMES, 0.5, 0.5, float(w[-1]), tuple(float(v) for v in w[:-1]))


def _tree(x: np.ndarray, g: np.ndarray, h: np.ndarray, depth: int, lam: float, min_h: float) -> list[list[float]]:
    """One regression tree on gradients/hessians (XGBoost-style gain), as a flat node list."""
    nodes: list[list[float]] = []

    def build(idx: np.ndarray, d: int) -> int:
        me = len(nodes)
        nodes.append([])
        gs, hs = g[idx].sum(), h[idx].sum()
        best = (0.0, -1, 0.0)
        if d < depth and len(idx) >= 4:
            for f in range(x.shape[1]):
                v = x[idx, f]
                order = np.argsort(v, kind="stable")
                vs, gc, hc = v[order], np.cumsum(g[idx][order]), np.cumsum(h[idx][order])
                ok = (vs[:-1] < vs[1:]) & (hc[:-1] >= min_h) & (hs - hc[:-1] >= min_h)
                if not ok.any():
                    continue
                gl, hl = gc[:-1], hc[:-1]
                gain = gl**2 / (hl + lam) + (gs - gl) ** 2 / (hs - hl + lam) - gs**2 / (hs + lam)
                gain = np.where(ok, gain, -np.inf)
                j = int(np.argmax(gain))
                if gain[j] > best[0]:
                    best = (float(gain[j]), f, float((vs[j] + vs[j + 1]) / 2))
        if best[1] < 0:
            nodes[me] = [float(-gs / (hs + lam))]
            return me
        f, thr = best[1], best[2]
        left = build(idx[x[idx, f] <= thr], d + 1)
        right = build(idx[x[idx, f] > thr], d + 1)
        nodes[me] = [float(f), thr, float(left), float(right)]
        return me

    build(np.arange(len(x)), 0)
    return nodes


def fit_gbt(x: np.ndarray, y: np.ndarray, w8: np.ndarray, n_trees: int = 60, depth: int = 3, lr: float = 0.15,
            lam: float = 5.0, min_h: float = 3.0) -> linemodel.LineModel:
    """Gradient-boosted trees for the logistic loss (small and regularised: shallow trees, L2 on leaves)."""
    prior = float(np.clip((w8 * y).sum() / w8.sum(), 1e-3, 1 - 1e-3))
    bias = float(np.log(prior / (1 - prior)))
    z = np.full(len(y), bias)
    trees = []
    for _ in range(n_trees):
        p = 1 / (1 + np.exp(-z))
        tree = _tree(x, w8 * (p - y), w8 * p * (1 - p), depth, lam, min_h)
        model = linemodel.LineModel("gbt", clean.FEATURE_NAMES, 0.5, 0.5, 0.0, trees=(tuple(map(tuple, tree)),))
        z += lr * np.array([model.score(list(r)) for r in x])
        trees.append(tuple(map(tuple, tree)))
    return linemodel.LineModel("gbt", clean.FEATURE_NAMES, 0.5, 0.5, bias, trees=tuple(trees), learning_rate=lr)


def fit(kind: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, **kw: float) -> linemodel.LineModel:
    return fit_gbt(x, y, w, **kw) if kind == "gbt" else fit_logistic(x, y, w, **kw)  # type: ignore[arg-type]


# ---- evaluation -------------------------------------------------------------------------------------------------

def page_text(page: Page, probs: np.ndarray | None, threshold: tuple[float, float]) -> str:
    if page.fixed is not None:
        return norm(page.fixed)
    keep = page.rule_keep if probs is None else np.array(
        clean.model_verdicts(page.blocks, list(probs), *threshold, page.cut, page.appended, page.header))
    if probs is not None and not keep.any():
        keep = page.rule_keep
    return norm(" ".join(t for t, k in zip(page.texts, keep, strict=True) if k))


def score(
    pages: list[Page], probs: dict[str, np.ndarray] | None, threshold: tuple[float, float]
) -> dict[str, dict[str, float]]:
    counts = {g: {"tp": 0, "fn": 0, "fp": 0, "empty": 0} for g in ("all", "en", "other", "flat")}
    for pg in pages:
        text = page_text(pg, None if probs is None else probs.get(pg.key), threshold)
        groups = ("flat",) if pg.key.endswith("/flat") else ("all", "en" if pg.lang == "en" else "other")
        for g in groups:
            c = counts[g]
            for s in pg.with_:
                c["tp" if s in text else "fn"] += 1
            c["fp"] += sum(1 for s in pg.without if s in text)
            c["empty"] += not text
    out = {}
    for g, c in counts.items():
        if not c["tp"] + c["fn"] + c["fp"]:
            continue
        p = c["tp"] / max(1, c["tp"] + c["fp"])
        r = c["tp"] / max(1, c["tp"] + c["fn"])
        out[g] = {"P": round(p, 3), "R": round(r, 3), "F1": round(2 * p * r / max(1e-9, p + r), 3), "empty": c["empty"]}
    return out


def folds_by_site(pages: list[Page], k: int) -> list[list[Page]]:
    sites = sorted({p.site for p in pages})
    rng = np.random.default_rng(13)
    order = rng.permutation(len(sites))
    fold_of = {sites[j]: n % k for n, j in enumerate(order)}
    return [[p for p in pages if fold_of[p.site] == f] for f in range(k)]


def stack(pages: list[Page]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    use = [p for p in pages if len(p.x)]
    if not use:
        return np.zeros((0, len(clean.FEATURE_NAMES))), np.zeros(0), np.zeros(0)
    xs = [p.x[p.y >= 0] for p in use]
    ys = [p.y[p.y >= 0] for p in use]
    ws = [(p.w if p.w is not None else np.ones(len(p.y)))[p.y >= 0] for p in use]
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def cross_validate(pages: list[Page], kind: str, k: int, **kw: float) -> dict[str, np.ndarray]:
    probs: dict[str, np.ndarray] = {}
    for held in folds_by_site(pages, k):
        held_keys = {p.key for p in held}
        x, y, w = stack([p for p in pages if p.key not in held_keys])
        model = fit(kind, x, y, w, **kw)
        for p in held:
            if len(p.x):
                probs[p.key] = np.zeros(len(p.texts))
                probs[p.key][p.rows] = model.predict([list(r) for r in p.x])
    return probs


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    words = [w.lower() for w in re.findall(r"\w+", text)]
    return Counter(tuple(words[i : i + n]) for i in range(max(0, len(words) - n + 1)))


def fixture_scores(with_model: bool, news: bool = False) -> dict[str, float]:
    """4-gram shingle P/R/F1 of the cleaner on the repository's own gold fixtures (seeds, synthetic and intl dumps),
    or with news=True on the English news-page dumps of tests/fixtures/en_news (inscriptis-style, whole-article gold).
    """
    fix = ROOT / "tests" / "fixtures"
    cases = [] if news else [
        (ROOT / "seeds" / f"{g.name[:-9]}.txt", g) for g in sorted((fix / "gold").glob("*.body.txt"))
    ]
    for d in ("en_news",) if news else ("dumps", "intl"):
        cases += [(g.with_name(g.name[:-9] + ".txt"), g) for g in sorted((fix / d).glob("*.body.txt"))]
    saved = linemodel.load
    if not with_model:
        linemodel.load = lambda path=linemodel.MODEL_PATH: None  # type: ignore[assignment,misc]
    try:
        raws, _ = load_raw([str(c[0]) for c in cases])
        docs = clean.clean_documents(raws)
    finally:
        linemodel.load = saved  # type: ignore[method-assign]
    hit = kept_n = gold_n = 0
    for (_, body), doc in zip(cases, docs, strict=True):
        opt_path = body.with_name(body.name.replace(".body.", ".optional."))
        opt = {norm(o) for o in opt_path.read_text(encoding="utf-8").splitlines()} if opt_path.exists() else set()
        kept = _shingles("\n".join(p for p in doc.text.split("\n") if norm(p) not in opt))
        gold = _shingles(body.read_text(encoding="utf-8"))
        hit += sum((kept & gold).values())
        kept_n += sum(kept.values())
        gold_n += sum(gold.values())
    p, r = hit / max(1, kept_n), hit / max(1, gold_n)
    return {"P": round(p, 3), "R": round(r, 3), "F1": round(2 * p * r / max(1e-9, p + r), 3), "pages": len(cases)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", type=Path, default=DEV)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--kind", choices=("gbt", "logistic"), default="logistic")
    ap.add_argument("--trees", type=int, default=60)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--l2", type=float, default=3.0)
    ap.add_argument("--min-precision", type=float, default=0.0, help="thresholds must keep CV precision this high")
    ap.add_argument("--fixtures", action="store_true", help="only score the repository's gold fixtures, rules vs model")
    ap.add_argument("--write", action="store_true", help="fit on all pages and write the model file")
    ap.add_argument("--out", type=Path, default=linemodel.MODEL_PATH, help="model file written by --write")
    a = ap.parse_args(argv)
    if a.fixtures:
        print("own fixtures, rules only (4-gram shingles):", json.dumps(fixture_scores(False)))
        print("own fixtures, with the shipped model:", json.dumps(fixture_scores(True)))
        print("English news dumps, rules only:", json.dumps(fixture_scores(False, news=True)))
        print("English news dumps, with the shipped model:", json.dumps(fixture_scores(True, news=True)))
        return
    if not (a.set / "snippets.json").exists():
        sys.exit(f"no dev set at {a.set} (snippets.json and dumps/)")
    # Each page twice: as dumped and with its indentation removed, so that the indentation features help where a
    # dump has them and the model stays calibrated on dumps without (scores: all/en/other as dumped, flat without).
    pages = load_pages(a.set) + load_pages(a.set, flat=True)
    if not any(len(p.y) for p in pages):
        sys.exit("no block of the dev set is both open to the model and labelled by a snippet")
    x, y, w = stack(pages)
    print(f"{len(pages)} pages, {len(x)} labelled blocks ({int(y.sum())} article), {x.shape[1]} features")
    print("rules only:", json.dumps(score(pages, None, (0.5, 0.5))))
    kw = {"n_trees": a.trees, "depth": a.depth} if a.kind == "gbt" else {"l2": a.l2}
    probs = cross_validate(pages, a.kind, a.folds, **kw)
    # Thresholds: best cross-validated F1, as the mean of all pages, all pages without indentation and the English
    # pages (English is held out as a set of its own, and is the weakest); among equal F1 (to 3 decimals) the higher
    # precision, then the thresholds nearest the rules (the model overrules them least).
    best_t, best_key = (0.5, 0.5), (-1.0, -1.0, -1.0)
    for lo in np.arange(0.1, 0.51, 0.05):
        for hi in np.arange(0.5, 0.91, 0.05):
            t = (round(float(lo), 2), round(float(hi), 2))
            s = score(pages, probs, t)
            rank = (round((s["all"]["F1"] + s["flat"]["F1"] + s["en"]["F1"]) / 3, 3), s["all"]["P"], hi - lo)
            if rank > best_key and s["all"]["P"] >= a.min_precision:
                best_t, best_key = t, rank
    print(f"cv {a.kind} best drop_below/keep_above {best_t}:", json.dumps(score(pages, probs, best_t)))
    if a.write:
        model = fit(a.kind, x, y, w, **kw)
        model = linemodel.LineModel(model.kind, model.features, *best_t, model.bias, model.weights,
                                    model.trees, model.learning_rate)
        a.out.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {a.out} ({a.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
