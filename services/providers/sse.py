"""Server-sent events as OpenAI-compatible upstreams stream them: bytes in,
one ``data`` payload per event out, as soon as the event is complete."""

from __future__ import annotations

import codecs


class SSEParser:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, chunk: bytes) -> list[str]:
        """The ``data`` of every event completed by ``chunk`` (comments,
        ``event:``/``id:`` fields and data-less events are dropped)."""
        self._buffer += self._decoder.decode(chunk)
        return self._events(final=False)

    def close(self) -> list[str]:
        """Events left when the stream ends, even without their blank line."""
        self._buffer += self._decoder.decode(b"", final=True)
        return self._events(final=True)

    def _events(self, *, final: bool) -> list[str]:
        text = self._buffer
        # A "\r" at the very end may be the first half of "\r\n": wait for more.
        keep_cr = text.endswith("\r") and not final
        if keep_cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        blocks = text.split("\n\n")
        rest = blocks.pop() if not final else ""
        self._buffer = rest + ("\r" if keep_cr else "")
        out = []
        for block in blocks:
            data = [
                line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
            ]
            if data:
                out.append("\n".join(data))
        return out
