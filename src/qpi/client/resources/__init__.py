"""The resource namespaces of :class:`~qpi.client.AsyncClient` (one module per resource group)."""

from __future__ import annotations
