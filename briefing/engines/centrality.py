"""Cross-source sentence centrality for the offline engine: a LexRank-style graph where agreement counts per source.

Every sentence is a node with a TF-IDF vector. An edge i -> j carries the cosine similarity of the two sentences,
but only to j = the closest sentence of each *other* independent source group (near-duplicate reports of one event
form one group): a fact repeated five times inside one article, or copied by a second outlet from the same wire
story, counts once, and a fact that independent sources agree on gets edges from each of them. Edges inside the
same group keep a small weight so a single-source corpus still has an article-level ranking. Scores come from a
power iteration (PageRank) whose teleport vector is a prior (lead position, stand-alone quality), as in biased
LexRank. Sentences are compared only with sentences of the same language, so each language is ranked on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_NODES = 4000  # beyond this, only each source's leading sentences enter the graph (memory is n^2 floats)
EDGE_MIN = 0.08  # weaker similarities are noise (shared common words), not agreement
WITHIN_GROUP = 0.15  # weight of similarity inside one source group, relative to agreement across groups
OUT_MIN = 1e-9  # a sentence passes on its full score only with at least this much edge weight
AGREE_MIN = 0.3  # cosine at which another source's sentence counts as stating the same thing


@dataclass
class Centrality:
    """Per-sentence results, indexed like the input: score (max 1 per language), agreeing groups and matches."""

    score: list[float]
    agree: list[int]  # how many other independent groups have a sentence close to this one (cosine >= AGREE_MIN)
    matches: list[dict[int, tuple[int, float]]]  # other group -> (index of its closest sentence, cosine)


def similarity(vecs: Sequence[dict[str, float]]) -> np.ndarray:
    """Cosine similarity of unit-length sparse vectors, as a dense n x n matrix (zero diagonal).

    Computed through postings: each term adds the outer product of its weights over the sentences that have it,
    so the cost follows the number of shared terms, not the vocabulary size.
    """
    n = len(vecs)
    sim = np.zeros((n, n), dtype=np.float32)
    postings: dict[str, tuple[list[int], list[float]]] = {}
    for i, v in enumerate(vecs):
        for t, w in v.items():
            rows, ws = postings.setdefault(t, ([], []))
            rows.append(i)
            ws.append(w)
    for rows, ws in postings.values():
        if len(rows) < 2:
            continue
        idx = np.asarray(rows)
        vals = np.asarray(ws, dtype=np.float32)
        sim[np.ix_(idx, idx)] += np.outer(vals, vals)
    np.fill_diagonal(sim, 0.0)
    return sim


def _per_group(prior: np.ndarray, grp: np.ndarray) -> np.ndarray:
    """Teleport vector: each independent source group gets the same share, split by the prior inside it."""
    tele = np.zeros_like(prior)
    groups = np.unique(grp)
    for g in groups:
        sel = grp == g
        total = prior[sel].sum()
        tele[sel] = prior[sel] / total if total > 0 else 1.0 / sel.sum()
    return tele / len(groups)


def centrality(vecs: Sequence[dict[str, float]], groups: Sequence[int], languages: Sequence[str],
               prior: Sequence[float], damping: float = 0.85, iterations: int = 100) -> Centrality:
    """Cross-source centrality of each sentence (see the module docstring); `groups` are independent-source ids."""
    n = len(vecs)
    if n == 0:
        return Centrality([], [], [])
    sim = similarity(vecs)
    lang = np.asarray(list(languages))
    sim[lang[:, None] != lang[None, :]] = 0.0  # each language is ranked on its own
    sim[sim < EDGE_MIN] = 0.0
    grp = np.asarray(groups)
    same = grp[:, None] == grp[None, :]
    weights = np.where(same, sim * WITHIN_GROUP, 0.0).astype(np.float32)
    agree = np.zeros(n, dtype=np.int64)
    matches: list[dict[int, tuple[int, float]]] = [{} for _ in range(n)]
    rows = np.arange(n)
    for g in np.unique(grp):
        members = np.flatnonzero(grp == g)
        sub = sim[:, members]
        best_col = sub.argmax(axis=1)
        best = sub[rows, best_col]
        best_idx = members[best_col]
        outside = (grp != g) & (best > 0)
        weights[rows[outside], best_idx[outside]] += best[outside]
        agree += (outside & (best >= AGREE_MIN)).astype(np.int64)
        for i in np.flatnonzero(outside & (best >= AGREE_MIN)):
            matches[int(i)][int(g)] = (int(best_idx[i]), float(best[i]))
    # PageRank: a sentence is central when sentences of other sources point at it, weighted by their own score.
    # Rows are divided by at least OUT_MIN, not normalised to 1: a sentence with only weak (e.g. same-article)
    # edges passes little of its score on, and the rest returns through the prior.
    out_sum = weights.sum(axis=1).astype(np.float64)
    src, dst = np.nonzero(weights)  # sparse walk: each row has about one edge per other source group
    val = weights[src, dst].astype(np.float64) / np.maximum(out_sum[src], OUT_MIN)
    leak = 1.0 - np.bincount(src, weights=val, minlength=n)
    tele = _per_group(np.asarray(prior, dtype=np.float64), grp)
    p = tele.copy()
    for _ in range(iterations):
        new = (1 - damping) * tele + damping * (np.bincount(dst, weights=val * p[src], minlength=n)
                                                + float(p @ leak) * tele)
        if np.abs(new - p).sum() < 1e-10:
            p = new
            break
        p = new
    score = np.zeros(n)
    for code in np.unique(lang):  # normalise within each language: the best sentence of a language scores 1
        sel = lang == code
        top = p[sel].max()
        score[sel] = p[sel] / top if top > 0 else 0.0
    return Centrality([float(x) for x in score], [int(x) for x in agree], matches)
