"""Real redis-server processes on spare loopback ports, for outage and failover tests, and a
proxy that makes a Redis slow."""

import asyncio
import contextlib
import multiprocessing
import socket
import subprocess
from pathlib import Path

import redis

from tests.support import require_program, wait_until


def require_redis_server() -> str:
    """The redis-server binary; skip locally, fail in CI, when it is not installed."""
    return require_program("redis-server", "apt-get install redis-server")


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
    that answers each call, slowly. It runs in a process of its own, so that the test's client
    threads do not delay it further by holding the GIL."""

    def __init__(self, target_port: int, port: int, delay: float) -> None:
        self.target_port, self.port, self.delay = target_port, port, delay
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=_run_proxy, args=(target_port, port, delay), daemon=True
        )

    def start(self) -> "DelayingProxy":
        self.process.start()
        wait_until(self._listening, timeout=10, what=f"the proxy on port {self.port}")
        return self

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=5)

    def _listening(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True


def _run_proxy(target_port: int, port: int, delay: float) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float):
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def connection(client_in, client_out) -> None:
        redis_in, redis_out = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_in, redis_out, 0.0), pipe(redis_in, client_out, delay))

    async def serve() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(serve())


class LocalCluster:
    """A Redis Cluster of `primaries` primaries (and `replicas` replicas each) on spare
    loopback ports, in `workdir`; `nodes` is what REDIS_CLUSTER_NODES takes."""

    def __init__(self, workdir: Path, primaries: int = 3, replicas: int = 0) -> None:
        from tests.support import spare_ports

        self.workdir = workdir
        count = primaries * (1 + replicas)
        ports = spare_ports(2 * count)  # each node's, and its bus's (by default port + 10000)
        self.servers = [
            RedisServer(
                workdir, port, "--cluster-enabled", "yes", "--cluster-port", str(bus),
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", "1000", "--save", "", "--appendonly", "no",
            )
            for port, bus in zip(ports[:count], ports[count:], strict=True)
        ]  # fmt: skip
        self.replicas = replicas

    @property
    def nodes(self) -> str:
        return ",".join(f"127.0.0.1:{server.port}" for server in self.servers)

    def start(self) -> "LocalCluster":
        try:
            self._start()
        except BaseException:
            self.stop()  # never leave a node behind
            raise
        return self

    def _start(self) -> None:
        for server in self.servers:
            server.start()
        subprocess.run(
            [require_program("redis-cli", "apt-get install redis-tools"), "--cluster", "create",
             *(f"127.0.0.1:{server.port}" for server in self.servers),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.is_ready, timeout=20, what="the cluster to be ready")

    def is_ready(self) -> bool:
        """Every node says the cluster is ok and sees every other node."""
        for server in self.servers:
            info = server.client().execute_command("CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info:
                return False
            if f"cluster_known_nodes:{len(self.servers)}" not in info:
                return False
            replication = server.client().info("replication")
            if replication["role"] == "slave" and replication["master_link_status"] != "up":
                return False  # a replica still in its first sync
        return True

    def stop(self) -> None:
        for server in self.servers:
            server.kill()
