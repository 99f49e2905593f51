"""A TCP proxy for fault injection in userspace (no tc/iptables here, docs/ssh-notes.md point 8)."""

from __future__ import annotations

import asyncio
import contextlib


class FaultProxy:
    """Forwards 127.0.0.1:<port> to a target; `stall()` silently stops traffic both ways."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: list[asyncio.Event] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        """Hold every byte from now on, like a dead network: no FIN, no RST."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def blackhole_current(self) -> None:
        """Hold every byte, FIN included, of the connections open now, both ways, for good:
        the server never learns that the client gave up. New connections flow (a reconnect
        over another path works)."""
        for flowing in self._connections:
            flowing.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.update((writer, up_writer))
        connection = asyncio.Event()
        connection.set()
        self._connections.append(connection)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst, connection))
            self._tasks.add(task)

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, connection: asyncio.Event
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await src.read(65536):
                await self._flowing.wait()
                await connection.wait()
                dst.write(data)
                await dst.drain()
            await connection.wait()  # a blackholed connection does not pass the FIN on either
            dst.close()
