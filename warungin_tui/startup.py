"""The process's start-up: the cyclic garbage collector is off until the first frame.

Starting the wizard creates ~1 million objects (Textual, pydantic's config models, the first
screen) that live as long as the process; the collector ran over them again and again while
they were made: ~35 ms of the wizard's first frame and ~45 ms of `check` on 2 cores here. The
console script turns it off first thing (`begin`); the wizard freezes what exists once its
first frame is drawn (those objects are never scanned again, which also shortens every later
collection during the night) and turns it back on (`first_frame_drawn`); `check` (done in a
second) keeps it off; every other command turns it back on before it does anything (`end`).
This is the pattern of Python's documentation for `gc.freeze`.
"""

from __future__ import annotations

import gc

_began = False


def begin() -> None:
    """Collector off: only the console script (and the benchmark that measures it) call this."""
    global _began
    _began = True
    gc.disable()


def first_frame_drawn() -> None:
    """The wizard's first frame is on screen: freeze what exists, collector back on."""
    _collector_on(freeze=True)


def end() -> None:
    """Collector back on, nothing frozen (a command that may run for long)."""
    _collector_on(freeze=False)


def _collector_on(*, freeze: bool) -> None:
    global _began
    if _began:  # only after begin(): tests and library use never touch the collector
        _began = False
        if freeze:
            gc.freeze()
        gc.enable()
