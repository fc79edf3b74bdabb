"""The cleaner's learned line model: small boosted trees or a logistic regression over line features (leaf module).

The model file (cleaner_model.json beside this module) is rebuilt by bench/train_cleaner.py from the cleaning dev set;
inference is plain Python so the package needs no machine-learning library at run time.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_PATH = Path(__file__).with_name("cleaner_model.json")


@dataclass(frozen=True)
class LineModel:
    """A fitted model: feature names (checked against the cleaner's), its two thresholds and the parameters.

    The cleaner drops a line its rules kept when the probability is under drop_below, and keeps a line they dropped
    when it is at least keep_above: the model overrules the rules only where it is confident.
    """

    kind: str  # "gbt" or "logistic"
    features: tuple[str, ...]
    drop_below: float
    keep_above: float
    bias: float
    weights: tuple[float, ...] = ()
    # Each tree is a flat list of nodes: [feature, threshold, left, right] for a split, [value] for a leaf.
    trees: tuple[tuple[tuple[float, ...], ...], ...] = ()
    learning_rate: float = 1.0

    def score(self, x: list[float]) -> float:
        """Log-odds that the line belongs to the article."""
        if self.kind == "logistic":
            return self.bias + sum(map(operator.mul, self.weights, x))
        total = self.bias
        for tree in self.trees:
            node = tree[0]
            while len(node) == 4:
                node = tree[int(node[2] if x[int(node[0])] <= node[1] else node[3])]
            total += self.learning_rate * node[0]
        return total

    def predict(self, rows: list[list[float]]) -> list[float]:
        """Probability, for each feature row, that the line belongs to the article."""
        out = []
        for x in rows:
            z = max(-30.0, min(30.0, self.score(x)))
            out.append(1.0 / (1.0 + math.exp(-z)))
        return out

    def to_json(self) -> dict[str, Any]:
        """The model as a JSON-serialisable dict (the format of cleaner_model.json)."""
        return {"kind": self.kind, "features": list(self.features), "drop_below": self.drop_below,
                "keep_above": self.keep_above, "bias": self.bias,
                "weights": list(self.weights), "trees": [[list(n) for n in t] for t in self.trees],
                "learning_rate": self.learning_rate}


def from_json(d: dict[str, Any]) -> LineModel:
    """Build a LineModel from the dict written by LineModel.to_json."""
    return LineModel(
        kind=str(d["kind"]),
        features=tuple(d["features"]),
        drop_below=float(d["drop_below"]),
        keep_above=float(d["keep_above"]),
        bias=float(d["bias"]),
        weights=tuple(float(w) for w in d.get("weights", ())),
        trees=tuple(tuple(tuple(float(v) for v in node) for node in t) for t in d.get("trees", ())),
        learning_rate=float(d.get("learning_rate", 1.0)),
    )


@lru_cache(maxsize=1)
def load(path: Path = MODEL_PATH) -> LineModel | None:
    """The shipped model, or None when the file is missing (the cleaner then keeps the rules' verdicts)."""
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
