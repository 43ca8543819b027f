"""Precedence of one option table over its layers: CLI > environment > file > default.

Every value that was given is parsed, in every layer, so a bad value is reported even when a
higher layer hides it; the effective value is the one of the highest layer. Mapping-valued
options (driver ``options``, ``oauth2_providers``) merge their layers instead, the higher layer
winning per entry. Problems are collected, never raised one by one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qpi.config.oauth2 import merge_providers
from qpi.config.spec import OptionSpec
from qpi.config.values import mask_secret
from qpi.errors import ConfigError

__all__ = ["Resolved", "absolute", "describe", "resolve"]

CLI = "cli"
DEFAULT = "default"


@dataclass
class Resolved:
    """Effective values (parsed), their sources, and the problems found so far."""

    values: dict[str, object] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def given(self, key: str) -> bool:
        return self.sources.get(key, DEFAULT) != DEFAULT


def describe(spec: OptionSpec, raw: object) -> str:
    """The raw value as problem lines show it (secrets shortened)."""
    if spec.secret and isinstance(raw, str):
        return repr(mask_secret(raw))
    return repr(raw)


def _merge(spec: OptionSpec, lower: object, higher: object) -> object:
    if spec.type.name == "mapping" and isinstance(lower, dict) and isinstance(higher, dict):
        return {**lower, **higher}
    if spec.key == "oauth2_providers" and isinstance(lower, tuple) and isinstance(higher, tuple):
        return merge_providers(lower, higher)
    return higher


def _given(raw: object) -> bool:
    return raw is not None and raw != () and raw != []


def resolve(
    table: Sequence[OptionSpec],
    cli: Mapping[str, object],
    env: Mapping[str, str],
    file: Mapping[str, object],
    file_source: str,
) -> Resolved:
    """Resolve every option of ``table``; ``file`` holds the file's values by option key."""
    out = Resolved()
    keys = {spec.key for spec in table}
    for key in sorted(set(cli) - keys):
        out.problems.append(f"unknown option {key!r}")
    for spec in table:
        layers: list[tuple[str, object]] = []
        if spec.key in file:
            layers.append((file_source, file[spec.key]))
        for var in reversed(spec.env):  # the first variable of the tuple wins
            if env.get(var, "").strip():
                layers.append((f"env:{var}", env[var]))
        if _given(cli.get(spec.key)):
            layers.append((CLI, cli[spec.key]))
        if spec.not_yet and layers:
            source, raw = layers[-1]
            out.problems.append(
                f"{spec.label} is not supported yet (comes in a later release); got {describe(spec, raw)} from {source}"
            )
        value, source = spec.default, DEFAULT
        for layer_source, raw in layers:
            try:
                parsed = spec.parse(raw)
            except ConfigError as exc:
                out.problems.append(
                    f"{spec.label}: invalid value {describe(spec, raw)} from {layer_source}: {exc.message}"
                )
                continue
            value = parsed if source == DEFAULT else _merge(spec, value, parsed)
            source = layer_source
        out.values[spec.key] = value
        out.sources[spec.key] = source
    return out


def absolute(path: Path, base: Path) -> Path:
    """``path`` made absolute against ``base`` and normalised, without touching the filesystem."""
    return Path(os.path.normpath(base / path))
