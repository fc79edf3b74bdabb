"""The package's import graph: every module imports on its own, and no module imports itself through others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "briefing"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Modules of the package that `name` imports anywhere (top level, inside functions, under TYPE_CHECKING)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from briefing.ingest import clean` imports the module briefing.ingest.clean
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in MODULES and t != name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_lazy_and_from_package_imports() -> None:
    assert "briefing.ingest.dedup" in GRAPH["briefing.pipeline"]
    assert "briefing.ingest.metadata" in GRAPH["briefing.ingest.clean"]  # imported inside a function
    assert "briefing.pipeline" in GRAPH["briefing.cli"]  # imported lazily by the commands


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


STAGES = ["ingest", "chunk", "engines", "summarize", "synthesize", "verify", "render"]


def _stage(name: str) -> int:
    """Position of a stage module in the flow; -1 for plumbing (models, text, config, pipeline, cli...)."""
    parts = name.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else -1


def test_no_import_climbs_up_a_stage() -> None:
    up = [(a, b) for a, targets in GRAPH.items() for b in targets if -1 < _stage(a) < _stage(b)]
    assert up == []
    assert _stage("briefing.engines.extractive") < _stage("briefing.synthesize")


def test_every_module_imports_alone() -> None:
    """Each module in a fresh interpreter (all at once): an import order that only works by luck fails here."""
    modules = sorted(m for m in MODULES if m != "briefing.__main__")  # __main__ runs the CLI
    procs = {m: subprocess.Popen([sys.executable, "-c", f"import {m}"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True) for m in modules}
    failed = {m: p.communicate(timeout=300)[1][-1000:] for m, p in procs.items()}
    assert {m: err for m, err in failed.items() if procs[m].returncode != 0} == {}
    assert len(modules) > 30


LEAVES = ["models", "text", "sentences", "tokens", "net", "errors", "cache", "templates", "messages", "confidence",
          "config"]


def test_shared_leaf_modules_import_no_stage() -> None:
    leaves = [f"briefing.{name}" for name in LEAVES]
    assert all(m in GRAPH for m in leaves)
    climbing = {m: sorted(t for t in GRAPH[m] if _stage(t) >= 0 or t in ("briefing.pipeline", "briefing.cli"))
                for m in leaves}
    assert {m: t for m, t in climbing.items() if t} == {}
