"""`make bench-http`: every route under load on the production server, with a floor to compare.

Starts its own redis-server on a spare port, preloads conversations of 20 messages, starts
every candidate server (the production `make serve` command first), then drives each route
with wrk on each server in turn. Writes docs/http-bench/README.md (tables) and throughput.png.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "docs" / "http-bench"
PRELOADED, MESSAGES, APPENDABLE = 10_000, 20, 1_000
SHORT, SHORT_MESSAGES = 1_000, 10  # conversations of 10 messages, for the 10-message GET
DURATION, CONNECTIONS, WRK_THREADS = int(os.environ.get("BENCH_SECONDS", "5")), 32, 2
ROUNDS = 3
ROUTES = {
    "floor": "GET /health (no Redis: the framework floor)",
    "register": "POST .../{id}/session",
    "status": "GET .../{id}/session",
    "new": "POST .../new",
    "append": "POST .../{id}/message",
    "get10": "GET .../{id} (10 messages)",
    "get": "GET .../{id} (20 messages)",
    "list": "GET .../list (20 conversations x 20 messages)",
}


def make_serve(port: int, workers: int, threads: int) -> tuple[list[str], dict[str, str]]:
    """The production command itself: granian, ASGI (HTTP and the live-update socket)."""
    return ["make", "-s", "serve"], {"PORT": str(port), "WEB_CONCURRENCY": str(workers)}


def replayed_redis(port: int, workers: int, threads: int) -> tuple[list[str], dict[str, str]]:
    """`make serve` with every store call answered from memory (bench/replayed_redis.py): the
    most any change on the Redis side could give a route. A bound, not a server."""
    command, env = make_serve(port, workers, threads)
    return [*command, "APP=bench.replayed_redis:application"], env


def granian_wsgi(port: int, workers: int, threads: int) -> tuple[list[str], dict[str, str]]:
    """The arrangement before live updates: granian's WSGI interface, which has no WebSocket."""
    command = [
        str(BIN / "granian"), "--interface", "wsgi", "--no-ws", "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads), "--log-level", "warning",
        "elevenlabs_agent.wsgi:application",
    ]  # fmt: skip
    return command, {}


CORES = os.cpu_count() or 2
# name: (launcher, workers, threads). The first is the production command, `make serve`, with
# its default of a worker per core; the last is the arrangement it must not fall far behind.
BOUND = f"make serve (ASGI, {CORES} workers), Redis replayed from memory: a bound"
SERVERS = {
    f"make serve (ASGI, {CORES} workers)": (make_serve, CORES, 1),
    f"make serve (ASGI, {2 * CORES} workers)": (make_serve, 2 * CORES, 1),
    BOUND: (replayed_redis, CORES, 1),
    f"granian WSGI {CORES} workers x 2 threads (no WebSocket)": (granian_wsgi, CORES, 2),
}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers plus socket errors


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("make bench-http needs wrk on the PATH (Debian: apt-get install wrk)")
    return wrk


