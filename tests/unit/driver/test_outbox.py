"""The result outbox on a real directory: what survives a restart, and when it counts as full."""

from __future__ import annotations

import stat
from pathlib import Path

from qpi.driver.outbox import Outbox
from qpi.protocol.messages import JobRef


def test_results_stay_until_removed_and_a_new_outbox_finds_them(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.put("job_b", 1, b"bb")
    box.put("job_a", 2, b"a2")
    box.put("job_a", 10, b"a10")
    assert box.refs() == [
        JobRef(job_id="job_a", attempt=2),
        JobRef(job_id="job_a", attempt=10),
        JobRef(job_id="job_b", attempt=1),
    ]
    box.remove("job_b", 1)
    box.remove("job_b", 1)  # an ack repeated: nothing left to remove
    assert len(box) == 2
    assert stat.S_IMODE((tmp_path / "outbox" / "job_a.2.msgpack").stat().st_mode) == 0o600

    again = Outbox(tmp_path / "outbox")  # the driver restarted
    assert again.items() == [(JobRef(job_id="job_a", attempt=2), b"a2"), (JobRef(job_id="job_a", attempt=10), b"a10")]
    (tmp_path / "outbox" / "job_a.10.msgpack").unlink()  # removed by someone else
    assert again.items() == [(JobRef(job_id="job_a", attempt=2), b"a2")]
    assert again.refs() == [JobRef(job_id="job_a", attempt=2)] and len(again) == 1


def test_a_write_cut_short_is_neither_listed_nor_kept(tmp_path: Path) -> None:
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / ".tmp-job_x.1").write_bytes(b"half a res")
    (tmp_path / "outbox" / "notes.txt").write_text("not ours")
    box = Outbox(tmp_path / "outbox")
    assert box.refs() == [] and len(box) == 0
    assert not (tmp_path / "outbox" / ".tmp-job_x.1").exists()
    assert (tmp_path / "outbox" / "notes.txt").exists()


def test_full_by_entries_or_by_bytes_and_free_again_after_acks(tmp_path: Path) -> None:
    by_count = Outbox(tmp_path / "a", max_entries=2)
    by_count.put("j1", 1, b"x")
    assert not by_count.full()
    by_count.put("j2", 1, b"x")
    assert by_count.full()
    by_count.remove("j1", 1)
    assert not by_count.full()

    by_size = Outbox(tmp_path / "b", max_bytes=10)
    by_size.put("j1", 1, b"12345")
    assert not by_size.full()
    by_size.put("j2", 1, b"67890")
    assert by_size.full()
    assert Outbox(tmp_path / "b", max_bytes=10).full()  # the sizes are read back at start
    by_size.remove("j2", 1)
    assert not by_size.full()
