"""The client commands of ``qpi`` in subprocesses against ``qpi serve --local-qpu mock`` (§3.7)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from e2e.support import BELL, free_port, qpi_command, wait_for

from .conftest import CONTROL_FLOW, QASM2_BELL, QASM3_X, Shared

ANSI = re.compile(r"\x1b\[")
JOB_ID = re.compile(r"^[a-z0-9]{15}$")


def cli(
    shared: Shared, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return shared.server.run_cli(*args, input=input, env=env, timeout=90)


def api(shared: Shared, method: str, path: str, **kwargs: Any) -> Any:
    with shared.server.client() as c:
        r = c.request(method, path, **kwargs)
        assert r.status_code < 400, r.text
        return r.json() if r.content else None


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def percentages(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"([\d.]+)%$", text, re.MULTILINE)]


# --- login, logout, whoami --------------------------------------------------------------------


def test_login_writes_a_private_file_and_a_wrong_token_writes_nothing(shared: Shared, tmp_path: Path) -> None:
    env = {"QPI_CONFIG_DIR": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config_dir = tmp_path / "xdg" / "qpi"
    wrong = cli(shared, "login", "--addr", shared.server.url, "--token-stdin", input="qpi_" + "0" * 64 + "\n", env=env)
    assert wrong.returncode == 3, wrong.stderr
    assert not config_dir.exists()

    good = cli(shared, "login", "--addr", shared.server.url, "--token-stdin", input=shared.server.token + "\n", env=env)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == f"Logged in to {shared.server.url} as admin@localhost (profile default)"
    assert stat.S_IMODE(os.stat(config_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(config_dir / "config.toml").st_mode) == 0o600

    who = cli(shared, "whoami", env=env)
    assert who.returncode == 0, who.stderr
    assert "admin@localhost" in who.stdout and "unlimited" in who.stdout and "profile: default" in who.stdout
    as_json = json.loads(cli(shared, "whoami", "--json", env=env).stdout)
    assert (as_json["email"], as_json["role"], as_json["addr"]) == ("admin@localhost", "superuser", shared.server.url)


def test_login_with_email_mints_a_token_and_logout_revokes_it(shared: Shared, tmp_path: Path) -> None:
    env = {"QPI_CONFIG_DIR": str(tmp_path / "cfg")}
    api(shared, "POST", "/api/admin/users", json={"email": "lin@example.org", "password": "a-long-password"})
    done = cli(
        shared,
        "login",
        "--addr",
        shared.server.url,
        "--email",
        "lin@example.org",
        "--profile",
        "lin",
        input="a-long-password\n",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "as lin@example.org (profile lin)" in done.stdout
    text = (tmp_path / "cfg" / "config.toml").read_text()
    assert "a-long-password" not in text and 'profile = "lin"' in text
    tokens = json.loads(cli(shared, "tokens", "list", "--json", env=env).stdout)
    assert [t["name"] for t in tokens] == [f"qpi-cli@{os.uname().nodename}"]
    assert tokens[0]["expires_at"] is not None

    out = cli(shared, "logout", "--revoke", env=env)
    assert out.returncode == 0, out.stderr
    assert "revoked" in out.stdout
    assert "api_token" not in (tmp_path / "cfg" / "config.toml").read_text()
    assert cli(shared, "whoami", env=env).returncode == 3  # no token in the profile any more
    with shared.server.client() as c:
        users = c.get("/api/admin/users", params={"q": "lin@"}).json()
        listed = c.get("/api/tokens", params={"user": users[0]["id"]}).json()
    assert listed == []


def test_login_pins_the_ca_by_fingerprint(shared: Shared, tmp_path: Path) -> None:
    with shared.server.client() as c:
        fingerprint = c.get("/api/pub/root-ca.pem").headers["X-CA-Fingerprint"]
    env = {"QPI_CONFIG_DIR": str(tmp_path / "cfg"), "QPI_API_TOKEN": shared.server.token}
    bad = cli(shared, "login", "--addr", shared.server.url, "--ca-fingerprint", "00" * 32, env=env)
    assert bad.returncode == 3 and "mismatch" in bad.stderr
    assert not (tmp_path / "cfg").exists()
    spaced = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    good = cli(shared, "login", "--addr", shared.server.url, "--ca-fingerprint", spaced, env=env)
    assert good.returncode == 0, good.stderr
    ca = tmp_path / "cfg" / "ca" / "default.pem"
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(ca.stat().st_mode) == 0o600
    assert f'ca_file = "{ca}"' in (tmp_path / "cfg" / "config.toml").read_text()


# --- submit ----------------------------------------------------------------------------------


def test_two_files_make_one_job_with_named_circuits(shared: Shared, tmp_path: Path) -> None:
    a, b = write(tmp_path, "a.qasm", QASM2_BELL), write(tmp_path, "b.qasm", QASM3_X)
    done = cli(shared, "submit", a, b, "--shots", "200", "--tag", "demo")
    assert done.returncode == 0, done.stderr
    assert "a · 2 clbits · 200 shots" in done.stdout and "b · 3 clbits · 200 shots" in done.stdout
    assert re.search(r"^001  █+  200  100.0%$", done.stdout, re.MULTILINE), done.stdout  # leading zeros kept
    job_id = re.search(r"Submitted job ([a-z0-9]{15}) \(2 circuits × 200 shots\)", done.stderr).group(1)  # type: ignore[union-attr]
    job = api(shared, "GET", f"/api/jobs/{job_id}")
    assert [c["name"] for c in job["payload"]["circuits"]] == ["a", "b"] and job["tags"] == ["demo"]
    assert not ANSI.search(done.stderr) and not ANSI.search(done.stdout)


def test_histogram_percentages_sum_to_100(shared: Shared, tmp_path: Path) -> None:
    done = cli(shared, "submit", write(tmp_path, "bell.qasm", BELL), "--shots", "1000", "--seed", "7")
    assert done.returncode == 0, done.stderr
    values = percentages(done.stdout)
    assert len(values) == 2 and abs(sum(values) - 100.0) <= 0.1
    assert {line.split()[0] for line in done.stdout.splitlines()[1:]} == {"00", "11"}


def test_stdin_no_wait_and_json(shared: Shared, tmp_path: Path) -> None:
    quick = cli(shared, "submit", "-", "--no-wait", input=BELL)
    assert quick.returncode == 0, quick.stderr
    assert JOB_ID.match(quick.stdout.strip()) and quick.stdout.count("\n") == 1
    waited = cli(shared, "jobs", "wait", quick.stdout.strip(), "--wait-timeout", "60", "--json")
    assert waited.returncode == 0, waited.stderr
    doc = json.loads(waited.stdout)
    assert doc["state"] == "completed" and sum(doc["result"]["results"][0]["data"]["counts"].values()) == 1024

    as_json = cli(shared, "submit", write(tmp_path, "bell.qasm", BELL), "--json", "--shots", "50")
    assert as_json.returncode == 0, as_json.stderr
    submitted = json.loads(as_json.stdout)
    server = api(shared, "GET", f"/api/jobs/{submitted['id']}")
    for key in ("id", "state", "qpu", "shots", "owner", "finished_at"):
        assert submitted[key] == server[key]
    assert submitted["result"]["results"][0]["header"]["name"] == "bell"
    assert as_json.stderr == ""  # no spinner, no progress in JSON mode


# --- exit codes ------------------------------------------------------------------------------


def test_exit_codes(shared: Shared, tmp_path: Path) -> None:
    failed = cli(shared, "submit", write(tmp_path, "cf.qasm", CONTROL_FLOW))
    assert failed.returncode == 1 and "unsupported_feature" in failed.stderr
    assert cli(shared, "submit", "--frobnicate", "x.qasm").returncode == 2
    syntax = cli(
        shared,
        "submit",
        write(tmp_path, "broken.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n'),
    )
    assert syntax.returncode == 2 and re.search(r"broken\.qasm:4:\d+: .*foo", syntax.stderr), syntax.stderr
    assert cli(shared, "submit", str(tmp_path / "missing.qasm")).returncode == 2
    assert cli(shared, "whoami", "--token", "qpi_" + "1" * 64).returncode == 3
    no_token = cli(shared, "jobs", "list", env={"QPI_CONFIG_DIR": str(tmp_path / "none")})
    assert no_token.returncode == 3 and "qpi login" in no_token.stderr
    unknown = cli(shared, "jobs", "show", "nosuchjob123456")
    assert unknown.returncode == 4 and "not found" in unknown.stderr
    assert cli(shared, "submit", write(tmp_path, "b2.qasm", BELL), "--qpu", "no-such-qpu").returncode == 4
    down = cli(shared, "jobs", "list", "--addr", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert down.returncode == 5 and "cannot reach" in down.stderr
    waited = cli(shared, "submit", write(tmp_path, "w.qasm", BELL), "--qpu", shared.driverless, "--wait-timeout", "1")
    assert waited.returncode == 6, waited.stderr
    assert "still pending" in waited.stderr and "resume with: qpi jobs wait" in waited.stderr
    pending_id = re.search(r"qpi jobs wait ([a-z0-9]{15})", waited.stderr).group(1)  # type: ignore[union-attr]
    assert api(shared, "GET", f"/api/jobs/{pending_id}")["state"] == "pending"
    not_finished = cli(shared, "jobs", "result", pending_id)
    assert not_finished.returncode == 6
    as_json = cli(shared, "jobs", "show", "nosuchjob123456", "--json")
    assert as_json.returncode == 4 and as_json.stdout == ""
    assert json.loads(as_json.stderr) == {
        "status": 404,
        "error": "not_found",
        "detail": "job nosuchjob123456 not found",
    }


def test_ctrl_c_while_waiting_exits_130_and_leaves_the_job(shared: Shared, tmp_path: Path) -> None:
    lines: list[str] = []
    with subprocess.Popen(
        qpi_command("submit", write(tmp_path, "bell.qasm", BELL), "--qpu", shared.driverless),
        cwd=tmp_path,
        env=shared.server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
        reader.start()
        try:
            wait_for(lambda: any("Submitted job" in line for line in lines), 60, "the submission line")
            wait_for(lambda: any("pending" in line and "job " in line for line in lines[1:]), 30, "the wait to start")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
            reader.join(timeout=10)
    job_id = re.search(r"Submitted job ([a-z0-9]{15})", "".join(lines)).group(1)  # type: ignore[union-attr]
    assert f"job {job_id} continues; resume with: qpi jobs wait {job_id}" in "".join(lines)
    assert api(shared, "GET", f"/api/jobs/{job_id}")["state"] == "pending"


def test_cancel_twice_finished_and_unknown(shared: Shared, tmp_path: Path) -> None:
    pending = cli(
        shared, "submit", write(tmp_path, "p.qasm", BELL), "--qpu", shared.driverless, "--no-wait"
    ).stdout.strip()
    first, second = cli(shared, "jobs", "cancel", pending), cli(shared, "jobs", "cancel", pending)
    assert (first.returncode, second.returncode) == (0, 0)
    assert first.stdout.strip() == second.stdout.strip() == f"cancelled {pending}"
    done = cli(shared, "submit", write(tmp_path, "d.qasm", BELL), "--json")
    completed = json.loads(done.stdout)["id"]
    finished = cli(shared, "jobs", "cancel", completed)
    assert finished.returncode == 1 and "completed" in finished.stderr
    assert cli(shared, "jobs", "cancel", "nosuchjob123456").returncode == 4
    both = cli(shared, "jobs", "cancel", "nosuchjob123456", completed)
    assert both.returncode == 4  # the code of the first id that did not succeed


# --- the other commands ----------------------------------------------------------------------


def test_jobs_list_show_result(shared: Shared, tmp_path: Path) -> None:
    two = write(
        tmp_path,
        "two.qasm",
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[1];\ncreg b[2];\n'
        "x q[0];\nx q[2];\nmeasure q[0] -> a[0];\nmeasure q[1] -> b[0];\nmeasure q[2] -> b[1];\n",
    )
    job = json.loads(cli(shared, "submit", two, "--memory", "--shots", "20", "--name", "regs", "--json").stdout)
    listed = cli(shared, "jobs", "list", "--search", "regs")
    assert listed.returncode == 0 and job["id"] in listed.stdout and "CIRCUITS" in listed.stdout
    listed_json = json.loads(cli(shared, "jobs", "list", "--json", "--state", "completed", "--limit", "5").stdout)
    assert 1 <= len(listed_json) <= 5 and all(j["state"] == "completed" for j in listed_json)
    shown = cli(shared, "jobs", "show", job["id"])
    assert "state:" in shown.stdout and "completed" in shown.stdout and "charged:" in shown.stdout
    table = cli(shared, "jobs", "result", job["id"])
    assert re.search(r"^10 1  █+  20  100.0%$", table.stdout, re.MULTILINE), table.stdout
    memory = cli(shared, "jobs", "result", job["id"], "--memory", "--circuit", "0")
    assert memory.stdout.count("101") == 20
    csv = cli(shared, "jobs", "result", job["id"], "--format", "csv").stdout.splitlines()
    assert csv == ["circuit,outcome,count,probability", "two,101,20,1"]
    doc = json.loads(cli(shared, "jobs", "result", job["id"], "--format", "json").stdout)
    assert doc["results"][0]["data"]["counts"] == {"101": 20}
    assert cli(shared, "jobs", "result", job["id"], "--circuit", "nope").returncode == 2


def test_qpus_tokens_version_and_config(shared: Shared) -> None:
    qpus = cli(shared, "qpus", "list")
    assert qpus.returncode == 0 and "local_mock" in qpus.stdout and "LAST HEARTBEAT" in qpus.stdout
    online = json.loads(cli(shared, "qpus", "list", "--online", "--json").stdout)
    assert [q["name"] for q in online] == ["local_mock"]
    show = cli(shared, "qpus", "show", "local_mock")
    assert "basis gates:" in show.stdout and "all-to-all" in show.stdout
    assert cli(shared, "qpus", "show", "nope").returncode == 4

    created = cli(shared, "tokens", "create", "--name", "ci", "--expires", "30d")
    secret = created.stdout.strip()
    assert created.returncode == 0 and re.fullmatch(r"qpi_[0-9a-f]{64}", secret) and "shown once" in created.stderr
    tokens = json.loads(cli(shared, "tokens", "list", "--json").stdout)
    mine = next(t for t in tokens if t["prefix"] == secret[:12])
    assert "ci" in cli(shared, "tokens", "list").stdout
    assert cli(shared, "whoami", "--token", secret).returncode == 0
    assert cli(shared, "tokens", "delete", mine["id"]).stdout.strip() == f"deleted {mine['id']}"
    assert cli(shared, "whoami", "--token", secret).returncode == 3

    from qpi import __version__

    assert cli(shared, "version").stdout.strip() == f"qpi {__version__}"
    server = cli(shared, "version", "--server")
    assert f"server {__version__}" in server.stdout and "health: ok" in server.stdout
    shown = cli(shared, "config", "show")
    assert shown.returncode == 0 and "local" in shown.stdout


def test_admin_commands(shared: Shared) -> None:
    made = cli(shared, "admin", "qpus", "create", "bench", "--qubits", "3", "--description", "a bench")
    assert made.returncode == 0 and "created QPU bench" in made.stdout
    off = cli(shared, "admin", "qpus", "toggle", "bench", "--disable")
    assert "disabled" in off.stdout and "maintenance" in off.stdout
    assert "enabled" in cli(shared, "admin", "qpus", "toggle", "bench", "--enable").stdout
    driver = cli(shared, "admin", "drivers", "create", "bench-driver", "--qpu", "bench", "--kind", "mock")
    assert driver.returncode == 0, driver.stderr
    assert re.search(r"token:\s+qpi_[0-9a-f]{64}", driver.stdout)
    assert re.search(r"ca fingerprint:\s+[0-9a-f]{64}", driver.stdout)
    assert "qpi driver start --qpi-addr" in driver.stdout and "--executor mock" in driver.stdout
    assert cli(shared, "admin", "qpus", "delete", "bench", "--yes").stdout.strip() == "deleted QPU bench"

    user = cli(shared, "admin", "users", "create", "kim@example.org", "--seconds", "10")
    assert user.returncode == 0 and "password (shown once):" in user.stdout
    granted = cli(shared, "admin", "users", "grant", "kim@example.org", "5", "--reason", "lab")
    assert granted.stdout.strip() == "kim@example.org: 10.0 s → 15.0 s"
    replaced = cli(shared, "admin", "users", "grant", "kim@example.org", "3", "--set")
    assert replaced.stdout.strip() == "kim@example.org: 15.0 s → 3.00 s"
    assert "kim@example.org" in cli(shared, "admin", "users", "list").stdout
    assert cli(shared, "admin", "users", "grant", "nobody@example.org", "1").returncode == 4


def test_bookings_commands(shared: Shared) -> None:
    made = cli(shared, "bookings", "create", "--qpu", "local_mock", "--start", "+2h", "--duration", "30m", "--json")
    assert made.returncode == 0, made.stderr
    booking = json.loads(made.stdout)
    assert booking["qpu"]["name"] == "local_mock"
    listed = cli(shared, "bookings", "list", "--mine")
    assert booking["id"] in listed.stdout
    overlap = cli(shared, "bookings", "create", "--qpu", "local_mock", "--start", "+2h10m", "--end", "+3h")
    assert overlap.returncode == 1 and "overlap" in overlap.stderr
    assert cli(shared, "bookings", "delete", booking["id"]).returncode == 0
    assert cli(shared, "bookings", "release", booking["id"]).returncode == 4


def test_time_requests_and_notices(shared: Shared) -> None:
    request = json.loads(cli(shared, "time", "request", "60", "--reason", "thesis", "--json").stdout)
    assert request["status"] == "pending"
    assert request["id"] in cli(shared, "time", "list").stdout
    rejected = cli(shared, "admin", "time-request", "reject", request["id"], "--reason", "no budget")
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    notice = cli(shared, "admin", "notify", "Maintenance", "--description", "Friday", "--severity", "warning")
    assert notice.returncode == 0 and "posted notice" in notice.stdout


def test_progress_lines_without_a_terminal(shared: Shared, tmp_path: Path) -> None:
    started = time.monotonic()
    done = cli(shared, "submit", write(tmp_path, "bell.qasm", BELL))
    assert done.returncode == 0
    assert not ANSI.search(done.stderr) and "⠋" not in done.stderr  # no spinner frames
    assert done.stderr.splitlines()[0].startswith("Submitted job ")
    assert time.monotonic() - started < 60


def test_submit_no_wait_imports_neither_qiskit_nor_rich_nor_the_server(shared: Shared, tmp_path: Path) -> None:
    import sys

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "qpi", "submit", "-", "--no-wait"],
        input=BELL,
        cwd=tmp_path,
        env=shared.server.env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert JOB_ID.match(done.stdout.strip())
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    for heavy in ("qiskit", "rich", "qpi.server", "litestar", "piccolo", "numpy"):
        assert not {m for m in modules if m == heavy or m.startswith(heavy + ".")}, heavy