def preload(redis_url: str) -> None:
    """Conversations bench-00000... with MESSAGES messages and a live session each."""
    os.environ.update(REDIS_URL=redis_url, SECRET_KEY="bench", ELEVENLABS_AGENT_ENABLED="true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elevenlabs_agent.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from agent_conversations.store import conversation_ensure, message_append
    from agent_sessions.store import session_set

    def conversation_of(cid: str, messages: int) -> None:
        conversation_ensure(conversation_id=cid)
        for m in range(messages):
            message = {
                "messageId": f"{cid}-{m}",
                "role": "user" if m % 2 else "assistant",
                "content": f"Line {m} of a voice conversation, about as long as a real one.",
                "timestamp": "2026-11-23T12:00:00.000Z",
                "source": "voice",
            }
            message_append(conversation_id=cid, message=message)  # type: ignore[arg-type]

    started = time.monotonic()
    for n in range(PRELOADED):
        conversation_of(f"bench-{n:05d}", MESSAGES)
        session_set(
            conversation_id=f"bench-{n:05d}", session_url="wss://api.elevenlabs.io/v1/convai/x"
        )
    for n in range(SHORT):
        conversation_of(f"ten-{n:04d}", SHORT_MESSAGES)
    for n in range(APPENDABLE):
        conversation_ensure(conversation_id=f"append-{n:04d}")
    print(f"preloaded {PRELOADED:,} conversations in {time.monotonic() - started:.0f}s")


def parse_duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def run_wrk(wrk: str, port: int, route: str, seconds: int = DURATION) -> Result:
    env = {**os.environ, "ROUTE": route, "PRELOADED": str(PRELOADED), "APPENDABLE": str(APPENDABLE)}
    command = [
        wrk, f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
        "-s", str(ROOT / "bench" / "routes.lua"), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Result(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=parse_duration_ms(percentiles["50"]),
        p99_ms=parse_duration_ms(percentiles["99"]),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        errors=errors,
    )


Launcher = tuple[Callable[[int, int, int], tuple[list[str], dict[str, str]]], int, int]


def start_server(launcher_spec: Launcher, redis_url: str) -> tuple[subprocess.Popen, int]:
    launcher, workers, threads = launcher_spec
    port = spare_port()
    command, extra_env = launcher(port, workers, threads)
    env = {
        **os.environ, **extra_env,
        "REDIS_URL": redis_url, "SECRET_KEY": "bench-only", "ELEVENLABS_AGENT_ENABLED": "true",
        "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1",
    }  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return server, port


def worker_rss_mb(session: int) -> list[float]:
    """Resident memory of each granian worker (a granian process whose parent is granian) of
    the server started as session `session`, in MB."""
    listing = subprocess.run(
        ["ps", "-s", str(session), "-o", "pid=,ppid=,rss=,comm="],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    processes = {int(pid): (int(ppid), int(rss), comm) for pid, ppid, rss, comm in
                 (line.split(maxsplit=3) for line in listing.splitlines())}  # fmt: skip
    granian = {pid for pid, (_, _, comm) in processes.items() if comm == "granian"}
    return sorted(rss / 1024 for pid, (ppid, rss, _) in processes.items()
                  if pid in granian and ppid in granian)  # fmt: skip


def bench_servers(
    wrk: str,
    redis_url: str,
    candidates: dict[str, Launcher] = SERVERS,
    routes: Iterable[str] = ROUTES,
) -> tuple[dict[str, dict[str, Result]], dict[str, list[float]]]:
    """Every route on every server, the servers taking turns (ROUNDS runs each, the median
    counts): a shared machine's speed drifts by tens of percent over minutes, and turns make
    that drift fall on every server alike. Also each server's worker memory at the end."""
    servers = {name: start_server(spec, redis_url) for name, spec in candidates.items()}
    try:
        for _, port in servers.values():
            wait_for_port(port)
            # Steady state only: every worker has served every route (imports, pooled
            # connections, loaded scripts) before anything is measured.
            for route in routes:
                run_wrk(wrk, port, route, seconds=2)
        results: dict[str, dict[str, Result]] = {name: {} for name in servers}
        for route in routes:
            runs: dict[str, list[Result]] = {name: [] for name in servers}
            for _ in range(ROUNDS):
                for name, (_, port) in servers.items():
                    runs[name].append(run_wrk(wrk, port, route))
            for name in servers:
                ordered = sorted(runs[name], key=lambda r: r.requests_per_second)
                r = results[name][route] = ordered[len(ordered) // 2]
                print(f"  {name:48} {route:9} {r.requests_per_second:8.0f} req/s  "
                      f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  errors {r.errors}",
                      flush=True)  # fmt: skip
        return results, {name: worker_rss_mb(server.pid) for name, (server, _) in servers.items()}
    finally:
        for server, _ in servers.values():
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


def write_report(
    all_results: dict[str, dict[str, Result]], memory: dict[str, list[float]], command: str
) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    production = next(iter(all_results))
    lines = [
        "# HTTP throughput",
        "",
        f"Measured {datetime.now(tz=UTC):%Y-%m-%d} on a machine with {os.cpu_count()} cores "
        f"(server, Redis and wrk share them), with `{command}`: wrk, {WRK_THREADS} threads, "
        f"{CONNECTIONS} connections, {DURATION} s per run, the median of {ROUNDS} runs per route "
        "and server, the servers taking turns; the store preloaded with "
        f"{PRELOADED:,} conversations of {MESSAGES} messages and {SHORT:,} of {SHORT_MESSAGES}.",
        "",
        "![requests per second by route and server](throughput.png)",
        "",
    ]
    for name, results in all_results.items():
        floor = results["floor"].requests_per_second
        lines += [
            f"## {name}" + (" (production)" if name == production else ""),
            "",
            "| route | req/s | of floor | p50 ms | p99 ms | p99/p50 | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for route, r in results.items():
            lines.append(
                f"| {ROUTES[route]} | {r.requests_per_second:,.0f} | "
                f"{r.requests_per_second / floor:.0%} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
                f"{r.p99_ms / r.p50_ms:.1f}x | {r.errors} |"
            )
        rss = ", ".join(f"{mb:.0f}" for mb in memory[name])
        lines += ["", f"Memory of each worker after every route had run: RSS {rss} MB.", ""]
    lines += floor_ratios(all_results)
    lines += targets(all_results)
    (OUT / "README.md").write_text("\n".join(lines))
    plot(all_results)


# Each data route's throughput as a share of the /health floor, in the same run: what the
# Node/Express service this one replaces reaches against its own floor (measured side by side
# on this kind of machine, 32 connections); every route must do at least as well.
FLOOR_RATIO_TARGETS = {
    "register": 0.65, "status": 0.80, "new": 0.70, "get10": 0.80, "append": 0.70, "list": 0.40,
}  # fmt: skip


def floor_ratios(all_results: dict[str, dict[str, Result]]) -> list[str]:
    """The production server's routes against its floor, with the targets; p99 under 5x p50;
    and the bound: the same routes with Redis replayed from memory, against that server's floor.
    """
    production = next(iter(all_results))
    results, bound = all_results[production], all_results[BOUND]
    floor, bound_floor = results["floor"].requests_per_second, bound["floor"].requests_per_second
    lines = [
        f"## {production}: each route against the /health floor",
        "",
        "The bound: the same route with every store call answered from memory (no round trip,",
        "no driver, no Lua), against that server's own floor: what no change on the Redis side",
        "can exceed.",
        "",
        "| route | of floor | target | met | bound | target within the bound | p99/p50 (< 5x) |",
        "| --- | ---: | ---: | --- | ---: | --- | ---: |",
    ]
    for route, target in FLOOR_RATIO_TARGETS.items():
        r = results[route]
        ratio = r.requests_per_second / floor
        most = bound[route].requests_per_second / bound_floor
        lines.append(
            f"| {ROUTES[route]} | {ratio:.2f} | {target:.2f} | "
            f"{'yes' if ratio >= target else '**no**'} | {most:.2f} | "
            f"{'yes' if most >= target else '**no**'} | {r.p99_ms / r.p50_ms:.1f}x |"
        )
    return [*lines, ""]


def targets(all_results: dict[str, dict[str, Result]]) -> list[str]:
    """make serve against the WSGI arrangement, route by route: within 10% of its throughput?"""
    production, *_, wsgi = all_results
    lines = [
        f"## {production} against {wsgi}",
        "",
        "| route | ASGI req/s | WSGI req/s | ASGI / WSGI | within 10% |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for route, label in ROUTES.items():
        asgi, plain = all_results[production][route], all_results[wsgi][route]
        ratio = asgi.requests_per_second / plain.requests_per_second
        lines.append(
            f"| {label} | {asgi.requests_per_second:,.0f} | {plain.requests_per_second:,.0f} | "
            f"{ratio:.0%} | {'yes' if ratio >= 0.9 else '**no**'} |"
        )
    errors = sum(r.errors for r in all_results[production].values())
    lines += ["", f"Errors or non-2xx answers on make serve: {errors}.", ""]
    lines += ["Why, and what would change it: [../performance.md](../performance.md).", ""]
    return lines


def plot(all_results: dict[str, dict[str, Result]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    routes = list(ROUTES)
    width = 0.8 / len(all_results)
    fig, ax = plt.subplots(figsize=(10, 5))
    for i, (name, results) in enumerate(all_results.items()):
        xs = [n + i * width for n in range(len(routes))]
        ax.bar(xs, [results[r].requests_per_second for r in routes], width, label=name)
    ax.set_xticks([n + width * (len(all_results) - 1) / 2 for n in range(len(routes))], routes)
    ax.set_ylabel("requests / second")
    ax.set_title(f"elevenlabs-agent on {os.cpu_count()} cores: throughput by route")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "throughput.png", dpi=110)


def checkout_serve(checkout: str) -> Callable[[int, int, int], tuple[list[str], dict[str, str]]]:
    """`make serve` of another checkout (a worktree of an earlier commit)."""

    def launcher(port: int, workers: int, threads: int) -> tuple[list[str], dict[str, str]]:
        command, env = make_serve(port, workers, threads)
        return [command[0], "-C", checkout, *command[1:]], env

    return launcher


def compare(wrk: str, redis_url: str, checkout: str) -> None:
    """AGAINST=<checkout>: this `make serve` against that one's on every route, taking turns;
    prints the table (docs/ are left as they are)."""
    this, that = f"this checkout ({CORES} workers)", f"{checkout} ({CORES} workers)"
    candidates = {that: (checkout_serve(checkout), CORES, 1), this: (make_serve, CORES, 1)}
    results, _ = bench_servers(wrk, redis_url, candidates)
    print(f"\n| route | {that} req/s | this req/s | change |\n| --- | ---: | ---: | ---: |")
    for route, label in ROUTES.items():
        before, after = results[that][route], results[this][route]
        change = after.requests_per_second / before.requests_per_second - 1
        print(f"| {label} | {before.requests_per_second:,.0f} | "
              f"{after.requests_per_second:,.0f} | {change:+.1%} |")  # fmt: skip


def main() -> None:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as workdir:
        redis_port = spare_port()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(redis_port)
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            preload(redis_url)
            if os.environ.get("AGAINST"):
                compare(wrk, redis_url, os.environ["AGAINST"])
                return
            write_report(*bench_servers(wrk, redis_url), "make bench-http")
        finally:
            redis.terminate()
            redis.wait(timeout=30)
    print(f"wrote {OUT / 'README.md'} and {OUT / 'throughput.png'}")


if __name__ == "__main__":
    main()
