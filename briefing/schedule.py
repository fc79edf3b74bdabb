"""Periodic regeneration: run the pipeline every interval or on a cron expression, and print cron/systemd entries."""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Callable, Iterator
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
    return seconds


def fire_times(every: str | None, cron: str | None, start: datetime) -> Iterator[datetime]:
    """When runs are due: with --every, now and then every interval; with --cron, each matching minute."""
    if (every is None) == (cron is None):
        raise ConfigError("schedule: give exactly one of --every or --cron")
    if every is not None:
        step = timedelta(seconds=parse_every(every))
        t = start
        while True:
            yield t
            t += step
    else:
        if not croniter.is_valid(cron):
            raise ConfigError(f"--cron: {cron!r} is not a valid cron expression")
        it = croniter(cron, start)
        while True:
            yield it.get_next(datetime)


def run_schedule(settings: Settings, every: str | None, cron: str | None, max_runs: int | None,
                 report: Reporter, sleep: Callable[[float], None] = time.sleep) -> int:
    """Regenerate on schedule in the foreground; a failed run is logged and the schedule goes on.

    Returns the number of failed runs. Configuration errors stop the schedule at once.
    """
    done = failed = 0
    for due in fire_times(every, cron, datetime.now(UTC)):
        if max_runs is not None and done >= max_runs:
            break
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
        except BriefingError as e:
            failed += 1
            report.warn(f"run {done} failed: {e}")
    return failed


def print_entry(kind: str, args: list[str], every: str | None, cron: str | None, workdir: Path) -> str:
    """A crontab line or systemd service+timer units that run `briefing run ARGS` unattended."""
    exe = shlex.quote(sys.executable)
    cmd = " ".join([exe, "-m", "briefing", "run", "--quiet", *map(shlex.quote, args)])
    if kind == "cron":
        if cron:
            spec = cron
        else:
            seconds = parse_every(every or "1d")
            if seconds < 3600:
                spec = f"*/{max(1, int(seconds // 60))} * * * *"
            elif seconds < 86400:
                spec = f"0 */{int(seconds // 3600)} * * *"
            else:
                spec = "0 7 * * *"
        return f"{spec} cd {shlex.quote(str(workdir))} && {cmd} >> outputs/schedule.log 2>&1"
    if kind == "systemd":
        when = f"OnUnitActiveSec={int(parse_every(every))}s\nOnBootSec=60s" if every else \
            f"OnCalendar={_cron_to_calendar(cron or '0 7 * * *')}"
        return (
            "# ~/.config/systemd/user/briefing.service\n"
            "[Unit]\nDescription=Regenerate the policy brief\n\n"
            f"[Service]\nType=oneshot\nWorkingDirectory={workdir}\nExecStart={cmd}\n\n"
            "# ~/.config/systemd/user/briefing.timer\n"
            f"[Unit]\nDescription=Regenerate the policy brief on schedule\n\n[Timer]\n{when}\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
            "# then: systemctl --user daemon-reload && systemctl --user enable --now briefing.timer\n"
        )
    raise ConfigError(f"--print: {kind!r} must be cron or systemd")


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
