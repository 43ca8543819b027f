"""Option tables as data: :class:`OptionSpec` and the value types it refers to.

One :class:`OptionSpec` per option says everything the loader, the click glue and ``qpi config
show`` need: its file key (and the upstream camelCase alias), flags, variables, value type,
default, help text and whether it is secret or not supported yet.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from qpi.config import values as v

__all__ = [
    "NOT_YET_OPTIONS",
    "OptionSpec",
    "ValueType",
    "boolean",
    "camel",
    "duration",
    "enum",
    "integer",
    "json_value",
    "key_values",
    "number",
    "option",
    "path",
    "size",
    "text",
    "text_list",
]

#: Options whose behaviour comes with a later release. They are parsed and validated, and giving
#: one (from any source) stops the command with exit code 2. Shrink this set as features land.
NOT_YET_OPTIONS: frozenset[str] = frozenset({"https", "oauth2_providers"})

Parser = Callable[[object], object]
TypeName = Literal["duration", "size", "bool", "int", "float", "str", "path", "list", "json", "mapping"]


@dataclass(frozen=True)
class ValueType:
    """How the values of an option are parsed and shown."""

    name: TypeName
    parse: Parser
    metavar: str


@dataclass(frozen=True)
class OptionSpec:
    """One option of ``qpi serve``, ``qpi driver start`` or the client (``config.md``).

    ``default`` is the typed default (``None`` = none, or derived by the loader: see
    ``default_text``). ``in_file`` is false for ``--config-file`` and ``--client-config``,
    which name the file and cannot appear in it.
    """

    key: str
    flags: tuple[str, ...]
    env: tuple[str, ...]
    type: ValueType
    default: object
    help: str
    alias: str | None = None
    default_text: str | None = None
    secret: bool = False
    not_yet: bool = False
    required: bool = False
    in_file: bool = True

    @property
    def label(self) -> str:
        """How problems name the option: its long flag, else its key."""
        longs = [flag for flag in self.flags if flag.startswith("--")]
        return longs[0] if longs else self.key

    @property
    def file_keys(self) -> tuple[str, ...]:
        """Spellings accepted in a config file (snake_case key, then the camelCase alias)."""
        if not self.in_file:
            return ()
        return (self.key,) if self.alias is None else (self.key, self.alias)

    def parse(self, raw: object) -> object:
        return self.type.parse(raw)


def camel(key: str) -> str:
    """``tls_ca_cert_file`` → ``tlsCaCertFile``."""
    first, *rest = key.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def option(
    key: str,
    flags: str | Sequence[str],
    env: str | Sequence[str],
    type_: ValueType,
    default: object,
    help_: str,
    *,
    upstream: bool = False,
    default_text: str | None = None,
    secret: bool = False,
    required: bool = False,
    in_file: bool = True,
) -> OptionSpec:
    """Build one :class:`OptionSpec`; ``upstream=True`` adds the camelCase file alias."""
    alias = camel(key) if upstream and camel(key) != key else None
    return OptionSpec(
        key=key,
        flags=(flags,) if isinstance(flags, str) else tuple(flags),
        env=(env,) if isinstance(env, str) else tuple(env),
        type=type_,
        default=default,
        help=help_,
        alias=alias,
        default_text=default_text,
        secret=secret,
        not_yet=key in NOT_YET_OPTIONS,
        required=required,
        in_file=in_file,
    )


def duration(*, above: bool = False) -> ValueType:
    """A duration in seconds; ``above=True`` refuses 0."""
    return ValueType("duration", partial(v.parse_duration, above=above), "DURATION")


def size(*, minimum: int = 1) -> ValueType:
    return ValueType("size", partial(v.parse_size, minimum=minimum), "SIZE")


def boolean() -> ValueType:
    return ValueType("bool", v.parse_bool, "BOOL")


def integer(minimum: int | None = None, maximum: int | None = None, metavar: str = "INTEGER") -> ValueType:
    return ValueType("int", partial(v.parse_int, minimum=minimum, maximum=maximum), metavar)


def number(minimum: float | None = None, *, above: bool = False) -> ValueType:
    return ValueType("float", partial(v.parse_float, minimum=minimum, above=above), "NUMBER")


def text(parse: Parser = v.parse_str, metavar: str = "TEXT") -> ValueType:
    return ValueType("str", parse, metavar)


def enum(choices: Collection[str]) -> ValueType:
    return ValueType("str", partial(v.parse_enum, choices=tuple(choices)), "[" + "|".join(choices) + "]")


def path(metavar: str = "PATH") -> ValueType:
    return ValueType("path", v.parse_path, metavar)


def text_list(item: Parser, metavar: str) -> ValueType:
    """A list of strings, each checked by ``item``; repeated flags, comma-separated variables."""

    def parse(raw: object) -> tuple[str, ...]:
        return tuple(str(item(entry)) for entry in v.parse_list(raw))

    return ValueType("list", parse, metavar)


def json_value(parse: Parser, metavar: str = "JSON") -> ValueType:
    """JSON text on the command line and in variables; a native value in files."""
    return ValueType("json", lambda raw: parse(v.parse_json(raw)), metavar)


def key_values() -> ValueType:
    """Repeatable ``KEY=VALUE`` flags, or a mapping in files → ``dict[str, str]``."""
    return ValueType("mapping", v.parse_key_values, "KEY=VALUE")
