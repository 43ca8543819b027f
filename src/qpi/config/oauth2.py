"""``--oauth2-providers``: typed provider entries, their parser and the merge by ``name``.

The upstream shape is kept: a list of ``{name, clientId, clientSecret, authURL, tokenURL,
userInfoURL, displayName, pkce, extra}`` objects (``config.md`` §2.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qpi.config.values import mask_secret
from qpi.errors import ConfigError

__all__ = ["OAuth2Provider", "merge_providers", "parse_providers"]

# upstream JSON key → (attribute, required)
_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("name", True),
    "clientId": ("client_id", True),
    "clientSecret": ("client_secret", False),
    "authURL": ("auth_url", False),
    "tokenURL": ("token_url", False),
    "userInfoURL": ("user_info_url", False),
    "displayName": ("display_name", False),
}


@dataclass(frozen=True)
class OAuth2Provider:
    """One OAuth2 login provider."""

    name: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    auth_url: str | None = None
    token_url: str | None = None
    user_info_url: str | None = None
    display_name: str | None = None
    pkce: bool | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self, *, mask: bool = False) -> dict[str, object]:
        """The upstream JSON shape; ``mask=True`` shortens the client secret."""
        out: dict[str, object] = {}
        for key, (attr, _required) in _FIELDS.items():
            value = getattr(self, attr)
            if value is not None:
                out[key] = value
        if mask and self.client_secret is not None:
            out["clientSecret"] = mask_secret(self.client_secret)
        if self.pkce is not None:
            out["pkce"] = self.pkce
        if self.extra:
            out["extra"] = dict(self.extra)
        return out


def parse_providers(raw: object) -> tuple[OAuth2Provider, ...]:
    """A list of provider objects → typed providers; names must be unique."""
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError("expected a JSON list of provider objects")
    providers: list[OAuth2Provider] = []
    for index, entry in enumerate(raw):
        providers.append(_provider(index, entry))
    names = [p.name for p in providers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"duplicate provider name {', '.join(duplicates)}")
    return tuple(providers)


def _provider(index: int, entry: object) -> OAuth2Provider:
    where = f"provider #{index + 1}"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be an object")
    unknown = sorted(set(entry) - {*_FIELDS, "pkce", "extra"})
    if unknown:
        raise ConfigError(f"{where}: unknown field {', '.join(map(str, unknown))}")
    kwargs: dict[str, object] = {}
    for key, (attr, required) in _FIELDS.items():
        value = entry.get(key)
        if value is None or value == "":
            if required:
                raise ConfigError(f"{where}: {key} is required")
            continue
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
        kwargs[attr] = value
    pkce = entry.get("pkce")
    if pkce is not None and not isinstance(pkce, bool):
        raise ConfigError(f"{where}: pkce must be true or false")
    extra = entry.get("extra")
    if extra is not None and not isinstance(extra, Mapping):
        raise ConfigError(f"{where}: extra must be an object")
    return OAuth2Provider(**kwargs, pkce=pkce, extra=dict(extra or {}))  # type: ignore[arg-type]


def merge_providers(
    lower: tuple[OAuth2Provider, ...], higher: tuple[OAuth2Provider, ...]
) -> tuple[OAuth2Provider, ...]:
    """Entries of ``higher`` replace the entries of ``lower`` with the same name; others are kept."""
    replaced = {p.name for p in higher}
    return tuple(p for p in lower if p.name not in replaced) + higher
