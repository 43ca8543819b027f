"""Other languages reach QPI through its OpenAPI document (``client-and-cli.md`` §4): a client
generated from the live ``/schema/openapi.json`` by ``openapi-python-client`` runs a Bell job."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e.support import BELL, wait_for

from .conftest import Shared

GENERATOR = shutil.which("openapi-python-client") or str(Path(sys.executable).with_name("openapi-python-client"))


def generate(shared: Shared, tmp_path: Path) -> Any:
    with shared.server.client() as c:
        schema = c.get("/schema/openapi.json")
    assert schema.status_code == 200
    (tmp_path / "openapi.json").write_bytes(schema.content)
    done = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(tmp_path / "openapi.json"),
            "--output-path",
            str(tmp_path / "qpi_generated"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = (done.stdout + done.stderr).splitlines()
    problems = [
        line
        for line in output
        if line.startswith(("Unable to parse schema", "WARNING parsing")) and "root-ca.pem" not in line
    ]
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module("qpi_generated"), problems
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.e2e
def test_generated_client_runs_a_bell_job(shared: Shared, tmp_path: Path) -> None:
    package, problems = generate(shared, tmp_path)
    assert problems == [], "\n".join(problems)
    client_mod = importlib.import_module("qpi_generated.client")
    submit_job = importlib.import_module("qpi_generated.api.jobs.submit_job")
    get_job = importlib.import_module("qpi_generated.api.jobs.get_job")
    get_job_result = importlib.import_module("qpi_generated.api.jobs.get_job_result")
    models = importlib.import_module("qpi_generated.models")
    client = client_mod.AuthenticatedClient(
        base_url=shared.server.url, token=shared.server.token, prefix="", auth_header_name="X-API-Token"
    )
    with client:
        body = models.JobSubmitRequest(circuits=[models.CircuitIn(circuit=BELL, name="bell")], shots=100)
        job = submit_job.sync(client=client, body=body)
        assert job is not None and hasattr(job, "id"), f"submitJob gave {job!r}"
        final = wait_for(
            lambda: (j := get_job.sync(job.id, client=client)) is not None and str(j.state) == "completed" and j,
            60,
            "the generated client to see the job completed",
        )
        assert str(final.state) == "completed"
        result = get_job_result.sync(job.id, client=client)
        doc = result.to_dict()
        counts = doc["results"][0]["data"]["counts"]
        assert sum(counts.values()) == 100 and set(counts) <= {"00", "11"}
    assert package is not None
