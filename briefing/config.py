"""Settings resolved in one place: flags > environment/.env > briefing.toml > packaged defaults, validated by key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from briefing.errors import BriefingError, ConfigError
from briefing.models import FocusQuestion, Profile
from briefing.redact import add_secret

CONFIG_FILE = "briefing.toml"
OUTPUT_FORMATS = ("md", "html", "docx", "pdf")  # brief.json is always written, and brief.md with it


def parse_formats(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """`md,html,docx` (or a list) -> checked, de-duplicated names; an unknown one is a ConfigError naming it."""
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    out: list[str] = []
    for raw in items:
        name = raw.strip().lower().lstrip(".")
        if not name:
            continue
        if name not in OUTPUT_FORMATS:
            raise ConfigError(f"unknown format {raw.strip()!r}; choose from {', '.join(OUTPUT_FORMATS)}")
        if name not in out:
            out.append(name)
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)  # no inf/nan numbers


class FocusQuestionSettings(_Strict):
    """One focus question: a section of the analysis."""

    key: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1)
    question: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    titles: dict[str, str] = Field(default_factory=dict)  # brief language -> the title in that language


def default_profile_path() -> Path:
    """The packaged default profile, the one place it is written (briefing.toml [profile] keys override it)."""
    return Path(__file__).with_name("default_profile.toml")


def _default_profile() -> dict[str, Any]:
    with open(default_profile_path(), "rb") as f:
        return dict(tomllib.load(f)["profile"])


_DEFAULT_PROFILE = _default_profile()
DEFAULT_QUESTIONS = [FocusQuestionSettings(**{k: v for k, v in q.items() if k != "titles"})
                     for q in _DEFAULT_PROFILE["focus_questions"]]
# The default profile's English texts in the other packaged brief languages (used when no `titles`/`audiences`
# entry is configured for the brief language and the English text is the default one).
DEFAULT_TRANSLATIONS: dict[str, dict[str, str]] = {
    _DEFAULT_PROFILE["title"]: _DEFAULT_PROFILE.get("titles", {}),
    _DEFAULT_PROFILE["audience"]: _DEFAULT_PROFILE.get("audiences", {}),
    **{q["title"]: q.get("titles", {}) for q in _DEFAULT_PROFILE["focus_questions"]},
}
DEFAULT_IMPLICATIONS_FOR: list[str] = _DEFAULT_PROFILE["implications_for"]
DEFAULT_IMPLICATIONS_KEYWORDS: list[str] = _DEFAULT_PROFILE["implications_keywords"]


def localized(text: str, titles: dict[str, str], language: str) -> str:
    """text in the brief language: a configured translation, else the packaged one of a default text, else text."""
    return titles.get(language) or DEFAULT_TRANSLATIONS.get(text, {}).get(language) or text


class ProfileSettings(_Strict):
    """What the brief is about and for whom."""

    title: str = Field(default=_DEFAULT_PROFILE["title"], min_length=1)
    audience: str = Field(default=_DEFAULT_PROFILE["audience"], min_length=1)
    # Language the brief is written in (headings from prompts/messages.toml; LLM claims in that language).
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
    titles: dict[str, str] = Field(default_factory=dict)  # brief language -> title in that language
    audiences: dict[str, str] = Field(default_factory=dict)  # brief language -> audience in that language
    focus_questions: list[FocusQuestionSettings] = Field(default_factory=lambda: list(DEFAULT_QUESTIONS),
                                                         min_length=1)
    # Who the "Implications for ..." section is about, and the words (names, demonyms, capitals) that mark a
    # sentence about them for the offline engine (default: the names themselves).
    implications_for: list[str] = Field(default_factory=lambda: list(DEFAULT_IMPLICATIONS_FOR))
    implications_keywords: list[str] | None = None

    def implication_terms(self) -> list[str]:
        """Names and keywords the offline engine ranks "Implications" sentences by."""
        if self.implications_keywords is not None:
            return [*self.implications_for, *self.implications_keywords]
        extra = DEFAULT_IMPLICATIONS_KEYWORDS if self.implications_for == DEFAULT_IMPLICATIONS_FOR else []
        return [*self.implications_for, *extra]


class RunSettings(_Strict):
    """Where sources come from and where briefs go."""

    sources: list[str] = Field(default_factory=lambda: ["seeds"])
    out: str = "outputs"
    engine: Literal["auto", "extractive", "llm"] = "auto"
    keep: int = Field(default=30, ge=1, description="briefs kept under the output root")
    verify_policy: Literal["flag", "drop"] = "flag"
    max_file_mb: float = Field(default=5.0, gt=0, le=1024)
    prompts: str | None = None  # directory searched first for prompt and brief templates
    feed_limit: int = Field(default=20, ge=1, description="entries taken per RSS/Atom feed")
    since: str | None = None  # feed entries dated before this are skipped: 7d, 12h, 2w or 2024-11-01
    # files written besides brief.json: md (always), html, docx, pdf (pdf needs the briefing[pdf] extra)
    formats: list[str] = Field(default_factory=lambda: ["md", "html"])

    @field_validator("formats", mode="before")
    @classmethod
    def _known_formats(cls, v: object) -> list[str]:
        if not isinstance(v, str | list | tuple):
            raise ValueError("expected a list of format names or a comma-separated string")
        try:
            names = parse_formats(v)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return names if "md" in names else ["md", *names]

    @field_validator("since")
    @classmethod
    def _since_parses(cls, v: str | None) -> str | None:
        if v is not None:
            from briefing.text import parse_since

            parse_since(v)  # ValueError -> a validation error naming run.since
        return v


class LLMSettings(_Strict):
    """The OpenAI-compatible endpoint and how hard to push it."""

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: SecretStr | None = None
    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int = Field(default=2048, gt=0)
    # output tokens one summary request may use (an article or a part of one; renderings of an article in another
    # language get more), within max_output_tokens: no single summary runs long; one cut there is asked again with
    # max_output_tokens
    summary_output_tokens: int = Field(default=1024, gt=0)
    concurrency: int = Field(default=8, ge=1)
    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=120.0, gt=0)  # seconds to connect and between bytes read
    # total seconds one request may take, however slowly the server sends its answer (llm.timeout bounds each read)
    request_deadline: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    retry_backoff: float = Field(default=1.0, ge=0)  # seconds before the first retry; doubles each time (max 30)
    max_cost: float | None = Field(default=None, ge=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # USD per million tokens: {"model": {"input": x, "output": y}}; merged over the packaged table.
    prices: dict[str, dict[Literal["input", "output"], float]] = Field(default_factory=dict)
    # Per-source summaries through the Batch API (half price, done within 24 h; resumable): `run --batch`;
    # "all": every model request (the synthesis too), `run --batch all`.
    batch: bool | Literal["all"] = False
    batch_poll: float = Field(default=15.0, gt=0)  # seconds before the first status check; grows 1.5x per check
    batch_poll_max: float = Field(default=300.0, gt=0)  # longest wait between two status checks

    @field_validator("prices")
    @classmethod
    def _prices_not_negative(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, pair in v.items():
            for kind, usd in pair.items():
                if usd < 0:  # a negative price makes costs negative and disables --max-cost
                    raise ValueError(f"{model}.{kind}: a price cannot be negative ({usd:g})")
        return v


class VerifySettings(_Strict):
    """Checks beyond the deterministic verifier."""

    # The model judge (LLM engine only): claims that pass the deterministic checks are sent with their cited
    # sentences; "not supported" flags the claim. Off by default: it adds about a third to the run's cost.
    judge: bool = False
    judge_batch: int = Field(default=20, ge=1, description="claims per judge request")


class Settings(_Strict):
    """All settings of a run."""

    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)

    def to_profile(self) -> Profile:
        """The typed profile handed to engines."""
        return Profile(
            title=self.profile.title,
            audience=self.profile.audience,
            focus_questions=[FocusQuestion(q.key, q.title, q.question, list(q.keywords))
                             for q in self.profile.focus_questions],
            language=self.profile.language,
        )

    def headings(self) -> tuple[str, str, dict[str, str]]:
        """Title, audience and theme titles (by focus key) as shown in the brief, in the brief's language.

        Engines see the configured texts (so offline sentence ranking does not depend on the brief language).
        """
        p, lang = self.profile, self.profile.language
        return (localized(p.title, p.titles, lang), localized(p.audience, p.audiences, lang),
                {q.key: localized(q.title, q.titles, lang) for q in p.focus_questions})

    def llm_configured(self) -> bool:
        """True when an endpoint or key is configured, so `auto` picks the LLM engine."""
        return bool(self.llm.base_url or self.llm.api_key)


# Environment variables and the settings they set.
ENV_KEYS = {
    "OPENAI_API_KEY": "llm.api_key",
    "OPENAI_BASE_URL": "llm.base_url",
    "BRIEFING_MODEL": "llm.model",
    "BRIEFING_ENGINE": "run.engine",
    "BRIEFING_CONTEXT_WINDOW": "llm.context_window",
    "BRIEFING_CONCURRENCY": "llm.concurrency",
    "BRIEFING_MAX_COST": "llm.max_cost",
    "BRIEFING_OUT": "run.out",
    "BRIEFING_PROMPTS": "run.prompts",
    "BRIEFING_LANGUAGE": "profile.language",
}


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, key = dotted.partition(".")
    node = tree.setdefault(section, {})
    if not isinstance(node, dict):
        raise ConfigError(f"{section}: expected a table, got {type(node).__name__}")
    node[key] = value


def _format_error(err: ValidationError, origin: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{origin}: {key}: {msg}"


def load_settings(
    config_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    dotenv_path: str | Path | None = ".env",
) -> Settings:
    """Resolve settings. `overrides` maps dotted keys ("llm.model") to flag values; None values are ignored."""
    tree: dict[str, Any] = {}
    origin = "defaults"
    path = Path(config_path) if config_path else Path(CONFIG_FILE)
    if config_path or path.exists():
        origin = str(path)
        try:
            tree = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    try:
        Settings.model_validate(tree)
    except ValidationError as e:
        raise ConfigError(_format_error(e, origin)) from None

    env: dict[str, str] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    env_set = False
    for var, dotted in ENV_KEYS.items():
        if env.get(var):
            _set_dotted(tree, dotted, env[var])
            env_set = True
    if env_set:
        try:
            Settings.model_validate(tree)
        except ValidationError as e:
            raise ConfigError(_format_error(e, "environment")) from None
    language_origin = "environment (BRIEFING_LANGUAGE)" if env.get("BRIEFING_LANGUAGE") else origin
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(tree, dotted, value)
            if dotted == "profile.language":
                language_origin = "option --language"
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as e:
        raise ConfigError(_format_error(e, "option")) from None
    if settings.llm.api_key is not None:
        add_secret(settings.llm.api_key.get_secret_value())  # never shown in any message or log from here on
    _check_language(settings, language_origin)
    return settings


def _check_language(settings: Settings, origin: str) -> None:
    """The brief language needs a message catalogue on the template search path (packaged: en, fr, ko)."""
    from briefing.messages import languages
    from briefing.templates import search_path

    try:
        known = languages(search_path(settings.run.prompts))
    except BriefingError as e:
        raise ConfigError(str(e)) from None
    if settings.profile.language not in known:
        raise ConfigError(f"{origin}: profile.language: unknown brief language {settings.profile.language!r}; "
                          f"choose one of: {', '.join(known)} (or add its messages to prompts/messages.toml)")
