"""Import a module in a thread, once per module, while the event loop waits on the network.

A command such as `check` spends most of its start-up importing (asyncssh, pydantic, the engine,
httpx) and then waits on the host (the SSH handshake, the login shell's start-up). An import
done on the event loop stalls everything on it; an import in a thread runs in those waits.
Python's per-module import locks make a module imported here and on the loop at once safe: the
second importer waits for the first.

httpx is imported without two optional parts this process never uses (see `_import_httpx`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import sys
import threading
from collections.abc import Callable
from types import ModuleType

_loading: dict[str, concurrent.futures.Future[ModuleType]] = {}
_loading_guard = threading.Lock()


def start(name: str) -> concurrent.futures.Future[ModuleType]:
    """Start importing `name` in a thread unless that has started; its future either way."""
    with _loading_guard:
        loading = _loading.get(name)
        if loading is None:
            loading = _loading[name] = concurrent.futures.Future()
            module = sys.modules.get(name)
            spec = getattr(module, "__spec__", None)
            if module is not None and not getattr(spec, "_initializing", False):
                loading.set_result(module)  # imported already (and not still importing)
            else:
                threading.Thread(
                    target=_import, args=(name, loading), name=f"import {name}", daemon=True
                ).start()
        return loading


async def imported(name: str) -> ModuleType:
    """The module `name`, imported in a thread (started now if nobody started it). Once it is
    imported this returns without yielding to the event loop."""
    loading = start(name)
    if loading.done():
        return loading.result()
    return await asyncio.wrap_future(loading)


def _import_httpx() -> ModuleType:
    """httpx and httpcore (which httpx imports only when its first client is made), without
    httpx's command-line client and without httpcore's trio support.

    `httpx/__init__` imports `httpx._main` (rich, pygments, click) when they are installed, as
    Textual's dependencies are, and httpcore imports trio where it is installed; our probes run
    on asyncio and never call `httpx.main`. Both are optional imports in the pinned httpx 0.28.1
    and httpcore 1.0.9 (a `try: ... except ImportError`): a None entry in sys.modules makes them
    fail as if the package were absent. This saved ~60 ms of CPU in `check` on 2 cores. trio's
    entry is removed afterwards, so a later `import trio` elsewhere still works.
    """
    blocked = [name for name in ("httpx._main", "trio") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "not installed" to importers
    try:
        importlib.import_module("httpcore")
        return importlib.import_module("httpx")
    finally:
        if "trio" in blocked and sys.modules.get("trio", 0) is None:
            del sys.modules["trio"]


_IMPORTERS: dict[str, Callable[[], ModuleType]] = {"httpx": _import_httpx}


def _import(name: str, loading: concurrent.futures.Future[ModuleType]) -> None:
    try:
        importer = _IMPORTERS.get(name)
        loading.set_result(importer() if importer else importlib.import_module(name))
    except BaseException as exc:  # the awaiting caller re-raises it
        loading.set_exception(exc)
