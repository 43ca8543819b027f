"""click glue for the option tables of :mod:`qpi.config`.

:func:`config_options` turns a table into click options and hands the command a mapping of the
options actually given on the command line (``cli_options``), ready for
:func:`qpi.config.load_config`. click never reads variables or applies defaults itself: the loader
does, so every value's source is right. Each option's help shows its variables and default::

    @click.command()
    @config_options(SERVE_OPTIONS)
    def serve(cli_options: dict[str, object]) -> None:
        loaded = load_or_exit("serve", cli_options)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from qpi.config import Loaded, Mode, OptionSpec, load_config
from qpi.config.spec import ValueType
from qpi.config.values import format_scalar
from qpi.errors import ConfigError

__all__ = ["config_options", "exit_on_config_error", "given_options", "help_text", "load_or_exit"]

F = TypeVar("F", bound=Callable[..., Any])
_JSON_PARAM = "output_json_shortcut"


def _default_text(spec: OptionSpec) -> str | None:
    if spec.required:
        return None
    if spec.default_text is not None:
        return spec.default_text
    if spec.default is None:
        return "none"
    value = spec.default
    text = format_scalar(spec.type.name, value)
    if text is not None:
        return text
    if isinstance(value, Path):
        return str(value) if value.is_absolute() or str(value).startswith(".") else f"./{value}"
    return str(value)


def help_text(spec: OptionSpec) -> str:
    """``"<help> [env: VAR; default: X]"`` (``required`` instead of a default when required)."""
    notes = []
    if spec.env:
        notes.append("env: " + ", ".join(spec.env))
    default = _default_text(spec)
    notes.append("required" if spec.required else f"default: {default}")
    suffix = " Not supported yet (comes in a later release)." if spec.not_yet else ""
    return f"{spec.help}{suffix} [{'; '.join(notes)}]"


def _click_option(spec: OptionSpec) -> click.Option:
    common: dict[str, Any] = {
        "help": help_text(spec),
        "default": None,
        "show_default": False,
        "allow_from_autoenv": False,
        "show_envvar": False,
    }
    vtype: ValueType = spec.type
    if vtype.name == "bool":
        longs = [flag for flag in spec.flags if flag.startswith("--")]
        decls = [f"{longs[0]}/--no-{longs[0][2:]}", *[f for f in spec.flags if f != longs[0]], spec.key]
        return click.Option(decls, is_flag=True, **common)
    multiple = vtype.name in ("list", "mapping")
    return click.Option([*spec.flags, spec.key], type=str, metavar=vtype.metavar, multiple=multiple, **common)


def config_options(
    table: Sequence[OptionSpec],
    *,
    only: Collection[str] | None = None,
    param_name: str = "cli_options",
    json_shortcut: bool = False,
) -> Callable[[F], F]:
    """Decorate a click command with the options of ``table`` (or the keys in ``only``).

    The command receives ``param_name`` (default ``cli_options``): a ``dict`` of the options given
    on the command line, by key, instead of one argument per option. ``json_shortcut`` adds
    ``--json``, short for ``--output json`` (client commands).
    """
    specs = [spec for spec in table if only is None or spec.key in only]

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            given: dict[str, object] = {}
            for spec in specs:
                value = kwargs.pop(spec.key, None)
                if ctx.get_parameter_source(spec.key) is ParameterSource.COMMANDLINE:
                    given[spec.key] = value
            if json_shortcut and kwargs.pop(_JSON_PARAM, False):
                if given.get("output", "json") != "json":
                    raise click.UsageError("--json contradicts --output; give one of them")
                given["output"] = "json"
            kwargs[param_name] = given
            return func(*args, **kwargs)

        params: list[click.Parameter] = getattr(wrapper, "__click_params__", [])
        # click applies decorators bottom-up and reverses, so append in reverse for table order
        if json_shortcut:
            params.append(click.Option(["--json", _JSON_PARAM], is_flag=True, help="Short for --output json."))
        params.extend(_click_option(spec) for spec in reversed(specs))
        wrapper.__click_params__ = params  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def given_options(ctx: click.Context, table: Sequence[OptionSpec]) -> dict[str, object]:
    """The options of ``table`` given on the command line of ``ctx`` (for commands built by hand)."""
    return {
        spec.key: ctx.params[spec.key]
        for spec in table
        if spec.key in ctx.params and ctx.get_parameter_source(spec.key) is ParameterSource.COMMANDLINE
    }


def exit_on_config_error(error: ConfigError) -> NoReturn:
    """Print one line per problem on stderr and exit with code 2."""
    for problem in error.problems or [error.message]:
        click.echo(f"error: {problem}", err=True)
    raise SystemExit(2)


def load_or_exit(mode: Mode, cli_options: dict[str, object], *, cwd: Path | None = None) -> Loaded[Any]:
    """:func:`~qpi.config.load_config` with ``os.environ``; on problems, print them and exit 2."""
    try:
        return load_config(mode, cli_options, os.environ, cwd=cwd)
    except ConfigError as exc:
        exit_on_config_error(exc)
