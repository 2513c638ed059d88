"""`make bench-cluster`: the store on a local 3-primary Redis Cluster against one Redis.

Starts a Redis Cluster of three primaries on spare ports (tests/redis_servers.py), runs the
same in-process work (Django, DRF, the store) on it and on the local Redis (database 14, which
it flushes), and reads each primary's INFO commandstats and CPU time:
  - Redis time per append and per list page, and how it spreads over the primaries;
  - the capacity that gives on paper for 3, 10 and 100 primaries against one Redis;
  - list page latency at 100, 10,000 and 100,000 conversations;
  - what a live-update frame costs each node: PUBLISH (the cluster passes it to every node)
    against SPUBLISH (only the shard's own nodes).
Prints markdown tables (docs/benchmarks.md keeps the last run).
"""

import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Emptying a store of 100,000 conversations takes longer than the service's call timeout.
os.environ.setdefault("REDIS_SOCKET_TIMEOUT_SECONDS", "0.9")
import inprocess  # noqa: F401  (sets Django up: must come first)
import redis
import redis.crc
from django.test import override_settings
from rest_framework.test import APIClient

from agent_conversations.store import conversation_ensure
from elevenlabs_agent.cluster import SHARDS
from elevenlabs_agent.redis import redis_client
from elevenlabs_agent.settings import channel_layer_settings, redis_cache_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.redis_servers import LocalCluster

API = "/agent-conversations/api"
CONVERSATIONS = 2_000  # spread over every shard
APPENDS = 6_000
PAGES = 300
SIZES = (100, 10_000, 100_000)
FRAME = b"x" * 2_000  # a live-update frame of a short conversation


@contextmanager
def on_cluster(cluster: LocalCluster) -> Iterator[None]:
    nodes = cluster.nodes.split(",")
    with override_settings(
        REDIS_CLUSTER_NODES=nodes,
        CACHES={"default": redis_cache_settings("", cluster_nodes=nodes)},
        CHANNEL_LAYERS=channel_layer_settings("", cluster_nodes=nodes),
    ):
        yield


def primaries(cluster: LocalCluster | None) -> list[redis.Redis]:
    if cluster is None:
        return [redis.Redis(port=6379)]
    return [server.client() for server in cluster.servers]


class Usage:
    """Each primary's Redis time in commands (commandstats usec) and CPU (used_cpu_*) over a
    stretch of work."""

    def __init__(self, nodes: list[redis.Redis]) -> None:
        self.nodes = nodes
        for node in nodes:
            node.config_resetstat()
        self.cpu = [self._cpu(node) for node in nodes]

    @staticmethod
    def _cpu(node: redis.Redis) -> float:
        info = node.info("cpu")
        return info["used_cpu_sys"] + info["used_cpu_user"]

    def read(self) -> tuple[list[float], list[float]]:
        """(command µs, CPU µs) per primary since the start."""
        commands = [
            sum(s["usec"] for k, s in node.info("commandstats").items() if k != "cmdstat_info")
            for node in self.nodes
        ]
        cpu = [
            (self._cpu(node) - before) * 1e6
            for node, before in zip(self.nodes, self.cpu, strict=True)
        ]
        return commands, cpu


def measure(
    nodes: list[redis.Redis], work: Callable[[], None], count: int
) -> tuple[list[float], list[float]]:
    """Per primary: (command µs, CPU µs) per unit of `work` (done `count` times)."""
    usage = Usage(nodes)
    work()
    commands, cpu = usage.read()
    return [c / count for c in commands], [c / count for c in cpu]


def appends(api: APIClient, ids: list[str]) -> Callable[[], None]:
    def work() -> None:
        for n in range(APPENDS):
            cid = ids[n % len(ids)]
            response = api.post(
                f"{API}/{cid}/message", {"role": "user", "content": f"line {n}"}, format="json"
            )
            assert response.status_code == 200, response.content

    return work


def list_pages(api: APIClient) -> Callable[[], None]:
    def work() -> None:
        for _ in range(PAGES):
            response = api.get(f"{API}/list", {"limit": 20, "sortBy": "lastAccessedAt"})
            assert response.status_code == 200, response.content

    return work


def median_ms(request: Callable[[], object], samples: int = 200) -> float:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        request()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def spread(values: list[float]) -> str:
    total = sum(values)
    return " / ".join(f"{100 * v / total:.0f}%" for v in values) if total else "-"


def main() -> None:
    api = APIClient()
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="bench-cluster-"))).start()
    try:
        results = {}
        for name, context in (("one Redis", None), ("cluster of 3", cluster)):
            with on_cluster(cluster) if context else override_settings():
                redis_client().flushdb(asynchronous=True)
                nodes = primaries(context)
                ids = [f"bench-{n:06d}" for n in range(CONVERSATIONS)]
                for cid in ids:
                    conversation_ensure(conversation_id=cid)
                append = measure(nodes, appends(api, ids), APPENDS)
                page = measure(nodes, list_pages(api), PAGES)
                latency = {}
                stored = CONVERSATIONS
                for size in SIZES:
                    for n in range(stored, size):
                        conversation_ensure(conversation_id=f"bench-{n:06d}")
                    stored = max(stored, size)
                    latency[size] = median_ms(lambda: api.get(f"{API}/list", {"limit": 20}))
                results[name] = (append, page, latency)
                if context:
                    results["page parts"] = page_parts(nodes, api)
                redis_client().flushdb(asynchronous=True)
        report(results)
        print()
        frames(cluster)
    finally:
        cluster.stop()


