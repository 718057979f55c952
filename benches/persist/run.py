#!/usr/bin/env python3
"""Persistence benchmarks of the standalone kv-mock (issue 13), against the release binary.

Parts (all by default; name some to run only those):

  load     wrk (external load generator), 1 KiB values over 10,000 keys, 64 connections:
           PUT and GET against kv-mock in memory, kv-mock --persist, and Miniflare persisting
           to the same disk (its Local Explorer KV API), side by side in every round; a ratio
           is the median of the per-round ratios.
  restart  kv-mock --persist with 1,000,000 keys, killed and restarted: time from the spawn
           to `ready` and to the first answered request.
  memory   resident memory (VmRSS) of the kv-mock binary: empty (after one request), holding
           1,000,000 keys with a TTL, and 4, 14 and 30 s after the clock is moved past it and
           the keys expire.

  python3 benches/persist/run.py [load] [restart] [memory] [--rounds N] [--secs S]
      [--keys N] [--bin PATH] [--work DIR] [--miniflare DIR]

Needs `wrk` on the PATH (load), node and `npm install miniflare` in the --miniflare directory
(load; skipped with a note without it). Build first: cargo build --release -p kv-mock.
Every process it starts is killed at the end; every wrk run is bounded by -d (and a timeout).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = 10_000
VALUE_BYTES = 1024

# The wrk script of the server-load bench: KV_METHOD on KV_PATH + "k<n>", 1 KiB bodies for PUT.
WRK_SCRIPT = os.path.join(ROOT, "benches/support/wrk_kv.lua")

STARTED = []


class Server:
    """A child server and what it printed before `ready`."""

    def __init__(self, argv, cwd=None):
        self.start = time.monotonic()
        # A session of its own: killing it kills its children too (Miniflare's workerd).
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd,
            start_new_session=True,
        )
        STARTED.append(self.proc)
        self.lines = {}
        for line in self.proc.stdout:
            line = line.strip()
            if line == "ready":
                break
            name, _, value = line.partition(" ")
            self.lines.setdefault(name, value)
        else:
            raise SystemExit(f"{argv[0]} exited before ready")
        self.ready = time.monotonic()

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def kv_mock(binary, *args):
    s = Server([binary, "--listen", "127.0.0.1:0", "--no-rate-limit", *args])
    s.base = s.lines["base_url"]
    s.account = s.lines["account_id"]
    s.ns = s.lines["namespace_id"].split(" ")[0]
    s.values = f"{s.base}/accounts/{s.account}/storage/kv/namespaces/{s.ns}/values/"
    s.origin = s.base.rsplit("/client/v4", 1)[0]
    return s


def miniflare(directory, persist):
    # Node resolves `import "miniflare"` from the script's own directory: run a copy there.
    script = os.path.join(directory, "kv-mock-bench-miniflare.mjs")
    shutil.copyfile(os.path.join(ROOT, "benches/persist/miniflare_server.mjs"), script)
    s = Server(["node", script, persist], cwd=directory)
    s.values = f"{s.lines['url']}/cdn-cgi/explorer/api/storage/kv/namespaces/{s.lines['namespace']}/values/"
    return s


def request(method, url, body=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status, r.read()


def wrk(url, method, secs, script):
    """Requests per second of one wrk run; fails on any non-2xx answer."""
    host = re.match(r"(http://[^/]+)", url).group(1)
    env = dict(os.environ, KV_PATH=url[len(host):], KV_METHOD=method, KV_KEYS=str(KEYS),
               KV_VALUE_BYTES=str(VALUE_BYTES))
    out = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{secs}s", "--timeout", "5s", "-s", script, host],
        env=env, capture_output=True, text=True, timeout=secs + 30,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk {method} {url}: errors\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def prefill(values_url):
    """Writes the keys of the wrk script, 1 KiB each, 16 at a time (a dropped connection, which
    Miniflare gives under load, is retried)."""
    body = b"x" * VALUE_BYTES

    def put(i):
        for attempt in range(5):
            try:
                return request("PUT", f"{values_url}k{i}", body)[0]
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1 * (attempt + 1))
        return request("PUT", f"{values_url}k{i}", body)[0]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for status in pool.map(put, range(KEYS)):
            assert status == 200, status


def fill(server, keys, value_bytes, ttl=None, batch=10_000):
    bulk = server.values[: -len("values/")] + "bulk"
    value = "v" * value_bytes
    for start in range(0, keys, batch):
        items = []
        for i in range(start, min(keys, start + batch)):
            item = {"key": f"key{i:08}", "value": value}
            if ttl:
                item["expiration_ttl"] = ttl
            items.append(item)
        status, _ = request("PUT", bulk, json.dumps(items))
        assert status == 200, status


def load(args, work):
    script = WRK_SCRIPT
    mf_ok = os.path.isdir(os.path.join(args.miniflare, "node_modules", "miniflare"))
    servers = {
        "memory": kv_mock(args.bin),
        "persist": kv_mock(args.bin, "--persist", os.path.join(work, "kv-mock-data")),
    }
    if mf_ok:
        servers["miniflare"] = miniflare(args.miniflare, os.path.join(work, "miniflare-data"))
    else:
        print(f"miniflare: not installed in {args.miniflare} (npm install miniflare); skipped")
    # Every key exists before any GET (a PUT run of a slow server does not cover them all).
    # Miniflare is only measured on PUT (the target is on PUT; writing 10,000 keys to it one by
    # one takes minutes on a busy disk).
    for name, server in servers.items():
        if name == "miniflare":
            continue
        t = time.monotonic()
        prefill(server.values)
        print(f"{name}: {KEYS} keys written in {time.monotonic() - t:.1f} s", flush=True)
    rps = {(name, op): [] for name in servers for op in ("PUT", "GET")}
    rps.pop(("miniflare", "GET"), None)
    order = list(servers)
    for r in range(args.rounds):
        for op in ("PUT", "GET"):
            for name in order:
                if (name, op) in rps:
                    rps[(name, op)].append(wrk(servers[name].values, op, args.secs, script))
        order = order[1:] + order[:1]
        print(f"round {r + 1}: " + ", ".join(f"{n} {op} {v[-1]:.0f}" for (n, op), v in rps.items()),
              flush=True)
    print("\n| op | kv-mock memory req/s | kv-mock --persist req/s | Miniflare req/s | persist / memory | persist / Miniflare |")
    print("|---|---:|---:|---:|---:|---:|")
    for op in ("PUT", "GET"):
        mem, per = rps[("memory", op)], rps[("persist", op)]
        ratio = statistics.median(p / m for p, m in zip(per, mem))
        spread = f"{min(p / m for p, m in zip(per, mem)):.2f}..{max(p / m for p, m in zip(per, mem)):.2f}"
        if ("miniflare", op) in rps:
            mf = rps[("miniflare", op)]
            mf_cell = f"{statistics.median(mf):.0f}"
            # Miniflare may answer nothing in a run on a busy disk: count it as 1 request.
            r = [p / max(m, 1.0 / args.secs) for p, m in zip(per, mf)]
            mf_ratio = f"{statistics.median(r):.1f} ({min(r):.1f}..{max(r):.1f})"
        else:
            mf_cell = mf_ratio = "-"
        print(f"| {op} 1 KiB, 64 conn. | {statistics.median(mem):.0f} | {statistics.median(per):.0f} | {mf_cell} | {ratio:.2f} ({spread}) | {mf_ratio} |")
    for s in servers.values():
        s.kill()


def restart(args, work):
    data = os.path.join(work, "restart-data")
    first = kv_mock(args.bin, "--persist", data)
    t = time.monotonic()
    fill(first, args.keys, 100)
    print(f"filled {args.keys} keys of 100 bytes in {time.monotonic() - t:.1f} s")
    first.kill()
    size = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data))
    print(f"database files: {size / 2**20:.1f} MiB (SIGKILLed: the WAL not checkpointed)")
    for attempt in range(args.rounds):
        second = kv_mock(args.bin, "--persist", data)
        status, body = request("GET", second.values + f"key{args.keys - 1:08}")
        first_answer = time.monotonic()
        assert status == 200 and len(body) == 100, status
        print(f"restart {attempt + 1}: ready after {second.ready - second.start:.3f} s, "
              f"first request answered after {first_answer - second.start:.3f} s, "
              f"resident {second.rss_kib() / 1024:.0f} MiB")
        second.kill()


def memory(args, work):
    s = kv_mock(args.bin, "--frozen-at", "1700000000")
    try:
        request("GET", s.values + "nothing")
    except urllib.error.HTTPError:
        pass
    time.sleep(1)
    empty = s.rss_kib()
    fill(s, args.keys, 16, ttl=3600)
    full = s.rss_kib()
    request("POST", s.origin + "/__mock/clock/advance", json.dumps({"seconds": 7200}))
    # The sweeper runs every second; then one list on the namespace.
    time.sleep(2)
    status, body = request("GET", s.values[: -len("values/")] + "keys")
    assert json.loads(body)["result"] == [], body[:200]
    time.sleep(2)
    after = s.rss_kib()
    # Some more requests, as a server that keeps serving gets, and 10 s more.
    for i in range(200):
        try:
            request("GET", s.values + f"key{i:08}")
        except urllib.error.HTTPError:
            pass
    time.sleep(10)
    later = s.rss_kib()
    # jemalloc purges what was freed over its dirty_decay_ms (10 s), on its background threads'
    # schedule: once more, well after that.
    time.sleep(16)
    last = s.rss_kib()
    print("\n| binary | empty | 1M keys | after expiry (+4 s) | / empty | +14 s (200 requests at +4 s) | / empty | +30 s | / empty (target <= 1.5) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.bin} | {empty / 1024:.1f} MiB | {full / 1024:.1f} MiB | {after / 1024:.1f} MiB | {after / empty:.2f} | {later / 1024:.1f} MiB | {later / empty:.2f} | {last / 1024:.1f} MiB | {last / empty:.2f} |")
    s.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parts", nargs="*", default=["load", "restart", "memory"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--secs", type=int, default=5)
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--bin", default=os.path.join(ROOT, "target/release/kv-mock"))
    p.add_argument("--work", default=None, help="where the databases go (default: a temporary directory)")
    p.add_argument("--miniflare", default=os.path.join(ROOT, "target/miniflare"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="kv-persist-bench-", dir=args.work)
    print(f"machine: nproc {os.cpu_count()}, load average {os.getloadavg()}, work dir {work}")
    try:
        for part in args.parts:
            {"load": load, "restart": restart, "memory": memory}[part](args, work)
    finally:
        for proc in STARTED:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
        print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
