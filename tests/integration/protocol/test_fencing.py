"""The server side of the link, driven message by message over real mutual-TLS NNG sockets."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from qpi.errors import LinkError
from qpi.protocol.messages import (
    CancelJob,
    HeldJob,
    JobAccepted,
    JobAcceptedBody,
    JobDispatch,
    JobRejected,
    JobRejectedBody,
    JobResult,
    JobResultBody,
    JobStarted,
    JobStartedBody,
    JobTimings,
    ResultAck,
    utcnow,
)
from qpi.protocol.payload import (
    ExperimentData,
    ExperimentHeader,
    ExperimentMetadata,
    ExperimentResult,
    ResultDoc,
)
from qpi.protocol.transport import LinkDialer

pytestmark = pytest.mark.anyio


def result_body(job_id: str, attempt: int, *, status: str = "completed", billable: float = 0.25) -> JobResultBody:
    header = ExperimentHeader(
        name="bell",
        n_qubits=2,
        memory_slots=2,
        creg_sizes=[("c", 2)],
        qreg_sizes=[("q", 2)],
        clbit_labels=[("c", 0), ("c", 1)],
        qubit_labels=[("q", 0), ("q", 1)],
        metadata=ExperimentMetadata(circuit_index=0),
    )
    doc = ResultDoc(
        backend_name="mock",
        backend_version="0",
        qobj_id=job_id,
        job_id=job_id,
        success=True,
        shots=10,
        results=[
            ExperimentResult(shots=10, success=True, header=header, data=ExperimentData(counts={"00": 6, "11": 4}))
        ],
    )
    return JobResultBody(
        job_id=job_id,
        attempt=attempt,
        status=status,  # type: ignore[arg-type]
        timings=JobTimings(billable_s=billable, total_s=billable),
        result=doc if status == "completed" else None,
    )


async def usage_entries(served, job_id: str) -> list[dict]:
    return await served.ctx.store.db.fetch(
        "SELECT attempt, amount_ms FROM ledger_entries WHERE job_id = {} AND kind = 'usage'", job_id
    )


async def test_no_dispatch_without_a_driver_then_exactly_one(served, proto) -> None:
    driver, _qpu = proto
    job = await served.submit("sim")
    await asyncio.sleep(0)  # the job stays pending: nobody is attached
    assert (await served.job(job["id"]))["state"] == "pending"
    assert (await served.job(job["id"]))["queue"]["reason"] == "no_driver_online"
    await driver.connect()
    dispatch = await driver.expect(JobDispatch)
    assert (dispatch.payload.job_id, dispatch.payload.attempt) == (job["id"], 1)
    assert driver.inbox.empty()  # exactly one dispatch
    await driver.send(JobAccepted(payload=JobAcceptedBody(job_id=job["id"], attempt=1, worker=0)))
    await driver.send(JobStarted(payload=JobStartedBody(job_id=job["id"], attempt=1, worker=0, started_at=utcnow())))
    await driver.send(JobResult(payload=result_body(job["id"], 1)))
    ack = await driver.expect(ResultAck)
    assert ack.payload.outcome == "recorded"
    done = await served.wait_state(job["id"], {"completed"})
    assert done["attempt"] == 1 and done["results"]["counts"] == {"00": 6, "11": 4}
    assert done["results"]["backend_name"] == "sim"


async def test_stale_and_duplicate_results_change_nothing(served, proto) -> None:
    driver, _qpu = proto
    await driver.connect()
    job = await served.submit("sim")
    first = await driver.expect(JobDispatch)
    await driver.send(JobRejected(payload=JobRejectedBody(job_id=job["id"], attempt=1, reason="no_free_worker")))
    second = await driver.expect(JobDispatch)
    assert (first.payload.attempt, second.payload.attempt) == (1, 2)
    # a result of the superseded attempt: acked stale, kept aside, no state change, no charge
    await driver.send(JobResult(payload=result_body(job["id"], 1)))
    assert (await driver.expect(ResultAck)).payload.outcome == "stale"
    assert (await served.job(job["id"]))["state"] == "dispatched"
    late = await served.ctx.store.db.fetch("SELECT attempt FROM late_results WHERE job_id = {}", job["id"])
    assert [r["attempt"] for r in late] == [1]
    # the current attempt is recorded once; its repeat is a duplicate
    await driver.send(JobResult(payload=result_body(job["id"], 2, billable=0.5)))
    assert (await driver.expect(ResultAck)).payload.outcome == "recorded"
    await driver.send(JobResult(payload=result_body(job["id"], 2, billable=0.5)))
    assert (await driver.expect(ResultAck)).payload.outcome == "duplicate"
    done = await served.job(job["id"])
    assert done["state"] == "completed" and done["attempt"] == 2
    # one charge: the reported 0.5 s, clamped to what the server observed since the dispatch (M1b)
    charged = round(done["qpu_seconds"] * 1000)
    assert 0 < charged <= 500
    assert [(e["attempt"], e["amount_ms"]) for e in await usage_entries(served, job["id"])] == [(2, -charged)]


async def test_heartbeat_without_an_accepted_attempt_is_a_loss(served, proto) -> None:
    driver, _qpu = proto
    await driver.connect()
    job = await served.submit("sim")
    await driver.expect(JobDispatch)
    await driver.send(JobAccepted(payload=JobAcceptedBody(job_id=job["id"], attempt=1, worker=0)))
    await driver.heartbeat(held=[HeldJob(job_id=job["id"], attempt=1, phase="accepted", worker=0)], seq=1)
    await asyncio.sleep(0.1)
    assert (await served.job(job["id"]))["state"] == "dispatched"
    await driver.heartbeat(held=[], seq=2)  # the driver dropped it (L3): requeued on a simulator QPU
    again = await driver.expect(JobDispatch, timeout=15)
    assert again.payload.attempt == 2


async def keepalive(driver) -> None:
    seq = 10
    while True:
        await asyncio.sleep(0.5)
        seq += 1
        await driver.heartbeat(held=[], seq=seq)


async def test_undelivered_attempt_is_cancelled_and_requeued(served, proto) -> None:
    driver, _qpu = proto
    await driver.connect()
    job = await served.submit("sim")
    await driver.expect(JobDispatch)
    beats = asyncio.create_task(keepalive(driver))  # alive, but never names the attempt
    # never accepted, never listed: after accept_timeout (2 heartbeat intervals) it is undelivered (L1)
    try:
        cancel = await driver.expect(CancelJob, timeout=15)
    finally:
        beats.cancel()
    assert (cancel.payload.job_id, cancel.payload.attempt, cancel.payload.reason) == (job["id"], 1, "accept_timeout")
    again = await driver.expect(JobDispatch, timeout=15)
    assert again.payload.attempt == 2
    assert (await served.job(job["id"]))["requeued_at"] is not None


async def test_cancel_of_a_running_job_reaches_the_driver_and_charges_once(served, proto) -> None:
    driver, _qpu = proto
    await driver.connect()
    job = await served.submit("sim")
    await driver.expect(JobDispatch)
    await driver.send(JobStarted(payload=JobStartedBody(job_id=job["id"], attempt=1, worker=0, started_at=utcnow())))
    await served.wait_state(job["id"], {"running"})
    async with served.http() as c:
        r = await c.post(f"/api/jobs/{job['id']}/cancel")
        assert r.status_code == 200 and r.json() == {"id": job["id"], "status": "cancelled"}
    cancel = await driver.expect(CancelJob)
    assert cancel.payload.reason == "user"
    await driver.send(JobResult(payload=result_body(job["id"], 1, status="cancelled", billable=0.2)))
    assert (await driver.expect(ResultAck)).payload.outcome == "recorded"
    final = await served.job(job["id"])
    assert final["state"] == "cancelled" and final["results"] is None
    charged = round(final["qpu_seconds"] * 1000)
    assert 0 < charged <= 200
    assert [(e["attempt"], e["amount_ms"]) for e in await usage_entries(served, job["id"])] == [(1, -charged)]


async def test_only_the_current_session_certificate_attaches(served, proto, tmp_path) -> None:
    driver, _qpu = proto
    await driver.connect()
    old = driver.material
    assert old is not None
    # a dialer without a client certificate is refused by the TLS handshake
    with pytest.raises(LinkError):
        async with LinkDialer(
            old.reply.nng_host,
            old.reply.nng_port,
            ca_pem=old.ca_pem,
            server_name=old.reply.server_name,
            cert_pem=None,
            key_pem=None,
            recv_max_size=1 << 20,
            dial_timeout=5,
        ):
            pass
    # reconnecting (same instance) moves the driver to a new session: the old certificate stops attaching
    await driver.close()
    second = type(driver)(served, driver.token, driver.fingerprint, tmp_path, instance_id=driver.instance_id)
    await second.connect()
    try:
        stale = LinkDialer(
            old.reply.nng_host,
            old.reply.nng_port,
            ca_pem=old.ca_pem,
            server_name=old.reply.server_name,
            cert_pem=old.reply.client_cert,
            key_pem=old.key_pem,
            recv_max_size=1 << 20,
        )
        await stale.__aenter__()
        try:
            await stale.wait_detached(timeout=5)  # refused by the CN check (or Pair0 busy), never usable
        finally:
            await stale.aclose()
        assert second.link is not None and second.link.attached
    finally:
        await second.close()


async def test_unknown_messages_keep_the_link_up(served, proto) -> None:
    driver, _qpu = proto
    await driver.connect()
    assert driver.link is not None
    await driver.link.send(msgspec.msgpack.encode({"type": "FromTheFuture", "id": "x", "driver": "", "payload": {}}))
    await driver.link.send(
        msgspec.msgpack.encode(
            {
                "type": "Heartbeat",
                "id": "y",
                "driver": "",
                "payload": {"seq": 3, "new_field": 1, "workers_ready": 1, "workers_total": 1},
            }
        )
    )
    job = await served.submit("sim")
    dispatch = await driver.expect(JobDispatch)
    assert dispatch.payload.job_id == job["id"]


@pytest.mark.serve_options(event_rate_limit="5")
async def test_a_telemetry_flood_is_dropped_and_counted_but_results_arrive(served, proto) -> None:
    from qpi.protocol.messages import Reading, Telemetry, TelemetryBody

    driver, _qpu = proto
    await driver.connect()
    job = await served.submit("sim")
    await driver.expect(JobDispatch)
    for i in range(60):
        await driver.send(Telemetry(payload=TelemetryBody(kind="fridge", readings={"t": Reading(value=float(i))})))
    await driver.send(JobResult(payload=result_body(job["id"], 1)))
    assert (await driver.expect(ResultAck)).payload.outcome == "recorded"
    stored = await served.ctx.store.db.fetchval("SELECT COUNT(*) AS c FROM events WHERE type = 'telemetry.reading'")
    assert 1 <= int(stored) <= 15  # the burst of 5 plus what refilled meanwhile, never all 60
    async with served.http() as c:
        metrics = (await c.get("/metrics")).text
    dropped = [line for line in metrics.splitlines() if line.startswith("qpi_driver_events_dropped_total{")]
    assert dropped and float(dropped[0].rsplit(" ", 1)[1]) >= 40
    assert (await served.job(job["id"]))["state"] == "completed"