def report(results: dict) -> None:
    print("| Redis time (commandstats; CPU in brackets) | one Redis | cluster of 3, in all "
          "| spread over the 3 |")  # fmt: skip
    print("| --- | ---: | ---: | --- |")
    for label, index in (("per append", 0), ("per list page (20)", 1)):
        (one_cmd, one_cpu) = results["one Redis"][index]
        (cl_cmd, cl_cpu) = results["cluster of 3"][index]
        print(f"| {label} | {sum(one_cmd):.0f} µs ({sum(one_cpu):.0f} µs) | "
              f"{sum(cl_cmd):.0f} µs ({sum(cl_cpu):.0f} µs) | {spread(cl_cmd)} |")  # fmt: skip
    for size in SIZES:
        one, three = results["one Redis"][2][size], results["cluster of 3"][2][size]
        print(f"| list page latency at {size:,} conversations | {one:.2f} ms | {three:.2f} ms | |")

    # On paper: a primary saturates when its own share of the work fills one core's second.
    one_append = sum(results["one Redis"][0][0])
    one_page = sum(results["one Redis"][1][0])
    append_us = sum(results["cluster of 3"][0][0])  # the same work wherever it runs
    shard_read_us, assemble_us = results["page parts"]
    print("\n| primaries | appends/s (x one Redis) | list pages/s (x one Redis) |")
    print("| ---: | ---: | ---: |")
    print(f"| one Redis | {1e6 / one_append:,.0f} (1x) | {1e6 / one_page:,.0f} (1x) |")
    for count in (3, 10, 100):
        busiest = math.ceil(SHARDS / count)  # shards on the busiest primary
        writes = 1e6 / append_us * SHARDS / busiest
        # A page reads every shard; each of its conversations is on the busiest primary with
        # the chance of its share of the shards.
        page_on_busiest = (shard_read_us + assemble_us / SHARDS) * busiest
        pages = 1e6 / page_on_busiest
        print(f"| {count} | {writes:,.0f} ({writes * one_append / 1e6:.1f}x) | "
              f"{pages:,.0f} ({pages * one_page / 1e6:.1f}x) |")  # fmt: skip


def page_parts(nodes: list[redis.Redis], api: APIClient) -> tuple[float, float]:
    """A list page's Redis µs split in one shard's index read (ZCARD, ZCOUNT, ZRANGE: the same
    on every shard) and the page's assembly (a script per conversation, spread over the
    primaries), from every primary's commandstats."""
    for node in nodes:
        node.config_resetstat()
    list_pages(api)()
    usec: dict[str, float] = {}
    for node in nodes:
        for name, stats in node.info("commandstats").items():
            usec[name] = usec.get(name, 0.0) + stats["usec"]
    reads = sum(usec.get(f"cmdstat_{name}", 0.0) for name in ("zcard", "zcount", "zrevrange"))
    return reads / PAGES / SHARDS, usec.get("cmdstat_evalsha", 0.0) / PAGES


def frames(cluster: LocalCluster) -> None:
    """CPU per live-update frame on each node: PUBLISH from the shard's primary with the
    subscriber on another node (the cluster passes it to every node), against SPUBLISH with the
    subscriber on the shard's own primary."""
    nodes = [server.client() for server in cluster.servers]
    channel = "bench-{s0.0}"
    owner = next(n for n, node in enumerate(nodes) if owns(node, channel))
    count = 20_000
    print("| per frame (2 kB), CPU µs on each node | shard's primary | the other two |")
    print("| --- | ---: | ---: |")
    for command, subscribe, subscriber_node in (
        ("PUBLISH", "SUBSCRIBE", (owner + 1) % 3),
        ("SPUBLISH", "SSUBSCRIBE", owner),
    ):
        listener = nodes[subscriber_node].pubsub()
        getattr(listener, subscribe.lower())(channel)
        usage = Usage(nodes)
        pipe = nodes[owner].pipeline(transaction=False)
        for _ in range(count):
            pipe.execute_command(command, channel, FRAME)
        pipe.execute()
        time.sleep(0.5)  # let the bus deliver
        _, cpu = usage.read()
        others = [cpu[n] / count for n in range(3) if n != owner]
        print(
            f"| {command} | {cpu[owner] / count:.1f} | {' / '.join(f'{o:.1f}' for o in others)} |"
        )
        listener.close()


def owns(node: redis.Redis, channel: str) -> bool:
    slot = redis.crc.key_slot(channel.encode())
    myself = node.execute_command("CLUSTER", "MYID").decode()
    return any(
        r[0] <= slot <= r[1] and r[2][2].decode() == myself
        for r in node.execute_command("CLUSTER", "SLOTS")
    )


if __name__ == "__main__":
    main()
