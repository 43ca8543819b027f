"""Table names: nine come from the ``--*-collection`` options, the rest are fixed."""

from __future__ import annotations

import re
from dataclasses import Field, dataclass, fields
from typing import Any

from qpi.errors import ConfigError

__all__ = ["TableNames"]

_VALID = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class TableNames:
    """Every table of the store. The first nine are configurable (``config.md`` §2.1, §2.2)."""

    qpus: str = "qpus"
    time_slots: str = "time_slots"
    jobs: str = "quantum_jobs"
    api_tokens: str = "api_tokens"
    notifications: str = "notifications"
    time_requests: str = "qpu_time_requests"
    drivers: str = "drivers"
    events: str = "events"
    themes: str = "themes"
    # fixed
    users: str = "users"
    sessions: str = "sessions"
    port_allocations: str = "port_allocations"
    job_tags: str = "job_tags"
    notification_targets: str = "notification_targets"
    notification_dismissals: str = "notification_dismissals"
    ledger: str = "ledger_entries"
    late_results: str = "late_results"
    idempotency: str = "idempotency_keys"

    CONFIGURABLE = (
        "qpus",
        "time_slots",
        "jobs",
        "api_tokens",
        "notifications",
        "time_requests",
        "drivers",
        "events",
        "themes",
    )

    def __post_init__(self) -> None:
        problems = [
            f"table name {v!r} for {f.name} is not a valid identifier" for f, v in self._items() if not _VALID.match(v)
        ]
        values = [v for _f, v in self._items()]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            problems.append(f"table names must be distinct; used twice: {', '.join(dupes)}")
        if problems:
            raise ConfigError(problems=problems)

    def _items(self) -> list[tuple[Field[Any], str]]:
        return [(f, getattr(self, f.name)) for f in fields(self)]

    def configurable(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.CONFIGURABLE}

    @classmethod
    def from_options(cls, options: dict[str, str]) -> TableNames:
        """Build from the collection options: keys ``qpus_collection``, ``jobs_collection``…"""
        mapping = {
            "qpus_collection": "qpus",
            "timeslots_collection": "time_slots",
            "jobs_collection": "jobs",
            "api_tokens_collection": "api_tokens",
            "notifications_collection": "notifications",
            "qpu_time_requests_collection": "time_requests",
            "drivers_collection": "drivers",
            "events_collection": "events",
            "themes_collection": "themes",
        }
        return cls(**{mapping[k]: v for k, v in options.items() if k in mapping})
