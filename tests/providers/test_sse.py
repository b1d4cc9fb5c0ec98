"""Server-sent events are split into events however the bytes arrive."""

from __future__ import annotations

import random

import pytest

from services.providers.sse import SSEParser

STREAM = (
    b": keep-alive\r\n\r\n"
    b'data: {"a": "\xc3\xa9t\xc3\xa9"}\r\n\r\n'
    b"event: message\nid: 7\ndata: line one\ndata: line two\n\n"
    b"data:no-space\n\n"
    b"data: [DONE]\n\n"
)
EVENTS = ['{"a": "été"}', "line one\nline two", "no-space", "[DONE]"]


@pytest.mark.parametrize("seed", range(30))
def test_events_are_the_same_however_the_bytes_are_cut(seed):
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randint(1, 40)))
    parser = SSEParser()
    events = []
    for a, b in zip([0, *cuts], [*cuts, len(STREAM)]):
        events += parser.feed(STREAM[a:b])
    events += parser.close()
    assert events == EVENTS


def test_an_event_without_its_blank_line_is_delivered_at_close():
    parser = SSEParser()
    assert parser.feed(b"data: one\n\ndata: two") == ["one"]
    assert parser.close() == ["two"]
