"""The CLI: exit codes, stdout contract, help, and one clear line on errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
OTHER = Path(__file__).parent / "fixtures" / "articles"


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    return subprocess.run([sys.executable, "-m", "briefing", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**base, **(env or {})}, timeout=120)


def test_version_and_help() -> None:
    r = cli("--version")
    assert r.returncode == 0 and "briefing" in r.stdout
    r = cli("--help")
    assert r.returncode == 0
    for command in ("run", "clean", "chunk", "verify"):
        assert command in r.stdout
        sub = cli(command, "--help")
        assert sub.returncode == 0 and "Usage:" in sub.stdout


def test_run_prints_brief_path_last(tmp_path: Path) -> None:
    r = cli("run", str(OTHER), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.endswith("brief.md") and Path(last).is_file()
    assert (Path(last).parent / "brief.json").is_file()
    assert "engine: extractive" in r.stderr


def test_quiet_run_has_no_progress(tmp_path: Path) -> None:
    r = cli("run", str(OTHER), "--out", str(tmp_path / "out"), "--quiet", cwd=tmp_path)
    assert r.returncode == 0 and "·" not in r.stderr


def test_usage_error_exits_2() -> None:
    assert cli("run", "--engine", "nonsense").returncode == 2
    assert cli("chunk", "x.txt").returncode == 2  # --max-tokens missing
    assert cli("no-such-command").returncode == 2


def test_config_error_names_key_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "briefing.toml").write_text("[llm]\nconcurrency = 0\n", encoding="utf-8")
    r = cli("run", str(OTHER), cwd=tmp_path)
    assert r.returncode == 2
    assert "llm.concurrency" in r.stderr and "Traceback" not in r.stderr


def test_missing_input_is_one_line_exit_1(tmp_path: Path) -> None:
    r = cli("run", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "nope" in r.stderr


def test_clean_json_lines() -> None:
    files = sorted(OTHER.glob("*.txt"))
    r = cli("clean", "--json", *map(str, files))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(f) for f in files]
    for row in rows:
        assert set(row) >= {"path", "text", "title", "authors", "publisher", "published", "language", "flags",
                            "dropped"}
        assert isinstance(row["authors"], list) and row["text"]


@pytest.mark.parametrize("budget", [20, 64])
def test_chunk_json_lines_respect_budget(budget: int) -> None:
    src = OTHER / "shells_report.txt"
    r = cli("chunk", str(src), "--max-tokens", str(budget))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) > 1
    assert all(row["tokens"] <= budget for row in rows)
    assert all(row["end"] > row["start"] for row in rows)


def test_python_dash_m_and_console_script_agree() -> None:
    exe = Path(sys.executable).parent / "briefing"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == cli("--version").stdout


def test_prompts_commands(tmp_path: Path) -> None:
    r = cli("prompts", "list")
    assert r.returncode == 0 and "summarize.system.j2" in r.stdout and "brief.md.j2" in r.stdout
    r = cli("prompts", "show", "synthesize.user")
    assert r.returncode == 0 and "{{" in r.stdout
    r = cli("prompts", "path", "brief.md")
    assert r.returncode == 0 and r.stdout.strip().endswith("brief.md.j2")
    r = cli("prompts", "edit", "summarize.system", "--no-editor", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "prompts" / "summarize.system.j2").is_file()
    # The local copy now wins the search.
    r = cli("prompts", "path", "summarize.system", cwd=tmp_path)
    assert Path(r.stdout.strip()).resolve() == (tmp_path / "prompts" / "summarize.system.j2").resolve()
    r = cli("prompts", "render", "summarize.user", "--source", str(OTHER / "shells_report.txt"))
    assert r.returncode == 0 and '<article id="1">' in r.stdout and "9,000 containers" in r.stdout
    r = cli("prompts", "show", "nope.user")
    assert r.returncode == 1 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_a_stop_request_raised_while_a_class_is_made_is_still_a_stop(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM landing in an import (a class body's __set_name__): Python 3.11 wraps it in a RuntimeError, which was
    reported as an internal error, exit 1; it is the stop it is (exit 143)."""
    from briefing import cli as cli_module
    from briefing.errors import Terminated

    class Stops:
        def __set_name__(self, owner: type, name: str) -> None:
            raise Terminated(15, "SIGTERM")

    def command(*args: object, **kwargs: object) -> None:
        type("Model", (), {"field": Stops()})  # what a signal during `import anyio` looked like

    monkeypatch.setattr(cli_module.cli, "main", command)
    with pytest.raises(SystemExit) as exit_:
        cli_module.main()
    assert exit_.value.code == 143
    err = capsys.readouterr().err
    assert "terminated by SIGTERM" in err and "internal error" not in err
