"""``qpi serve --local-qpu mock``: one command to a working system."""

from __future__ import annotations

import os
import stat

from e2e.support import BELL, LocalServer


def test_local_mode_runs_a_bell_circuit(local_server: LocalServer) -> None:
    with local_server.client() as c:
        r = c.post("/api/jobs", json={"circuits": [{"circuit": BELL, "name": "bell"}], "shots": 1000})
        assert r.status_code == 201, r.text
        assert r.json()["qpu"]["name"] == "local_mock" and r.json()["qpu_auto"] is True
    job = local_server.wait_job(r.json()["id"])
    assert job["state"] == "completed", job
    counts = job["results"]["results"][0]["data"]["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000
    assert job["attempt"] == 1 and job["duration"] is not None


def test_local_mode_keeps_secrets_private(local_server: LocalServer) -> None:
    secret = local_server.data_dir / "local" / "driver.json"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    config = local_server.config_dir / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(os.stat(local_server.config_dir).st_mode) == 0o700


def test_the_local_driver_stops_when_its_server_is_killed(tmp_path) -> None:
    import psutil

    from e2e.support import start_local_server, wait_for

    server = start_local_server(tmp_path)
    children = psutil.Process(server.process.popen.pid).children()
    drivers = [p for p in children if "driver" in " ".join(p.cmdline())]
    assert drivers, "the local driver runs as a child of the server"
    server.process.popen.kill()  # no graceful stop: the driver must notice by itself
    server.process.popen.wait(10)
    wait_for(
        lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in drivers),
        30,
        "the orphaned local driver to stop",
    )
