"""Periodic regeneration: run the pipeline every interval or on a cron expression, and print cron/systemd entries."""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from croniter import croniter

from briefing.config import Settings
from briefing.errors import BriefingError, ConfigError
from briefing.pipeline import Reporter, RunResult, run

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_every(text: str) -> float:
    """'90s', '15m', '6h', '1d', '1h30m' -> seconds."""
    parts = re.fullmatch(r"(?:\d+(?:\.\d+)?[smhdw])+", text.strip().lower())
    if not parts:
        raise ConfigError(f"--every: {text!r} is not a duration like 30s, 15m, 6h or 1d")
    seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text.lower()))
    if seconds <= 0:
        raise ConfigError(f"--every: {text!r} must be longer than zero")
    if seconds > 366 * 86400:
        raise ConfigError(f"--every: {text!r} is longer than a year")
    return seconds


def next_due(every: str | None, cron: str | None, last: datetime | None, now: datetime) -> datetime:
    """When the next run is due: with --every, now at first, then an interval after the previous slot; with --cron,
    the next matching minute. Slots missed while a run was going (or the machine slept) are skipped, not replayed.
    """
    if (every is None) == (cron is None):
        raise ConfigError("schedule: give exactly one of --every or --cron")
    if every is not None:
        step = timedelta(seconds=parse_every(every))
        if last is None:
            return now
        due = last + step
        while due < now:
            due += step
        return due
    if not croniter.is_valid(cron):
        raise ConfigError(f"--cron: {cron!r} is not a valid cron expression")
    nxt: datetime = croniter(cron, now).get_next(datetime)
    return nxt


def run_schedule(settings: Settings, every: str | None, cron: str | None, max_runs: int | None,
                 report: Reporter, sleep: Callable[[float], None] = time.sleep) -> int:
    """Regenerate on schedule in the foreground; a failed run is logged and the schedule goes on.

    Returns the number of failed runs. Configuration errors stop the schedule at once.
    """
    done = failed = 0
    due: datetime | None = None
    while max_runs is None or done < max_runs:
        due = next_due(every, cron, due, datetime.now(UTC))
        wait = (due - datetime.now(UTC)).total_seconds()
        if wait > 0:
            report.info(f"next run at {due.isoformat(timespec='seconds')}")
            sleep(wait)
        done += 1
        try:
            result = run(settings, report)
            assert isinstance(result, RunResult)
            report.info(f"run {done}: wrote {result.brief_md}")
        except ConfigError:
            raise
        except Exception as e:  # noqa: BLE001 - one failed run (disk full, endpoint down) must not end the schedule
            failed += 1
            report.warn(f"run {done} failed: {e if isinstance(e, BriefingError) else f'{type(e).__name__}: {e}'}")
    return failed


def _one_line(value: str, what: str) -> str:
    """Refuse a value with a newline or other control character: in a crontab or a unit file it would start a second
    job or directive (quoting cannot help, both formats are line-based)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{what}: {value!r} contains a newline or control character; refused (it would start another "
                          "line of the cron/systemd entry)")
    return value


def print_entry(kind: str, args: list[str], every: str | None, cron: str | None, workdir: Path) -> str:
    """A crontab line or systemd service+timer units that run `briefing run ARGS` unattended."""
    for a in args:
        _one_line(a, "argument")
    for value, what in ((every, "--every"), (cron, "--cron"), (str(workdir), "working folder"),
                        (sys.executable, "python")):
        if value is not None:
            _one_line(value, what)
    exe = shlex.quote(sys.executable)
    cmd = " ".join([exe, "-m", "briefing", "run", "--quiet", *map(shlex.quote, args)])
    if kind == "cron":
        spec = cron or _every_as_cron(every or "1d")
        log = shlex.quote(str(workdir / "briefing-schedule.log"))
        line = f"cd {shlex.quote(str(workdir))} && {cmd} >> {log} 2>&1"
        return f"{spec} " + line.replace("%", "\\%")  # cron turns a bare % into a newline
    if kind == "systemd":
        when = f"OnUnitActiveSec={int(parse_every(every))}s\nOnBootSec=60s" if every else \
            f"OnCalendar={_cron_to_calendar(cron or '0 7 * * *')}"
        # systemd expands %specifiers and $VARIABLES in these lines: double them so they stay literal
        cmd = cmd.replace("%", "%%").replace("$", "$$")
        wd = str(workdir).replace("%", "%%")
        return (
            "# ~/.config/systemd/user/briefing.service\n"
            "[Unit]\nDescription=Regenerate the policy brief\n\n"
            f"[Service]\nType=oneshot\nWorkingDirectory={wd}\nExecStart={cmd}\n\n"
            "# ~/.config/systemd/user/briefing.timer\n"
            f"[Unit]\nDescription=Regenerate the policy brief on schedule\n\n[Timer]\n{when}\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
            "# then: systemctl --user daemon-reload && systemctl --user enable --now briefing.timer\n"
        )
    raise ConfigError(f"--print: {kind!r} must be cron or systemd")


def _every_as_cron(every: str) -> str:
    """A cron spec for an interval cron can express exactly; anything else is refused rather than approximated."""
    seconds = int(parse_every(every))
    if seconds % 60 == 0 and 60 <= seconds < 3600 and 3600 % seconds == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds % 3600 == 0 and 3600 <= seconds < 86400 and 86400 % seconds == 0:
        return f"0 */{seconds // 3600} * * *"
    if seconds == 86400:
        return "0 7 * * *"
    raise ConfigError(f"--every {every}: cron cannot express this interval exactly; give --cron EXPR, "
                      "or use --print systemd")


def _cron_to_calendar(cron: str) -> str:
    """Translate simple cron expressions (minute hour * * dow) to systemd OnCalendar."""
    if not croniter.is_valid(cron):
        raise ConfigError(f"--cron: {cron!r} is not a valid cron expression")
    minute, hour, dom, month, dow = cron.split()[:5]
    days = {"0": "Sun", "1": "Mon", "2": "Tue", "3": "Wed", "4": "Thu", "5": "Fri", "6": "Sat", "7": "Sun"}

    def field(v: str) -> str:
        return "*" if v == "*" else v.zfill(2) if v.isdigit() else v.replace("*/", "0/")

    weekday = ""
    if dow != "*":
        weekday = ",".join("..".join(days.get(x, x) for x in part.split("-")) for part in dow.split(",")) + " "
    return f"{weekday}*-{field(month)}-{field(dom)} {field(hour)}:{field(minute)}:00"
