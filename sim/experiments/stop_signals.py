"""SIGTERM handled like Ctrl-C: a sweep stopped by ``kill`` or a job scheduler stores what finished.

Inside :class:`StopSignals`, SIGTERM raises :class:`KeyboardInterrupt` in the
main thread, exactly where Ctrl-C would, so the one interrupt path (flush the
finished runs, mark the manifest ``interrupted``) serves both; the signal
received is remembered, and :attr:`StopSignals.exit_code` is the shell's
``128 + signal``: 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

HANDLED = (signal.SIGTERM,)


class StopSignals:
    """Turn SIGTERM into KeyboardInterrupt while active; remember which signal stopped us."""

    def __init__(self) -> None:
        self.signum = signal.SIGINT  # a KeyboardInterrupt with no signal recorded is Ctrl-C
        self._previous: dict[int, object] = {}

    @property
    def exit_code(self) -> int:
        """``128 + signal`` of the signal that stopped the command (130 Ctrl-C, 143 SIGTERM)."""
        return 128 + int(self.signum)

    @property
    def name(self) -> str:
        """``Ctrl-C`` or the signal's name, for messages."""
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED:
                self._previous[signum] = signal.signal(signum, self._raise)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        raise KeyboardInterrupt
