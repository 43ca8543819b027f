"""Accounts, API tokens and the ledger (``api.md`` §2.2, §2.3, §2.7)."""

from __future__ import annotations

from datetime import datetime

from qpi.client.models._base import Model

__all__ = ["APIToken", "Account", "BalanceChange", "LedgerEntry", "NewAPIToken", "NewUser", "User"]


class User(Model, frozen=True, kw_only=True):
    id: str
    email: str
    name: str = ""
    role: str = "user"
    qpu_seconds: float = 0.0
    unlimited: bool = False
    disabled: bool = False
    created: datetime | None = None
    last_login_at: datetime | None = None


class Account(User, frozen=True, kw_only=True):
    """The caller's own account (``GET /api/auth/me``)."""

    auth: str = ""
    token_id: str | None = None


class NewUser(User, frozen=True, kw_only=True):
    """A user just created by a superuser; ``initial_password`` only when the server generated it."""

    initial_password: str | None = None

    def __repr__(self) -> str:
        shown = "…" if self.initial_password else None
        return f"NewUser(id={self.id!r}, email={self.email!r}, role={self.role!r}, initial_password={shown!r})"


class APIToken(Model, frozen=True, kw_only=True):
    id: str
    name: str = ""
    prefix: str = ""
    created: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


class NewAPIToken(APIToken, frozen=True, kw_only=True):
    """A token just created: ``token`` is the secret, returned once and never again."""

    token: str

    def __repr__(self) -> str:
        return f"NewAPIToken(id={self.id!r}, name={self.name!r}, prefix={self.prefix!r}, token='{self.prefix}…')"


class LedgerEntry(Model, frozen=True, kw_only=True):
    id: str
    created: datetime | None = None
    kind: str
    amount: float
    balance_after: float
    user: str | None = None
    job: str | None = None
    attempt: int | None = None
    time_request: str | None = None
    reason: str = ""
    actor: str | None = None


class BalanceChange(Model, frozen=True, kw_only=True):
    """The answer to a balance change: the new balance and its ledger entry."""

    user_id: str
    qpu_seconds: float
    entry: LedgerEntry
