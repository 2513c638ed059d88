"""Real redis-server processes on spare loopback ports, for outage and failover tests, and a
proxy that makes a Redis slow."""

import asyncio
import contextlib
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import redis

from tests.support import IN_CI, wait_until


def require_redis_server() -> str:
    """The redis-server binary; skip locally, fail in CI, when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


class RedisServer:
    """One redis-server (or sentinel) in the foreground of a child process."""

    def __init__(self, workdir: Path, port: int, *args: str, config: str | None = None) -> None:
        self.workdir, self.port, self.args, self.config = workdir, port, args, config
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        command = [require_redis_server()]
        if self.config is not None:
            config_file = self.workdir / f"{self.port}.conf"
            if not config_file.exists():  # a sentinel rewrites its file; keep what it wrote
                config_file.write_text(self.config)
            command.append(str(config_file))
        command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        command += list(self.args)
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self.client().ping, timeout=10, what=f"redis on port {self.port}")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def stop(self) -> None:
        """A clean stop (SIGTERM): Redis flushes its append-only file first."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """An unclean stop (SIGKILL), as a crashed host."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class DelayingProxy:
    """A TCP proxy in front of a Redis that holds every reply back for `delay` seconds: a Redis
    that answers each call, slowly."""

    def __init__(self, target_port: int, port: int, delay: float) -> None:
        self.target_port, self.port, self.delay = target_port, port, delay
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> "DelayingProxy":
        self.thread.start()
        serving = asyncio.start_server(self._connection, "127.0.0.1", self.port)
        self.server = asyncio.run_coroutine_threadsafe(serving, self.loop).result(timeout=5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

    async def _shutdown(self) -> None:
        self.server.close()
        connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    async def _connection(self, client_in, client_out) -> None:
        redis_in, redis_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            await asyncio.gather(
                self._pipe(client_in, redis_out, 0.0), self._pipe(redis_in, client_out, self.delay)
            )
        finally:
            for writer in (client_out, redis_out):
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

    @staticmethod
    async def _pipe(reader, writer, delay: float) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        writer.close()
