"""Scan progress on stderr: one redrawn line on a terminal, plain lines in a log.

`\\r` redraws are for people watching a terminal; in a log file or a journal
they leave `^M` everywhere. And a log record written while a redrawn line is
open would be glued to it: `attach_to_logging` ends the line first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TextIO

from core.library import ScanProgress


class ProgressLine:
    """Prints `ScanProgress` events to `stream` (a terminal or not, as it says)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._open = False  # a redrawn line is on screen without its newline
        self._last = ""

    def __call__(self, event: ScanProgress) -> None:
        total = f"/{event.total}" if event.total is not None else ""
        text = f"{event.phase} {event.done}{total}"
        if self.tty:
            self.stream.write(f"\r{event.phase:<10} {event.done}{total}   ")
            self._open = True
        elif text != self._last:
            self.stream.write(f"{text}\n")
        self._last = text
        self.stream.flush()

    def end(self) -> None:
        """Close a redrawn line, so that whatever comes next starts on its own line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    @contextlib.contextmanager
    def attach_to_logging(self) -> Iterator[None]:
        """While inside, every log record first ends the open progress line."""
        handlers = list(logging.getLogger().handlers)
        ender = _EndLine(self)
        for handler in handlers:
            handler.addFilter(ender)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(ender)
            self.end()


class _EndLine(logging.Filter):
    """A filter that lets every record through, after ending the progress line."""

    def __init__(self, line: ProgressLine) -> None:
        super().__init__()
        self.line = line

    def filter(self, record: logging.LogRecord) -> bool:
        self.line.end()
        return True
