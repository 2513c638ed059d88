"""`make bench-durability`: what REDIS_WRITE_REPLICAS=1 costs the write routes.

A primary with one replica (private redis-servers), preloaded as `make bench-http` preloads;
`make serve` with the setting at 0 and at 1 on it, taking turns route by route (wrk, as
`make bench-http` drives it). Prints a markdown table.
"""

import subprocess
import tempfile
import time

import redis
from http_bench import (
    ROUNDS,
    bench_servers,
    ensure_wrk,
    make_serve,
    preload,
    spare_port,
    wait_for_port,
)

WRITE_ROUTES = ["register", "new", "append"]


def confirmed_serve(port: int, workers: int, threads: int) -> tuple[list[str], dict[str, str]]:
    command, env = make_serve(port, workers, threads)
    return command, {**env, "REDIS_WRITE_REPLICAS": "1"}


def main() -> None:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as workdir:
        primary_port, replica_port = spare_port(), spare_port()
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
        quiet = {"stdout": subprocess.DEVNULL}
        primary = subprocess.Popen(["redis-server", "--port", str(primary_port), *common], **quiet)
        replica = subprocess.Popen([
            "redis-server", "--port", str(replica_port), *common,
            "--replicaof", "127.0.0.1", str(primary_port),
        ], **quiet)  # fmt: skip
        try:
            wait_for_port(primary_port)
            wait_for_port(replica_port)
            client = redis.Redis(port=replica_port)
            while client.info("replication").get("master_link_status") != "up":
                time.sleep(0.1)
            redis_url = f"redis://127.0.0.1:{primary_port}/0"
            preload(redis_url)
            candidates = {
                "REDIS_WRITE_REPLICAS=0": (make_serve, 2, 1),
                "REDIS_WRITE_REPLICAS=1": (confirmed_serve, 2, 1),
            }
            results, _ = bench_servers(wrk, redis_url, candidates, WRITE_ROUTES)
        finally:
            for server in (replica, primary):
                server.terminate()
                server.wait(timeout=30)
    print(f"\n| route (median of {ROUNDS}) | setting 0: req/s | setting 1: req/s | cost | "
          "p99 at 0 | p99 at 1 |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for route in WRITE_ROUTES:
        off, on = results["REDIS_WRITE_REPLICAS=0"][route], results["REDIS_WRITE_REPLICAS=1"][route]
        cost = 1 - on.requests_per_second / off.requests_per_second
        print(f"| {route} | {off.requests_per_second:,.0f} | {on.requests_per_second:,.0f} | "
              f"{cost:.0%} | {off.p99_ms:.1f} ms | {on.p99_ms:.1f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
