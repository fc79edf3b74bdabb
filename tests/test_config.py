from pathlib import Path

import pytest

from briefing.config import load_settings
from briefing.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "briefing.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_give_profile_with_four_questions(tmp_path: Path) -> None:
    s = load_settings(None, environ={}, dotenv_path=None)
    profile = s.to_profile()
    assert [q.key for q in profile.focus_questions] == [
        "military_cooperation", "china_role", "canada_korea_response", "canada_implications"]
    assert s.run.engine == "auto" and not s.llm_configured()


def test_repo_profile_is_valid() -> None:
    s = load_settings(Path(__file__).parent.parent / "briefing.toml", environ={}, dotenv_path=None)
    assert s.run.sources == ["seeds"]


def test_default_profile_is_written_once_in_the_packaged_file() -> None:
    import tomllib

    from briefing.config import DEFAULT_TRANSLATIONS, default_profile_path

    packaged = tomllib.loads(default_profile_path().read_text(encoding="utf-8"))["profile"]
    profile = load_settings(None, environ={}, dotenv_path=None).profile
    assert profile.title == packaged["title"] and profile.audience == packaged["audience"]
    assert [q.key for q in profile.focus_questions] == [q["key"] for q in packaged["focus_questions"]]
    assert profile.focus_questions[0].keywords == packaged["focus_questions"][0]["keywords"]
    assert DEFAULT_TRANSLATIONS[packaged["title"]]["fr"] == packaged["titles"]["fr"]
    repo = tomllib.loads((Path(__file__).parent.parent / "briefing.toml").read_text(encoding="utf-8"))
    assert "profile" not in repo  # not copied into briefing.toml


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[run]\nsorces = ['x']\n", "run.sorces"),
        ("[llm]\nconcurrency = 0\n", "llm.concurrency"),
        ("[llm]\nconcurrency = 'many'\n", "llm.concurrency"),
        ("[llm]\ncontext_window = -5\n", "llm.context_window"),
        ("[run]\nengine = 'gpt'\n", "run.engine"),
        ("[profile]\nfocus_questions = []\n", "profile.focus_questions"),
        ("colour = 'red'\n", "colour"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(write(tmp_path, toml), environ={}, dotenv_path=None)
    assert key in str(e.value)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[run\n"), environ={}, dotenv_path=None)


def test_precedence_flags_over_env_over_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[llm]\nmodel = 'from-file'\nconcurrency = 3\n")
    env = {"BRIEFING_MODEL": "from-env"}
    assert load_settings(cfg, environ={}, dotenv_path=None).llm.model == "from-file"
    assert load_settings(cfg, environ=env, dotenv_path=None).llm.model == "from-env"
    s = load_settings(cfg, {"llm.model": "from-flag", "llm.concurrency": None}, environ=env, dotenv_path=None)
    assert s.llm.model == "from-flag" and s.llm.concurrency == 3


def test_dotenv_is_read_and_env_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("OPENAI_BASE_URL=http://127.0.0.1:9/v1\nBRIEFING_MODEL=dot\n", encoding="utf-8")
    s = load_settings(None, environ={"BRIEFING_MODEL": "env"}, dotenv_path=dotenv)
    assert s.llm.base_url == "http://127.0.0.1:9/v1" and s.llm.model == "env"
    assert s.llm_configured()


def test_bad_env_value_names_the_variable_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="llm.concurrency"):
        load_settings(None, environ={"BRIEFING_CONCURRENCY": "0"}, dotenv_path=None)


def test_api_key_is_secret(tmp_path: Path) -> None:
    s = load_settings(None, environ={"OPENAI_API_KEY": "sk-test-secret"}, dotenv_path=None)
    assert "sk-test-secret" not in repr(s) and "sk-test-secret" not in s.model_dump_json()
    assert s.llm.api_key is not None and s.llm.api_key.get_secret_value() == "sk-test-secret"
