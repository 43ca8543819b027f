"""Account, tokens and the superuser namespaces against the real app."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qpi.client.errors import AuthenticationError, ConflictError, NotFoundError

from .conftest import BELL, World


@pytest.mark.anyio
async def test_me_tokens_and_ledger(world: World) -> None:
    async with world.client(world.user_token) as client:
        me = await client.me()
        assert (me.role, me.unlimited, me.qpu_seconds, me.auth) == ("user", False, 100.0, "api_token")
        new = await client.tokens.create("laptop", expires_at=timedelta(days=1))
        assert new.token.startswith("qpi_") and new.prefix == new.token[:12]
        assert new.expires_at is not None
        listed = {t.id: t for t in await client.tokens.list()}
        assert new.id in listed and listed[new.id].name == "laptop"
        renamed = await client.tokens.update(new.id, name="desk", never_expires=True)
        assert (renamed.name, renamed.expires_at) == ("desk", None)
        await client.tokens.delete(new.id)
        with pytest.raises(NotFoundError):
            await client.tokens.get(new.id)
        ledger = await client.ledger()
        assert [e.kind for e in ledger.items] == ["initial"] and ledger.items[0].amount == 100.0
    async with world.client(new.token) as revoked:
        with pytest.raises(AuthenticationError):
            await revoked.me()


@pytest.mark.anyio
async def test_admin_users_balances_and_password_sign_in(world: World) -> None:
    async with world.client(world.admin_token) as admin:
        created = await admin.admin.users.create("grace@example.org", "a-long-password", name="Grace", qpu_seconds=5)
        assert created.initial_password is None and created.qpu_seconds == 5.0
        generated = await admin.admin.users.create("ada@example.org")
        assert (
            generated.initial_password and "…" in repr(generated) and generated.initial_password not in repr(generated)
        )
        found = await admin.admin.users.find("GRACE@example.org")
        assert found.id == created.id
        granted = await admin.admin.users.grant(found.id, 10, reason="course")
        assert (granted.qpu_seconds, granted.entry.kind, granted.entry.amount) == (15.0, "grant", 10.0)
        replaced = await admin.admin.users.set_balance(found.id, 3)
        assert (replaced.qpu_seconds, replaced.entry.kind, replaced.entry.amount) == (3.0, "set", -12.0)
        kinds = [e.kind for e in (await admin.admin.users.ledger(found.id)).items]
        assert kinds == ["set", "grant", "initial"]
        assert (await admin.admin.users.disable(found.id)).disabled is True
        assert (await admin.admin.users.enable(found.id)).disabled is False
        with pytest.raises(ConflictError):
            await admin.admin.users.create("grace@example.org")
        assert await admin.admin.version()
    async with world.client(None) as anonymous:
        token = await anonymous.tokens.create_with_password("grace@example.org", "a-long-password", name="cli")
        assert token.name == "cli"
        assert anonymous.session_token is None  # the session was closed, only the token remains
    async with world.client(token.token) as grace:
        assert (await grace.me()).email == "grace@example.org"
    async with world.client(None) as signed:
        account = await signed.sign_in("grace@example.org", "a-long-password")
        assert account.auth == "session" and signed.session_token is not None
        await signed.sign_out()
        assert signed.session_token is None


@pytest.mark.anyio
async def test_admin_qpus_and_drivers(world: World) -> None:
    async with world.client(world.admin_token) as admin:
        qpu = await admin.admin.qpus.create("lab-1", num_qubits=3, description="test chip")
        assert (qpu.name, qpu.enabled, qpu.status, qpu.num_qubits) == ("lab-1", True, "offline", 3)
        assert (await admin.admin.qpus.disable("lab-1")).status == "maintenance"
        assert (await admin.admin.qpus.enable(qpu.id)).enabled is True
        updated = await admin.admin.qpus.update("lab-1", max_shots=500, bookable=False)
        assert (updated.max_shots, updated.bookable) == (500, False)
        driver = await admin.admin.drivers.create("lab-1-driver", "lab-1", "mock")
        assert (
            driver.token.startswith("qpi_")
            and driver.snippets is not None
            and "qpi driver" in (driver.snippets.manual_cli or "")
        )
        assert driver.ca_fingerprint and len(driver.ca_fingerprint) == 64
        assert driver.id in {d.id for d in await admin.admin.drivers.list(qpu="lab-1")}
        rotated = await admin.admin.drivers.rotate_token(driver.id)
        assert rotated.token != driver.token and rotated.name == "lab-1-driver"
        assert (await admin.admin.drivers.disable(driver.id)).enabled is False
        assert (await admin.admin.drivers.enable(driver.id)).enabled is True
        await admin.admin.drivers.delete(driver.id)
        job = await admin.jobs.submit(BELL, qpu="lab-1", shots=10)
        with pytest.raises(ConflictError) as in_use:
            await admin.admin.qpus.delete("lab-1")
        assert in_use.value.code == "qpu_in_use"
        await admin.admin.qpus.delete("lab-1", force=True)
        assert (await admin.jobs.get(job)).state.value == "cancelled"
        with pytest.raises(NotFoundError):
            await admin.qpus.get("lab-1")
