#!/usr/bin/env python3
"""reflect serve against llama-server on the same model with the same slots (issue #28).

    cargo build --release --bin reflect --example gen_model
    REFLECT_LLAMA_SERVER="$(bash scripts/llama-server.sh)" python3 benches/serve.py [--runs 5]

Both servers serve a looping scripted model written by examples/gen_model.rs (reflect with
`--profile plain`, so that both send the same prompt), with --slots sequences decoded
together (`--parallel` / `-np`). For 1 and for 4 concurrent streaming clients it reports
medians over --runs rounds, the servers alternating round by round, of:
  1. tokens/s per stream as received: each stream's text events over the time from its first
     to its last;
  2. time to first token: from sending the request to the first text event;
then reflect serve's resident memory after 100 and after --requests (1,000) short requests.
REFLECT_BIN picks another reflect binary (e.g. a debug build for a smoke run).
"""
import argparse, http.client, json, os, socket, statistics, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
REFLECT = os.environ.get("REFLECT_BIN") or os.path.join(REL, "reflect")
GEN = os.environ.get("REFLECT_GEN_MODEL") or os.path.join(REL, "examples", "gen_model")
SERVER = os.environ.get("REFLECT_LLAMA_SERVER")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(p, port, what):
    for _ in range(1200):
        if p.poll() is not None:
            sys.exit(f"{what} exited: see its log")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    sys.exit(f"{what} did not become healthy")


def start(kind, model, port, slots, ctx, log):
    if kind == "llama-server":
        cmd = [SERVER, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-np", str(slots),
               "-c", str(ctx * slots), "--threads", "2", "--no-webui"]
    else:
        # reflect shares --ctx-size out among its slots; llama-server's -c is the total too.
        cmd = [REFLECT, "serve", "-m", model, "--port", str(port), "--parallel", str(slots),
               "--ctx-size", str(ctx * slots), "--threads", "2", "--profile", "plain"]
    return wait_healthy(subprocess.Popen(cmd, stdout=log, stderr=log), port, kind)


def stream(port, n):
    """One streamed request: (text events, tokens/s as received, ms to the first)."""
    body = json.dumps({"messages": [{"role": "user", "content": "go"}], "stream": True,
                       "max_tokens": n, "temperature": 0.7, "top_p": 0.95})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    first = last = None
    events = 0
    for line in r:
        if line.startswith(b"data: {") and (b'"content":"' in line or b'"reasoning":"' in line):
            if b'"content":""' in line and b'"role"' in line:
                continue
            now = time.perf_counter()
            first = first or now
            last = now
            events += 1
    c.close()
    rate = (events - 1) / (last - first) if events > 1 and last > first else 0.0
    return events, rate, ((first or t0) - t0) * 1000


def round_of(port, clients, n):
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: stream(port, n), range(clients)))


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--model", help="a GGUF file to serve instead of the looping scripted model "
                    "(e.g. gen_model's 8x768 random model, where decoding dominates)")
    a = ap.parse_args()
    if not SERVER:
        sys.exit("set REFLECT_LLAMA_SERVER to a llama-server binary (scripts/llama-server.sh)")
    tmp = tempfile.mkdtemp(prefix="reflect-serve-bench-")
    model = a.model or os.path.join(tmp, "loop.gguf")
    if not a.model:
        subprocess.run([GEN, "loop", model, "64", "64", "1", "16384"], check=True,
                       capture_output=True)
    env_log = open(os.path.join(tmp, "servers.log"), "w")
    ports = {k: free_port() for k in ("llama-server", "reflect serve")}
    procs = {k: start(k, model, ports[k], a.slots, a.ctx, env_log) for k in ports}
    try:
        for clients in (1, 4):
            rates = {k: [] for k in ports}
            ttft = {k: [] for k in ports}
            for _ in range(a.runs):
                for k in ports:
                    for events, rate, first in round_of(ports[k], clients, a.tokens):
                        rates[k].append(rate)
                        ttft[k].append(first)
            print(f"{clients} concurrent stream(s), {a.slots} slots, {a.tokens} tokens, median of {a.runs}:")
            for k in ports:
                print(f"  {k:14} {statistics.median(rates[k]):9.0f} tok/s per stream, "
                      f"first token {statistics.median(ttft[k]):6.1f} ms")
            ratio = statistics.median(rates["reflect serve"]) / statistics.median(rates["llama-server"])
            gap = statistics.median(ttft["reflect serve"]) - statistics.median(ttft["llama-server"])
            print(f"  reflect/llama-server: {ratio:.3f}x tokens/s (target >= 0.95), "
                  f"first token {gap:+.1f} ms (target within 10 ms)")
        pid = procs["reflect serve"].pid
        at = {}
        for i in range(1, a.requests + 1):
            stream(ports["reflect serve"], 16)
            if i in (100, a.requests):
                at[i] = rss_kib(pid)
        print(f"reflect serve resident memory after 100 / {a.requests} requests: "
              f"{at[100] / 1024:.1f} / {at[a.requests] / 1024:.1f} MiB "
              f"({(at[a.requests] - at[100]) / 1024:+.1f} MiB)")
    finally:
        for p in procs.values():
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
