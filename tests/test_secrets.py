"""A planted API key (env or .env) and URL passwords appear in no file a run writes, nor in its stdout/stderr."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer

ROOT = Path(__file__).parent.parent
ARTICLES = Path(__file__).parent / "fixtures" / "articles"
KEY = "sk-test-PLANTED-0123456789abcdef"
PASSWORD = "PLANTEDpassw0rd"


def leaks(root: Path, secret: str, skip: set[Path]) -> list[str]:
    """Files under root whose raw bytes contain the secret (or its distinctive middle part)."""
    needles = [secret.encode(), secret[8:24].encode()]
    found = []
    for p in root.rglob("*"):
        if p in skip or not p.is_file() or p.is_symlink():
            continue
        data = p.read_bytes()
        if any(n in data for n in needles):
            found.append(str(p))
    return found


def run_cli(tmp_path: Path, *args: str, env: dict[str, str], debug: bool = False) -> subprocess.CompletedProcess[str]:
    """`briefing run` with HOME, XDG dirs and TMPDIR inside tmp_path, so every file it writes is searched."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    home = tmp_path / "home"
    (tmp_path / "tmp").mkdir(exist_ok=True)
    base.update({"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".data"),
                 "XDG_CONFIG_HOME": str(home / ".config"), "TMPDIR": str(tmp_path / "tmp"),
                 "BRIEFING_MODEL": "test-model"})
    cfg = tmp_path / "fast.toml"
    if not cfg.exists():
        cfg.write_text("[llm]\nmax_retries = 1\nretry_backoff = 0.01\ntimeout = 0.5\n", encoding="utf-8")
    flags = ["--debug"] if debug else []
    return subprocess.run([sys.executable, "-m", "briefing", *flags, "run", "--config", str(cfg), *args],
                          capture_output=True, text=True, env={**base, **env}, cwd=tmp_path, timeout=120)


def check(tmp_path: Path, r: subprocess.CompletedProcess[str], secret: str = KEY) -> None:
    assert secret not in r.stdout and secret not in r.stderr
    assert secret[8:24] not in r.stdout + r.stderr
    assert leaks(tmp_path, secret, {tmp_path / ".env"}) == []
    assert (tmp_path / "out" / "runs.jsonl").is_file()  # the run did write its logs; they were searched


@pytest.fixture(params=["env", "dotenv"])
def key_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The key via the environment, or via ./.env in the working directory."""
    if request.param == "env":
        return {"OPENAI_API_KEY": KEY}
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={KEY}\n", encoding="utf-8")
    return {}


@pytest.mark.parametrize("debug", [False, True])
def test_success_path_writes_no_key(tmp_path: Path, key_env: dict[str, str], debug: bool) -> None:
    folder = Path(shutil.copytree(ARTICLES, tmp_path / "in"))
    with LLMServer(api_key=KEY) as srv:  # the key really is sent, and accepted
        r = run_cli(tmp_path, str(folder), "--out", str(tmp_path / "out"),
                    env={**key_env, "OPENAI_BASE_URL": srv.base_url}, debug=debug)
        assert srv.completions() and all(x.status == 200 for x in srv.completions())
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "calls.jsonl").is_file() and list((tmp_path / "out" / ".cache").glob("*.sqlite*"))
    check(tmp_path, r)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("fault", ["401", "timeout"])
def test_failure_paths_write_no_key(tmp_path: Path, key_env: dict[str, str], fault: str, debug: bool) -> None:
    folder = Path(shutil.copytree(ARTICLES, tmp_path / "in"))
    server: dict[str, Any] = {"api_key": "some-other-key"} if fault == "401" else {
        "api_key": KEY, "fail_marker": "bluf", "marker_fault": "timeout", "hang": 2.0}
    with LLMServer(**server) as srv:
        r = run_cli(tmp_path, str(folder), "--out", str(tmp_path / "out"),
                    env={**key_env, "OPENAI_BASE_URL": srv.base_url}, debug=debug)
    assert r.returncode == 1
    assert ("401" if fault == "401" else "timed out") in r.stderr
    if debug:
        assert "Traceback" in r.stderr  # --debug really shows the traceback, and the key is not in it
    check(tmp_path, r)


def test_config_error_path_writes_no_key(tmp_path: Path, key_env: dict[str, str]) -> None:
    r = run_cli(tmp_path, "--out", str(tmp_path / "out"), env={**key_env, "BRIEFING_CONCURRENCY": "0"})
    assert r.returncode == 2 and "llm.concurrency" in r.stderr
    assert KEY not in r.stdout + r.stderr and leaks(tmp_path, KEY, {tmp_path / ".env"}) == []


def test_key_of_wrong_type_in_config_is_not_echoed(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'[llm]\napi_key = ["{KEY}"]\n', encoding="utf-8")
    for debug in ([], ["--debug"]):
        r = subprocess.run([sys.executable, "-m", "briefing", *debug, "run", "--config", str(cfg)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60,
                           env={k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))})
        assert r.returncode == 2 and "llm.api_key" in r.stderr
        assert KEY not in r.stdout + r.stderr


# ----- URLs with credentials -------------------------------------------------------------------------------------

def test_url_password_is_not_shown_or_stored(tmp_path: Path, article_server: str) -> None:
    url = f"http://analyst:{PASSWORD}@{article_server}/article.txt"
    folder = Path(shutil.copytree(ARTICLES, tmp_path / "in"))
    (folder / "arctic_patrol.txt").unlink()
    r = run_cli(tmp_path, url, str(folder), "--out", str(tmp_path / "out"), "--engine", "extractive", env={})
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "out" / "latest" / "brief.md").read_text(encoding="utf-8")
    assert f"http://{article_server}/article.txt" in md  # the source is listed, without its userinfo
    check(tmp_path, r, PASSWORD)
    missing = f"http://analyst:{PASSWORD}@127.0.0.1:9/gone.txt"  # the warning for a failed fetch is redacted too
    r = run_cli(tmp_path, missing, str(folder), "--out", str(tmp_path / "out"), "--engine", "extractive", env={})
    assert r.returncode == 0 and "127.0.0.1:9/gone.txt" in r.stderr
    check(tmp_path, r, PASSWORD)


def test_dotenv_is_git_ignored() -> None:
    lines = [ln.strip() for ln in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()]
    assert ".env" in lines or "/.env" in lines
    r = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30)
    assert r.returncode == 0
