"""The NNG link over real sockets with mutual TLS (``driver-protocol.md`` P-1.2–P-1.8, §9 test 2)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from qpi.errors import LinkClosed, LinkError, LinkTimeout, MessageTooLarge
from qpi.protocol.transport import RECV_BUFFER, check_size
from qpi.server.tls import TlsMaterial, ensure_tls

from .conftest import CURRENT_CN, LIMIT, WAIT, ClientCert, Recorder, dialer, free_port, listener, make_material

pytestmark = pytest.mark.anyio

Issue = Callable[[str], ClientCert]


async def test_round_trip_both_ways(material: TlsMaterial, issue: Issue) -> None:
    server_events, driver_events = Recorder(), Recorder()
    async with listener(material, port=free_port(), recorder=server_events) as link:
        async with dialer(material, link.port, issue(CURRENT_CN), recorder=driver_events) as drv:
            await drv.wait_attached(WAIT)
            await link.wait_attached(WAIT)
            assert link.peer_cn == CURRENT_CN

            await drv.send(b"hello from the driver")
            assert await link.recv(WAIT) == b"hello from the driver"
            await link.send(b"welcome from the server")
            assert await drv.recv(WAIT) == b"welcome from the server"

            attached = await server_events.wait_kind("attached")
            assert attached.peer_cn == CURRENT_CN
        await link.wait_detached(WAIT)
    await server_events.wait_for(lambda: server_events.kinds() == ["attached", "detached"], "detach event")
    assert driver_events.kinds()[0] == "attached"


async def test_recv_batch_takes_every_queued_message_in_one_call_in_order(material: TlsMaterial, issue: Issue) -> None:
    async with listener(material, port=free_port()) as link, dialer(material, link.port, issue(CURRENT_CN)) as drv:
        await drv.wait_attached(WAIT)
        await link.wait_attached(WAIT)
        sent = [f"m{i}".encode() for i in range(RECV_BUFFER)]
        for data in sent:
            await drv.send(data)
        received: list[bytes] = []
        batches = []
        async with asyncio.timeout(WAIT):
            await asyncio.sleep(0.3)  # all of them are queued in the listener's socket by now
            while len(received) < len(sent):
                batch = await link.recv_batch()
                batches.append(len(batch))
                received.extend(batch)
        assert received == sent
        assert max(batches) > 1, batches  # queued messages came together, not one per wake-up
        await drv.send(b"later")
        assert await link.recv_batch() == [b"later"]  # and it still waits for the next one


async def test_client_without_certificate_is_refused(material: TlsMaterial) -> None:
    events = Recorder()
    async with listener(material, recorder=events) as link:
        with pytest.raises(LinkError) as info:
            async with dialer(material, link.port, None):
                pass
        assert info.value.code == "tls_failed"
        assert not link.attached
    assert events.events == []


async def test_client_certificate_of_another_ca_is_refused(material: TlsMaterial, foreign_cert: ClientCert) -> None:
    async with listener(material) as link:
        with pytest.raises(LinkError) as info:
            async with dialer(material, link.port, foreign_cert):
                pass
        assert info.value.code == "tls_failed"
        assert not link.attached
        assert link.rejections == 0  # refused by the TLS handshake itself, before any pipe exists


async def test_server_of_another_ca_or_name_is_refused(material: TlsMaterial, issue: Issue, tmp_path: Path) -> None:
    other = make_material(tmp_path / "other-server")
    client = issue(CURRENT_CN)
    async with listener(other, accept=lambda cn: True) as link:
        with pytest.raises(LinkError) as info:  # the driver pins ``material``'s CA
            async with dialer(material, link.port, client):
                pass
        assert info.value.code == "tls_failed"
    async with listener(material) as link:
        with pytest.raises(LinkError) as info:
            async with dialer(material, link.port, client, server_name="not-in-the-sans.example"):
                pass
        assert info.value.code == "tls_failed"


async def test_older_session_certificate_is_refused(material: TlsMaterial, issue: Issue) -> None:
    events = Recorder()
    async with listener(material, recorder=events) as link:
        # The dial itself succeeds (the TLS handshake is fine); the CN check closes the pipe.
        async with dialer(material, link.port, issue("drv_test/1")) as drv:
            rejected = await events.wait_kind("rejected")
            await drv.wait_detached(WAIT)
            assert not link.attached
            assert (rejected.peer_cn, rejected.reason) == ("drv_test/1", "cn")
            assert link.rejections >= 1
            with pytest.raises(LinkClosed):
                await link.send(b"JobDispatch for nobody")
        assert "attached" not in events.kinds()


async def test_predicate_that_raises_refuses_the_pipe(material: TlsMaterial, issue: Issue) -> None:
    def broken(cn: str) -> bool:
        raise RuntimeError("bug in the predicate")

    events = Recorder()
    async with (
        listener(material, accept=broken, recorder=events) as link,
        dialer(material, link.port, issue(CURRENT_CN)) as drv,
    ):
        await drv.wait_detached(WAIT)
        assert (await events.wait_kind("rejected")).reason == "cn"
        assert not link.attached


async def test_current_session_predicate_is_read_at_each_attach(material: TlsMaterial, issue: Issue) -> None:
    session = {"cn": "drv_test/1"}
    async with listener(material, accept=lambda cn: cn == session["cn"]) as link:
        async with dialer(material, link.port, issue("drv_test/1")):
            await link.wait_attached(WAIT)
        await link.wait_detached(WAIT)
        session["cn"] = "drv_test/2"  # a new /connect bumped the session
        async with dialer(material, link.port, issue("drv_test/1")) as old:
            await old.wait_detached(WAIT)
        async with dialer(material, link.port, issue("drv_test/2")) as new:
            await link.wait_attached(WAIT)
            await new.send(b"Hello")
            assert await link.recv(WAIT) == b"Hello"


async def test_second_dialer_is_not_attached_while_one_is(material: TlsMaterial, issue: Issue) -> None:
    events = Recorder()
    client = issue(CURRENT_CN)
    async with listener(material, recorder=events) as link:
        async with dialer(material, link.port, client) as first:
            await link.wait_attached(WAIT)
            async with dialer(material, link.port, client) as second:
                await second.wait_detached(WAIT)
                assert (await events.wait_kind("rejected")).reason == "busy"
                # The first link is untouched.
                await first.send(b"still here")
                assert await link.recv(WAIT) == b"still here"
                await link.send(b"to the first")
                assert await first.recv(WAIT) == b"to the first"
        assert events.kinds().count("attached") == 1


async def test_oversize_message_is_caught_before_sending(material: TlsMaterial, issue: Issue) -> None:
    with pytest.raises(MessageTooLarge, match=str(LIMIT)):
        check_size(b"x" * (LIMIT + 1), LIMIT)
    check_size(b"x" * LIMIT, LIMIT)
    check_size(b"x" * (LIMIT + 1), None)

    async with listener(material) as link, dialer(material, link.port, issue(CURRENT_CN)) as drv:
        await link.wait_attached(WAIT)
        drv.send_limit = LIMIT
        with pytest.raises(MessageTooLarge):
            await drv.send(b"x" * (LIMIT + 1))
        # A message of exactly the limit is delivered, and the link is still up.
        await drv.send(b"y" * LIMIT)
        assert await link.recv(WAIT) == b"y" * LIMIT
        assert link.attached


async def test_unchecked_oversize_message_is_dropped_and_closes_the_pipe(material: TlsMaterial, issue: Issue) -> None:
    """Why senders must call check_size (P-1.8): nng drops the message and closes the pipe."""
    server_events, driver_events = Recorder(), Recorder()
    async with (
        listener(material, recorder=server_events) as link,
        dialer(material, link.port, issue(CURRENT_CN), recorder=driver_events, reconnect_min_s=0.05) as drv,
    ):
        await link.wait_attached(WAIT)
        await drv.send(b"z" * (LIMIT + 1))  # no send_limit: the sender gets no error
        await server_events.wait_kind("detached")  # closed by the receiver...
        await driver_events.wait_kind("detached")  # ...and seen by the sender
        # nng redials in the background; the next message arrives, the oversize one never does.
        await server_events.wait_kind("attached", 2)
        await driver_events.wait_kind("attached", 2)
        await drv.send(b"small")
        assert await link.recv(WAIT) == b"small"


async def test_driver_receive_limit_is_set_before_dialling(material: TlsMaterial, issue: Issue) -> None:
    """The dialer's recv_max_size is in force on its first pipe: an oversize server message closes it."""
    server_events, driver_events = Recorder(), Recorder()
    async with (
        listener(material, recorder=server_events) as link,
        dialer(material, link.port, issue(CURRENT_CN), recorder=driver_events, reconnect_min_s=0.05) as drv,
    ):
        await link.wait_attached(WAIT)
        await link.send(b"y" * LIMIT)
        assert await drv.recv(WAIT) == b"y" * LIMIT
        await link.send(b"z" * (LIMIT + 1))
        await driver_events.wait_kind("detached")
        await server_events.wait_kind("detached")
        await server_events.wait_kind("attached", 2)  # the dialer redials by itself
        await driver_events.wait_kind("attached", 2)
        await link.send(b"small")
        assert await drv.recv(WAIT) == b"small"


