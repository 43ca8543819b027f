"""The event-stream decoder and Event decoding."""

from __future__ import annotations

from qpi.client.sse import SSEDecoder
from qpi.client.stream import event_from_frame


def feed(decoder: SSEDecoder, text: str) -> list[object]:
    return [frame for line in text.split("\n") if (frame := decoder.feed(line)) is not None]


def test_frames_comments_and_multiline_data() -> None:
    decoder = SSEDecoder()
    frames = feed(
        decoder,
        'retry: 3000\n\n: keepalive\n\nid: 7\nevent: job.completed\ndata: {"a":\ndata: 1}\n\n',
    )
    assert [getattr(f, "retry", None) for f in frames] == [3000, None]
    last = frames[-1]
    assert (last.id, last.event, last.data) == ("7", "job.completed", '{"a":\n1}')  # type: ignore[attr-defined]
    assert decoder.last_event_id == "7"


def test_event_json_and_live_only_events() -> None:
    decoder = SSEDecoder()
    (frame,) = feed(
        decoder,
        "id: 12\nevent: job.started\n"
        'data: {"id": 12, "type": "job.started", "job": "j1", "data": {"state": "running"}}\n\n',
    )
    event = event_from_frame(frame)  # type: ignore[arg-type]
    assert (event.id, event.type, event.job, event.state) == (12, "job.started", "j1", "running")
    (queue,) = feed(decoder, 'event: job.queue\ndata: {"type": "job.queue", "job": "j1", "data": {"queue": {}}}\n\n')
    assert event_from_frame(queue).id is None  # type: ignore[arg-type]
    (reset,) = feed(decoder, 'event: stream.reset\ndata: {"oldest_id": 40}\n\n')
    decoded = event_from_frame(reset)  # type: ignore[arg-type]
    assert (decoded.type, decoded.data) == ("stream.reset", {"oldest_id": 40})
