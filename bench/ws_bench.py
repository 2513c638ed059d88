"""`make bench-ws`: live updates under load on the production server.

Starts its own redis-server and `make serve` on spare ports, then:
1. without subscribers: wrk appends to 100 conversations nobody watches (requests/s);
2. opens 1,000 sockets, 10 on each of 100 other conversations;
3. latency: appends at a steady rate, each timed from its HTTP 200 to every socket's frame;
4. with subscribers: wrk appends to the watched conversations while the sockets read every
   frame; then counts the frames that never arrived.
Writes docs/ws-bench/README.md and latency.png. Needs redis-server and wrk on the PATH.
"""

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from http_bench import spare_port  # bench/ is this script's directory
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "ws-bench"
CONVERSATIONS, SOCKETS_EACH = 100, 10
RATE, LATENCY_SECONDS = 50, 20  # steady appends per second while latency is measured
WRK_SECONDS, WRK_CONNECTIONS = 5, 32
API = "/agent-conversations/api"


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wrk_appends(base: str, ids: list[str]) -> tuple[float, int, int]:
    """wrk appending to the given conversations: requests/s, requests, non-2xx answers."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    id_list = ",".join(f'"{cid}"' for cid in ids)
    script.write_text(
        f"local ids = {{{id_list}}}\n"
        'local body = \'{"role":"user","content":"A line of the ws benchmark."}\'\n'
        "request = function()\n"
        f'  local path = "{API}/" .. ids[math.random(#ids)] .. "/message"\n'
        '  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    # At the normal priority even when this process (the socket client) has lowered its own.
    command = ["nice", f"-n{-os.nice(0)}", "wrk", "-t2", f"-c{WRK_CONNECTIONS}",
               f"-d{WRK_SECONDS}s", "-s", str(script), base]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    script.unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, requests, int(non_2xx.group(1)) if non_2xx else 0


class Subscribers:
    """1,000 sockets; records when each frame of each message reached each socket."""

    def __init__(self, base_ws: str, ids: list[str]) -> None:
        self.base_ws, self.ids = base_ws, ids
        self.arrivals: dict[str, list[float]] = {}
        self.frames = 0
        self.timing = True  # record each frame's arrival by messageId (else only count)
        self.tasks: list[asyncio.Task] = []
        self.ready = 0

    async def _socket(self, cid: str) -> None:
        async with connect(f"{self.base_ws}{API}/ws?conversationId={cid}", max_size=None) as ws:
            orjson.loads(await ws.recv())  # the snapshot
            self.ready += 1
            async for raw in ws:
                self.frames += 1
                if self.timing:
                    now, frame = time.monotonic(), orjson.loads(raw)
                    self.arrivals.setdefault(frame["message"]["messageId"], []).append(now)

    async def open(self) -> None:
        for cid in self.ids:
            for _ in range(SOCKETS_EACH):
                self.tasks.append(asyncio.create_task(self._socket(cid)))
        while self.ready < len(self.tasks):
            await asyncio.sleep(0.05)

    async def drain(self, expected: int, idle: float = 2.0) -> None:
        """Wait until `expected` frames arrived or none came for `idle` seconds."""
        last, seen = time.monotonic(), self.frames
        while self.frames < expected and time.monotonic() - last < idle:
            await asyncio.sleep(0.05)
            if self.frames != seen:
                last, seen = time.monotonic(), self.frames

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def steady_appends(base: str, ids: list[str], subscribers: Subscribers) -> list[float]:
    """RATE appends a second; the latency of each frame from the append's HTTP 200, in ms."""
    acknowledged: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:

        async def append(n: int) -> None:
            message_id = f"steady-{n}"
            body = {"role": "user", "content": f"steady {n}", "messageId": message_id}
            response = await client.post(f"{API}/{ids[n % len(ids)]}/message", json=body)
            response.raise_for_status()
            acknowledged[message_id] = time.monotonic()

        started, pending = time.monotonic(), []
        for n in range(RATE * LATENCY_SECONDS):
            await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
            pending.append(asyncio.create_task(append(n)))
        await asyncio.gather(*pending)
    await subscribers.drain(len(acknowledged) * SOCKETS_EACH)
    # A frame often arrives before the answer to its append (it leaves Redis first): that
    # counts as 0 ms.
    return [
        max(0.0, arrival - acknowledged[mid]) * 1000
        for mid in acknowledged
        for arrival in subscribers.arrivals.get(mid, [])
    ]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else 0.0


