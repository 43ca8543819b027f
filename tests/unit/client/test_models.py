"""Decoding API documents into the typed, frozen models (``client-and-cli.md`` §1.2)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from qpi.client.models import FINAL, Job, JobState, job_from_api, qpu_from_api, result_from_api

JOB = {
    "id": "j1",
    "name": "bell",
    "status": "pending",
    "state": "pending",
    "qpu": {"id": "q1", "name": "sim"},
    "qpu_auto": True,
    "owner": "u1",
    "created": "2026-07-24T10:04:05.123Z",
    "submitted_at": "2026-07-24T10:04:05.123Z",
    "dispatched_at": None,
    "started_at": None,
    "finished_at": None,
    "attempt": 0,
    "max_attempts": 3,
    "shots": 1000,
    "num_circuits": 2,
    "meas_level": 2,
    "queue": {
        "position": 3,
        "jobs_ahead": 2,
        "reason": "behind_jobs",
        "detail": {"jobs_ahead": 2},
        "since": "2026-07-24T10:04:05.123Z",
    },
    "failure_reason": None,
    "error": None,
    "duration": None,
    "qpu_seconds": 0.0,
    "tags": ["demo"],
    "payload": {
        "circuits": [{"circuit": "…", "name": "a"}, {"circuit": "…", "name": "b"}],
        "memory": True,
        "meas_return": "avg",
    },
    "results": None,
    "a_field_from_the_future": {"x": 1},
}

RESULT = {
    "backend_name": "sim-1",
    "backend_version": "0.1.0",
    "qobj_id": "J1",
    "job_id": "J1",
    "success": True,
    "status": "COMPLETED",
    "date": "2026-11-24T10:00:01.250Z",
    "shots": 100,
    "timings": {"queued_s": 0.004, "execution_s": 0.009, "post_processing_s": 0.002},
    "results": [
        {
            "shots": 100,
            "success": True,
            "status": "DONE",
            "meas_level": 2,
            "time_taken": 0.006,
            "header": {
                "name": "two",
                "n_qubits": 3,
                "memory_slots": 3,
                "creg_sizes": [["a", 1], ["b", 2]],
                "qreg_sizes": [["q", 3]],
                "clbit_labels": [["a", 0], ["b", 0], ["b", 1]],
                "qubit_labels": [["q", 0], ["q", 1], ["q", 2]],
                "metadata": {"circuit_index": 0},
            },
            "data": {"counts": {"101": 100}, "memory": ["101"] * 100},
        }
    ],
    "backend": "sim-1",
    "counts": {"101": 100},
    "circuit_results": [{"name": "two", "shots": 100, "counts": {"101": 100}}],
}


def test_job_decoding_renames_and_types() -> None:
    job = job_from_api(JOB)
    assert job.state is JobState.PENDING and not job.final
    assert (job.qpu, job.qpu_id, job.num_circuits, job.circuit_names) == ("sim", "q1", 2, ["a", "b"])
    assert (job.memory, job.meas_return, job.tags) == (True, "avg", ["demo"])
    assert job.submitted_at == datetime(2026, 7, 24, 10, 4, 5, 123000, tzinfo=UTC)
    assert job.queue is not None and job.queue.text == "behind 2 jobs" and job.queue.position == 3
    assert job.to_dict()["a_field_from_the_future"] == {"x": 1}
    with pytest.raises(AttributeError):
        job.id = "other"  # type: ignore[misc]


def test_unknown_states_decode_as_unknown() -> None:
    job = job_from_api({**JOB, "state": "teleporting", "status": "pending", "queue": None})
    assert job.state is JobState.UNKNOWN
    assert JobState.COMPLETED in FINAL and JobState.UNKNOWN not in FINAL


def test_finished_job_carries_seconds_and_error() -> None:
    failed = job_from_api(
        {
            **JOB,
            "state": "failed",
            "status": "failed",
            "queue": None,
            "duration": 0.25,
            "qpu_seconds": 0.25,
            "failure_reason": "unsupported_feature",
            "error": {"code": "unsupported_feature", "message": "no if"},
        }
    )
    assert failed.final and failed.queue is None
    assert (failed.execution_s, failed.charged_s, failed.error, failed.error_code) == (
        0.25,
        0.25,
        "no if",
        "unsupported_feature",
    )


def test_result_document_is_typed() -> None:
    result = result_from_api(RESULT)
    assert result.counts() == {"101": 100} and result.counts("two") == {"101": 100}
    assert result.probabilities(0) == {"101": 1.0}
    experiment = result.experiment("two")
    assert experiment.header.creg_sizes == [("a", 1), ("b", 2)]
    assert experiment.spaced_counts() == {"10 1": 100}
    assert experiment.memory is not None and len(experiment.memory) == 100
    assert result.timings is not None and result.timings.execution_s == 0.009
    assert result.to_dict()["circuit_results"][0]["name"] == "two"
    with pytest.raises(KeyError, match="no circuit named 'x'"):
        result.counts("x")
    with pytest.raises(IndexError):
        result.counts(5)


def test_failed_result_document() -> None:
    result = result_from_api(
        {"success": False, "status": "ERROR", "job_id": "J2", "backend_name": "sim", "error": "boom"}
    )
    assert (result.success, result.error, result.results) == (False, "boom", [])


def test_qpu_list_and_detail_objects() -> None:
    listed = qpu_from_api(
        {
            "id": "q1",
            "name": "sim",
            "description": "",
            "status": "online",
            "enabled": True,
            "num_qubits": 5,
            "executor": "mock",
            "drivers_online": 1,
            "queue": {"pending": 2, "running": 1},
            "current_booking": {
                "id": "b1",
                "user_name": "ada",
                "start_time": "2026-07-24T10:00:00.000Z",
                "end_time": "2026-07-24T11:00:00.000Z",
                "mine": False,
            },
            "last_seen": None,
            "created": None,
            "updated": None,
        }
    )
    assert (listed.pending_jobs, listed.running_jobs, listed.online, listed.device) == (2, 1, True, None)
    assert listed.slot is not None and listed.slot.until == datetime(2026, 7, 24, 11, tzinfo=UTC)
    detail = qpu_from_api(
        {
            **listed.to_dict(),
            "limits": {
                "max_shots": 1000,
                "max_circuits": 10,
                "job_timeout_s": None,
                "max_attempts": None,
                "max_concurrent": 2,
            },
            "device_info": {
                "executor": "mock",
                "backend_name": "sim",
                "simulator": True,
                "num_qubits": 5,
                "basis_gates": ["cx", "rz"],
                "coupling_map": [[0, 1], [1, 2]],
                "instructions": [{"name": "cx", "qubits": [0, 1], "duration_s": 3e-7}],
                "unknown_key": 1,
                "reported_at": "2026-07-24T10:00:00.000Z",
            },
        }
    )
    assert detail.max_shots == 1000 and detail.max_concurrent == 2
    assert detail.device is not None and detail.device.coupling_map == [(0, 1), (1, 2)]
    assert detail.device.instructions[0].duration_s == 3e-7


def test_secrets_are_not_in_reprs() -> None:
    from qpi.client.models import NewAPIToken

    token = msgspec.convert({"id": "t1", "prefix": "qpi_ab12cd34", "token": "qpi_" + "c" * 64}, NewAPIToken)
    assert "cccc" not in repr(token)
    assert isinstance(job_from_api(JOB), Job)