async def test_send_without_peer_and_recv_timeout(material: TlsMaterial) -> None:
    async with listener(material) as link:
        with pytest.raises(LinkClosed, match="no peer"):
            await link.send(b"JobDispatch")
        with pytest.raises(LinkTimeout):
            await link.recv(0.2)
        with pytest.raises(LinkTimeout):
            await link.wait_attached(0.2)


async def test_server_disconnect_is_seen_by_the_driver(material: TlsMaterial, issue: Issue) -> None:
    driver_events = Recorder()
    async with (
        listener(material) as link,
        dialer(material, link.port, issue(CURRENT_CN), recorder=driver_events) as drv,
    ):
        await link.wait_attached(WAIT)
        link.disconnect_peer()
        await drv.wait_detached(WAIT)
        await driver_events.wait_kind("detached")


async def test_closed_link_raises_link_closed(material: TlsMaterial, issue: Issue) -> None:
    async with listener(material) as link, dialer(material, link.port, issue(CURRENT_CN)) as drv:
        pending = asyncio.ensure_future(drv.recv())
        await link.wait_attached(WAIT)
        await drv.aclose()
        with pytest.raises(LinkClosed):
            await asyncio.wait_for(pending, WAIT)
        with pytest.raises(LinkClosed):
            await drv.send(b"x")
        with pytest.raises(LinkClosed):
            await drv.recv(0.1)
        await link.wait_detached(WAIT)


