"""``Client``: the blocking client, generated from :class:`~qpi.client.AsyncClient` (never hand-kept).

A ``Client`` runs one private event loop in a background thread (anyio's blocking portal) and
owns an ``AsyncClient`` living in that loop. :func:`sync_class` walks ``AsyncClient`` and its
namespaces (``NAMESPACES``) and gives the generated class a method of the same name and
``inspect.signature`` for every public coroutine function; async generators become blocking
iterators. Because the loop is private, a ``Client`` also works from code that already runs an
asyncio loop (a Jupyter notebook)::

    with Client() as client:
        job = client.jobs.submit("bell.qasm", shots=1000)
        print(client.jobs.result(job).counts())
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from contextlib import ExitStack, aclosing
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from qpi.client.aio import AsyncClient
from qpi.errors import QPIError

__all__ = ["Client", "SyncNamespace", "sync_class"]

P = ParamSpec("P")
T = TypeVar("T")


class _Runner:
    """The private event loop thread; refuses work once closed."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal(name="qpi-client"))
        self._lock = threading.Lock()
        self.closed = False

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` (a coroutine function, or a plain one) in the loop; return its result."""
        if self.closed:
            raise QPIError("client is closed")
        return self._portal.call(functools.partial(fn, *args, **kwargs))

    def iterate(self, factory: Callable[[], AsyncGenerator[T, None]]) -> Iterator[T]:
        """Run the async generator in one task of the loop; hand its items over one by one."""
        if self.closed:
            raise QPIError("client is closed")
        send, receive = self._portal.call(_channel)

        async def produce() -> None:
            async with send:
                try:
                    async with aclosing(factory()) as items:
                        async for item in items:
                            await send.send((True, item))
                except Exception as exc:  # handed to the consuming thread, raised there
                    await send.send((False, exc))

        future = self._portal.start_task_soon(produce)
        try:
            while True:
                try:
                    ok, value = self._portal.call(receive.receive)
                except anyio.EndOfStream:
                    return
                if not ok:
                    raise value
                yield value
        finally:
            future.cancel()
            if not self.closed:
                self._portal.call(receive.aclose)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._stack.close()


async def _channel() -> tuple[Any, Any]:
    return anyio.create_memory_object_stream[tuple[bool, Any]](0)


def _sync_function(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(fn):

        def method(self: SyncNamespace, *args: Any, **kwargs: Any) -> Any:
            target = self._target
            return self._runner.iterate(lambda: getattr(target, name)(*args, **kwargs))

    else:

        def method(self: SyncNamespace, *args: Any, **kwargs: Any) -> Any:
            return self._runner.call(getattr(self._target, name), *args, **kwargs)

    method.__name__ = name
    method.__doc__ = fn.__doc__
    method.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return method


def public_async_members(cls: type) -> dict[str, Callable[..., Any]]:
    """The public coroutine and async-generator functions of ``cls`` (inherited ones included)."""
    return {
        name: value
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and (inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value))
    }


class SyncNamespace:
    """Base of the generated classes: forwards to an async object through the runner."""

    SYNC_NAMESPACES: ClassVar[dict[str, type[SyncNamespace]]] = {}

    def __init__(self, target: Any, runner: _Runner) -> None:
        self._target = target
        self._runner = runner
        for attr, cls in type(self).SYNC_NAMESPACES.items():
            setattr(self, attr, cls(getattr(target, attr), runner))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (blocking) of {self._target!r}>"


def sync_class(async_cls: type, name: str | None = None, base: type[SyncNamespace] = SyncNamespace) -> type[Any]:
    """A blocking class mirroring ``async_cls`` and, recursively, its ``NAMESPACES``."""
    cls_name = name or async_cls.__name__.removeprefix("Async")
    attrs: dict[str, Any] = {
        attr: _sync_function(attr, fn)
        for attr, fn in public_async_members(async_cls).items()
        if not hasattr(base, attr)
    }
    namespaces: dict[str, type] = getattr(async_cls, "NAMESPACES", {})
    attrs["SYNC_NAMESPACES"] = {attr: sync_class(ns) for attr, ns in namespaces.items()}
    attrs["__doc__"] = f"Blocking version of :class:`{async_cls.__module__}.{async_cls.__qualname__}` (generated)."
    attrs["__module__"] = __name__
    attrs["__qualname__"] = cls_name
    return type(cls_name, (base,), attrs)


def _shutdown(runner: _Runner, target: AsyncClient) -> None:
    if runner.closed:
        return
    try:
        runner.call(target.aclose)
    finally:
        runner.close()


class _ClientBase(SyncNamespace):
    """What the generated ``Client`` adds to the mirrored methods: lifecycle and access to the loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        runner = _Runner()
        try:
            target = runner.call(AsyncClient, *args, **kwargs)
        except BaseException:
            runner.close()
            raise
        super().__init__(target, runner)
        self._finalizer = weakref.finalize(self, _shutdown, runner, target)

    @property
    def aio(self) -> AsyncClient:
        """The underlying :class:`AsyncClient` (it lives in this client's private loop)."""
        target: AsyncClient = self._target
        return target

    @property
    def url(self) -> str:
        return self.aio.url

    @property
    def profile(self) -> str:
        return self.aio.profile

    @property
    def closed(self) -> bool:
        return self._runner.closed

    def call(self, fn: Callable[P, Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a coroutine function of :attr:`aio` in the client's loop and return its result."""
        result: T = self._runner.call(fn, *args, **kwargs)
        return result

    def __repr__(self) -> str:
        return repr(self.aio).replace("AsyncClient(", "Client(", 1)

    def close(self) -> None:
        """Close the connections and stop the private loop; later calls raise ``QPIError``."""
        self._finalizer()

    def aclose(self) -> None:
        """Same as :meth:`close` (mirrors ``AsyncClient.aclose``)."""
        self.close()

    def __enter__(self) -> Any:
        if self.closed:
            raise QPIError("client is closed")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_ClientBase.__init__.__signature__ = inspect.signature(AsyncClient.__init__)  # type: ignore[attr-defined]

if TYPE_CHECKING:

    class Client(_ClientBase):
        """Blocking version of :class:`AsyncClient` (generated)."""

        def __getattr__(self, name: str) -> Any: ...

else:
    Client = sync_class(AsyncClient, "Client", base=_ClientBase)
