"""``GET /metrics``: Prometheus text (``api.md`` §2.1); off with ``--metrics false``."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from qpi.errors import AuthenticationError, NotFoundError
from qpi.server.api.common import ctx_of
from qpi.server.api.dto import errors

__all__ = ["ROUTES"]


@get(
    "/metrics",
    operation_id="getMetrics",
    tags=["operations"],
    media_type="text/plain",
    summary="Prometheus metrics (Bearer --metrics-token when set)",
    responses=errors(404),
    security=[],
)
async def metrics(request: Request[Any, Any, State]) -> Response[bytes]:
    ctx = ctx_of(request)
    if not ctx.config.metrics:
        raise NotFoundError("metrics are turned off on this server (--metrics false)")
    if ctx.config.metrics_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {ctx.config.metrics_token}"
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise AuthenticationError("GET /metrics needs 'Authorization: Bearer <metrics token>'")
    body = await ctx.metrics.render(ctx)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [metrics]