async def test_port_in_use_is_reported_as_address_in_use(material: TlsMaterial) -> None:
    async with listener(material) as first:
        with pytest.raises(LinkError) as info:
            async with listener(material, port=first.port):
                pass
        assert info.value.code == "address_in_use"
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        with pytest.raises(LinkError) as info:
            async with listener(material, port=plain.getsockname()[1]):
                pass
        assert info.value.code == "address_in_use"


async def test_dial_errors(material: TlsMaterial, issue: Issue) -> None:
    with pytest.raises(LinkError) as info:
        async with dialer(material, free_port(), issue(CURRENT_CN)):
            pass
    assert info.value.code == "connection_refused"


async def test_reload_certificate_drops_the_pipe_and_new_dials_see_the_new_certificate(
    material: TlsMaterial, issue: Issue
) -> None:
    client = issue(CURRENT_CN)
    renewed = _renewed(material, extra_san="link.qpi.example")
    async with listener(material) as link:
        port = link.port
        async with dialer(material, port, client) as drv:
            await link.wait_attached(WAIT)
            # The old certificate lacks the new SAN: a dial by that name fails before the reload.
            with pytest.raises(LinkError):
                async with dialer(material, port, client, server_name="link.qpi.example"):
                    pass
            assert link.reload_certificate(renewed.cert_pem, renewed.key_pem) is True
            assert not link.reload_pending
            await drv.wait_detached(WAIT)  # an immediate reload drops the attached pipe
            assert link.port == port
        await link.wait_detached(WAIT)
        async with dialer(material, port, client, server_name="link.qpi.example") as fresh:
            await link.wait_attached(WAIT)
            await fresh.send(b"after reload")
            assert await link.recv(WAIT) == b"after reload"


async def test_deferred_reload_keeps_the_pipe_until_it_detaches(material: TlsMaterial, issue: Issue) -> None:
    client = issue(CURRENT_CN)
    renewed = _renewed(material, extra_san="link.qpi.example")
    events = Recorder()
    async with listener(material, recorder=events) as link:
        async with dialer(material, link.port, client) as drv:
            await link.wait_attached(WAIT)
            assert link.reload_certificate(renewed.cert_pem, renewed.key_pem, defer_while_attached=True) is False
            assert link.reload_pending
            await drv.send(b"still attached")
            assert await link.recv(WAIT) == b"still attached"
            assert link.attached
        await events.wait_kind("reloaded")  # rebuilt right after the detach
        assert not link.reload_pending
        assert events.kinds() == ["attached", "detached", "reloaded"]
        async with dialer(material, link.port, client, server_name="link.qpi.example") as fresh:
            await link.wait_attached(WAIT)
            await fresh.send(b"new certificate")
            assert await link.recv(WAIT) == b"new certificate"


def _renewed(material: TlsMaterial, *, extra_san: str) -> TlsMaterial:
    """A reissued server certificate (same CA) whose SANs include ``extra_san``."""
    from datetime import UTC, datetime

    renewed = ensure_tls(material.paths, sans=["127.0.0.1", extra_san], now=datetime.now(UTC))
    assert renewed.cert_pem != material.cert_pem and renewed.fingerprint == material.fingerprint
    return renewed


async def test_dial_to_a_silent_peer_times_out(material: TlsMaterial, issue: Issue) -> None:
    """A TCP peer that never answers the TLS handshake: LinkTimeout, and the dial thread ends."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the TCP connection; nobody speaks TLS
        link = dialer(material, silent.getsockname()[1], issue(CURRENT_CN))
        link.dial_timeout = 0.5
        with pytest.raises(LinkTimeout):
            async with link:
                pass
        assert link.closed