async def run(base: str) -> dict:
    async with httpx.AsyncClient(base_url=base) as client:
        ids = [
            (await client.post(f"{API}/new", json={})).json()["conversationId"]
            for _ in range(2 * CONVERSATIONS)
        ]
    watched, unwatched = ids[:CONVERSATIONS], ids[CONVERSATIONS:]

    print("appends without subscribers ...", flush=True)
    without = await asyncio.to_thread(wrk_appends, base, unwatched)

    subscribers = Subscribers(base.replace("http", "ws", 1), watched)
    await subscribers.open()
    print(f"{subscribers.ready} sockets open; steady appends at {RATE}/s ...", flush=True)
    latencies = await steady_appends(base, watched, subscribers)
    steady_expected = RATE * LATENCY_SECONDS * SOCKETS_EACH
    steady_lost = steady_expected - len(latencies)

    print("appends with subscribers ...", flush=True)
    # The socket client shares the cores with the server: it only counts frames now, at the
    # lowest CPU priority, so that what is measured is what the subscribers cost the server.
    subscribers.timing = False
    os.nice(19)
    frames_before = subscribers.frames
    with_subscribers = await asyncio.to_thread(wrk_appends, base, watched)
    # Every append the server stored, whether or not wrk saw its answer before stopping.
    async with httpx.AsyncClient(base_url=base) as client:
        stored = 0
        for cid in watched:
            stored += (await client.get(f"{API}/{cid}")).json()["messageCount"]
    load_expected = (stored - RATE * LATENCY_SECONDS) * SOCKETS_EACH
    await subscribers.drain(frames_before + load_expected, idle=5)
    load_lost = frames_before + load_expected - subscribers.frames
    await subscribers.close()
    return {
        "latencies": latencies,
        "steady_lost": steady_lost,
        "steady_expected": steady_expected,
        "without": without,
        "with": with_subscribers,
        "load_lost": load_lost,
        "load_expected": load_expected,
    }


def write_report(results: dict, workers: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    latencies = results["latencies"]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    without_rps, with_rps = results["without"][0], results["with"][0]
    ratio = with_rps / without_rps

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lost = results["steady_lost"] + results["load_lost"]
    (OUT / "README.md").write_text(
        "\n".join(
            [
                "# Live updates under load",
                "",
                f"Measured {datetime.now(tz=UTC):%Y-%m-%d} with `make bench-ws` on a machine "
                f"with {os.cpu_count()} cores shared by the server ({workers} workers), Redis, "
                "wrk and the socket client. "
                f"{CONVERSATIONS * SOCKETS_EACH:,} sockets, {SOCKETS_EACH} on each of "
                f"{CONVERSATIONS} conversations.",
                "",
                "![delivery latency](latency.png)",
                "",
                "| measure | value | target |",
                "| --- | ---: | --- |",
                f"| delivery latency p50, HTTP 200 to frame ({RATE} appends/s for "
                f"{LATENCY_SECONDS} s; a frame that beats the answer counts 0) | {p50:.1f} ms | |",
                f"| frames that arrived before their append's answer | "
                f"{sum(1 for x in latencies if x == 0) / max(1, len(latencies)):.0%} | |",
                f"| delivery latency p99 | {p99:.1f} ms | under 100 ms: {verdict(p99 < 100)} |",
                f"| frames lost at the steady rate | {results['steady_lost']} of "
                f"{results['steady_expected']:,} | 0 |",
                f"| frames lost under wrk | {results['load_lost']} of "
                f"{results['load_expected']:,} | 0: {verdict(lost == 0)} |",
                f"| append req/s, nobody subscribed (wrk, {WRK_CONNECTIONS} connections, "
                f"{WRK_SECONDS} s) | {without_rps:,.0f} | |",
                f"| append req/s, every append watched by {SOCKETS_EACH} sockets | "
                f"{with_rps:,.0f} ({ratio:.0%}) | at least 80%: {verdict(ratio >= 0.8)} |",
                "",
            ]
        )
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.hist(latencies, bins=60)
    ax.axvline(p99, color="red", linestyle="--", label=f"p99 {p99:.1f} ms")
    ax.set_xlabel("ms from the append's HTTP 200 to the frame on a socket")
    ax.set_ylabel("frames")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "latency.png", dpi=110)


def main() -> None:
    for tool in ("redis-server", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"make bench-ws needs {tool} on the PATH (Debian: apt-get install {tool})")
    workers = os.cpu_count() or 2  # make serve's default
    with tempfile.TemporaryDirectory() as workdir:
        redis_port, port = spare_port(), spare_port()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        env = {
            **os.environ, "PORT": str(port), "WEB_CONCURRENCY": str(workers),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "SECRET_KEY": "bench-only",
            "ELEVENLABS_AGENT_ENABLED": "true", "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        server = subprocess.Popen(["make", "-s", "serve"], cwd=ROOT, env=env,
                                  start_new_session=True)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/health")
            results = asyncio.run(run(base))
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
            redis.terminate()
            redis.wait(timeout=30)
    write_report(results, workers)
    print((OUT / "README.md").read_text())


if __name__ == "__main__":
    main()
