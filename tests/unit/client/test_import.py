"""``import qpi.client`` opens nothing, reads no variable or file, and imports neither qiskit nor httpx."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, os, sys

read_env = []

class Spy(dict):
    def __getitem__(self, key):
        read_env.append(key)
        return super().__getitem__(key)
    def get(self, key, default=None):
        read_env.append(key)
        return super().get(key, default)
    def __contains__(self, key):
        read_env.append(key)
        return super().__contains__(key)

os.environ = Spy(os.environ)
events = []

def hook(event, args):
    if event == "open":
        path = str(args[0])
        if not path.endswith((".py", ".pyc", ".so", ".pth")) and "__pycache__" not in path:
            events.append(("open", path))
    elif event.startswith("socket."):
        events.append((event, ""))

sys.addaudithook(hook)
import qpi.client
import qpi.client.models
import qpi.client.errors
result = {
    "qiskit": sorted(m for m in sys.modules if m == "qiskit" or m.startswith("qiskit.")),
    "httpx": "httpx" in sys.modules,
    "events": events,
    "env": sorted(set(k for k in read_env if k.startswith("QPI_"))),
}
print(json.dumps(result))
"""


def _probe(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_qpi_client_is_inert() -> None:
    result = _probe(PROBE)
    assert result["qiskit"] == []
    assert result["httpx"] is False, "httpx loads on first use of a client, not at import"
    assert result["events"] == [], result["events"]
    assert result["env"] == []


def test_building_a_client_does_not_import_qiskit() -> None:
    code = (
        "import sys, os\nos.environ['QPI_CONFIG_DIR'] = '/nonexistent-qpi-dir'\n"
        "from qpi.client import Client, AsyncClient\nc = AsyncClient('http://127.0.0.1:1', 'qpi_x')\n"
        "import json\nprint(json.dumps({'qiskit': 'qiskit' in sys.modules}))"
    )
    assert _probe(code) == {"qiskit": False}


def test_every_public_name_resolves() -> None:
    code = (
        "import qpi.client, json, sys\n"
        "names = [n for n in qpi.client.__all__ if getattr(qpi.client, n) is None]\n"
        "print(json.dumps({'missing': names, 'qiskit': 'qiskit' in sys.modules}))"
    )
    assert _probe(code) == {"missing": [], "qiskit": False}
