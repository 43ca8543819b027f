"""The client commands of ``qpi`` (``client-and-cli.md`` §3): one module per command group.

Every command parses, resolves the client configuration once, and runs one coroutine over
:class:`~qpi.client.AsyncClient` with ``asyncio.run``. Nothing heavy is imported until a command
needs it: no qiskit, no server, and rich only for human output.
"""
