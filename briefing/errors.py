"""The project's own typed errors: the CLI turns these into one clear line and an exit code."""

from __future__ import annotations


class BriefingError(Exception):
    """Base class: a failure the user can act on; the message is shown as is."""

    exit_code = 1


class ConfigError(BriefingError):
    """Bad settings: unknown key, wrong type, impossible value. The message names the key."""

    exit_code = 2


class InputError(BriefingError):
    """An input file or URL cannot be used (empty, binary, too large, unreadable)."""


class NoUsableSourcesError(BriefingError):
    """Nothing usable is left after skipping bad inputs."""


class EngineError(BriefingError):
    """The model endpoint failed in a way retries cannot fix (bad key, unknown model, context length)."""


class TemplateError(BriefingError):
    """A prompt or brief template is missing or uses an undefined variable."""


class BudgetExceededError(BriefingError):
    """The estimated or running cost would exceed --max-cost."""


class Terminated(KeyboardInterrupt):  # noqa: N818 - a stop request, handled like Ctrl-C (asyncio re-raises it too)
    """SIGTERM or SIGHUP arrived: unwinds like KeyboardInterrupt so the run is logged and its temp files removed."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(f"terminated by {name}")
        self.signum = signum
        self.name = name
