"""A loopback TCP proxy that adds a round-trip time: a store server in another city, on 127.0.0.1.

Each chunk read from one side is delivered to the other side rtt/2 later, in order (no bandwidth
cap: only latency is added). Used by benchmarks/run.py between the tool and sshd:

    async with LatencyProxy(sshd_port, rtt_s=0.040) as proxy:
        ...connect to 127.0.0.1:proxy.port...

Run alone: `python benchmarks/latency_proxy.py TARGET_PORT [--rtt-ms 40]` prints its port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from types import TracebackType

LOOPBACK = "127.0.0.1"
CHUNK = 65536


class LatencyProxy:
    """Accepts on 127.0.0.1:<free port>, forwards to 127.0.0.1:target_port with rtt/2 each way."""

    def __init__(self, target_port: int, *, rtt_s: float = 0.040) -> None:
        self.target_port = target_port
        self.one_way_s = rtt_s / 2
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def __aenter__(self) -> LatencyProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            writer.close()
            return
        self._spawn(self._pipe(reader, up_writer))
        self._spawn(self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read as it comes; a second task writes each chunk when its due time has come, so
        the delay is added once per chunk (latency), never queued behind other chunks."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                queue.put_nowait((time.monotonic() + self.one_way_s, data))
                if not data:
                    break
            await sender
        except (OSError, asyncio.IncompleteReadError):
            sender.cancel()
            writer.close()
        finally:
            if not sender.done():
                sender.cancel()


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target_port", type=int)
    parser.add_argument("--rtt-ms", type=float, default=40.0)
    args = parser.parse_args()
    async with LatencyProxy(args.target_port, rtt_s=args.rtt_ms / 1000) as proxy:
        print(proxy.port, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
