"""``client.qpus``: every registered QPU with its status, and one QPU by name or id (``api.md`` §2.4)."""

from __future__ import annotations

from qpi.client.api import Api, quote
from qpi.client.models import QPU, qpu_from_api

__all__ = ["AsyncQPUs"]

_STATUSES = ("online", "offline", "maintenance")


class AsyncQPUs:
    """QPUs are public: no token is needed to list them."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def list(self, *, status: str | None = None) -> list[QPU]:
        """Every registered QPU (all pages), optionally only those with ``status``."""
        if status is not None and status not in _STATUSES:
            from qpi.client.errors import InvalidInputError

            raise InvalidInputError(f"status must be one of {', '.join(_STATUSES)}, not {status!r}")
        params = {"status": status} if status else None
        return await self._api.all("/api/qpus", qpu_from_api, params=params)

    async def get(self, name_or_id: str) -> QPU:
        """One QPU with its limits and device description (``device``)."""
        return qpu_from_api(await self._api.get(f"/api/qpus/{quote(name_or_id)}"))
