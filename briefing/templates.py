"""Jinja2 templates (prompts and the brief) found in order: --prompts DIR, configured dir, ./prompts, packaged."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.sandbox

from briefing.errors import TemplateError


def packaged_dir() -> Path:
    """Packaged default templates: briefing/prompts in a wheel, ../prompts in a source checkout."""
    here = Path(__file__).resolve().parent
    inside = here / "prompts"
    return inside if inside.is_dir() else here.parent / "prompts"


def search_path(prompts_dir: str | Path | None = None, configured: str | Path | None = None) -> list[Path]:
    """Directories searched for templates, first match wins; duplicates and missing dirs removed."""
    candidates = [prompts_dir, configured, Path.cwd() / "prompts", packaged_dir()]
    out: list[Path] = []
    for c in candidates:
        if c is None:
            continue
        p = Path(c).resolve()
        if p.is_dir() and p not in out:
            out.append(p)
    return out


def _html_template(name: str | None) -> bool:
    """HTML templates (brief.html.j2) are autoescaped: a value printed into them cannot become markup."""
    return bool(name) and str(name).removesuffix(".j2").endswith((".html", ".htm"))


def environment(dirs: list[Path], autoescape: bool = False) -> jinja2.Environment:
    """A Jinja2 environment where an undefined variable fails loudly (shared per search path); HTML autoescaped."""
    return _environment(tuple(dirs), autoescape)


@lru_cache(maxsize=16)
def _environment(dirs: tuple[Path, ...], autoescape: bool) -> jinja2.Environment:
    """One environment per search path, so each template is compiled once (Jinja reloads it if the file changes).

    Sandboxed and immutable: a template (an override in ./prompts is code-like input) can read the variables it is
    given but cannot reach Python internals (`cycler.__init__.__globals__`), call unsafe methods or mutate data.
    """
    return jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=True if autoescape else _html_template,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(dirs: list[Path], name: str, **variables: object) -> str:
    """Render one template; a missing template or variable becomes a TemplateError naming it."""
    env = environment(dirs)
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"template {name!r} not found in: {', '.join(str(d) for d in dirs)}") from None
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{e.filename or name}:{e.lineno}: template syntax error: {e.message}") from None
    try:
        return template.render(**variables)
    except jinja2.sandbox.SecurityError as e:
        raise TemplateError(f"{template.filename or name}: refused by the template sandbox: {e}") from None
    except jinja2.UndefinedError as e:
        raise TemplateError(f"{template.filename or name}: {e.message}") from None
    except jinja2.TemplateError as e:
        raise TemplateError(f"{template.filename or name}: {e}") from None


def preload(dirs: list[Path], *names: str) -> None:
    """Compile templates ahead of use (a run does it while it waits on the model); a broken or missing one is
    reported where it is rendered."""
    env = environment(dirs)
    for name in names:
        try:
            env.get_template(name)
        except jinja2.TemplateError:
            pass


def locate(dirs: list[Path], name: str) -> Path:
    """The file a template name resolves to."""
    for d in dirs:
        if (d / name).is_file():
            return d / name
    raise TemplateError(f"template {name!r} not found in: {', '.join(str(d) for d in dirs)}")
