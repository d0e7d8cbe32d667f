#!/usr/bin/env python3
"""reflect against llama-server, compared with a minimal streaming client on the same stream.

    cargo build --release --bin reflect --example gen_model
    REFLECT_LLAMA_SERVER="$(bash scripts/llama-server.sh)" python3 benches/remote.py [--runs 5]

The server (llama.cpp's own, 127.0.0.1 only) serves a looping scripted model written by
examples/gen_model.rs, so that it streams as fast as llama.cpp can sample (thousands of tokens
a second: the client's own cost is what shows). Alternating the two clients run by run, it
reports medians of:
  1. tokens/s as received: tokens over the time from the first to the last arrival, for
     reflect (`--format jsonl`, its deltas timed here as they arrive) and for `curl -N` on the
     same request (its SSE lines timed here the same way);
  2. time to first token: from sending the request to the first content event (reflect's own
     `timings.first_token_ms`, which starts before its request is built, against curl's from
     its start, process start included); reflect's from its process start (model listing
     included) is reported apart;
  3. memory over a 10,000-token stream: reflect's resident set at 1,000 and at 10,000 tokens.
"""
import argparse, http.client, json, os, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
REFLECT = os.environ.get("REFLECT_BIN") or os.path.join(REL, "reflect")
GEN = os.path.join(REL, "examples", "gen_model")
SERVER = os.environ.get("REFLECT_LLAMA_SERVER")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model, port, ctx):
    log = open(os.path.join(os.path.dirname(model), "server.log"), "w")
    p = subprocess.Popen([SERVER, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-np", "1",
                          "-c", str(ctx), "--threads", "2", "--no-webui"], stdout=log, stderr=log)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    sys.exit("llama-server did not start")


def bare(port, n):
    """The minimal streaming client, `curl -N`, its output read here line by line exactly as
    reflect's is: content events over the time from the first to the last."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "go"}], "stream": True,
                       "max_tokens": n, "temperature": 0.7, "top_p": 0.95})
    t0 = time.perf_counter()
    p = subprocess.Popen(["curl", "-sN", f"http://127.0.0.1:{port}/v1/chat/completions",
                          "-H", "Content-Type: application/json", "-d", body], stdout=subprocess.PIPE)
    first = last = None
    events = 0
    for line in p.stdout:
        if line.startswith(b"data: {") and b'"content":"' in line:
            now = time.perf_counter()
            first = first or now
            last = now
            events += 1
    p.wait()
    return events, (events - 1) / (last - first), (first - t0) * 1000


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def with_reflect(port, n, env, samples_at=()):
    cmd = [REFLECT, "--endpoint", f"http://127.0.0.1:{port}/v1", "--profile", "plain", "--no-save",
           "--temperature", "0.7", "--top-p", "0.95",
           "--format", "jsonl", "--max-tokens", str(n), "go"]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    first = last = None
    deltas = 0
    rss = {}
    done = None
    for line in p.stdout:
        now = time.perf_counter()
        v = json.loads(line)
        if v["type"] == "delta":
            first = first or now
            last = now
            deltas += 1
            if deltas in samples_at:
                rss[deltas] = rss_kib(p.pid)
        else:
            done = v
    p.wait()
    # Tokens, not deltas: the router may split one token's text into two deltas.
    tokens = done["usage"]["completion_tokens"]
    return tokens, (tokens - 1) / (last - first), done["timings"]["first_token_ms"], (first - t0) * 1000, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=2000)
    args = ap.parse_args()
    if not SERVER:
        sys.exit("set REFLECT_LLAMA_SERVER (bash scripts/llama-server.sh builds it)")
    tmp = tempfile.mkdtemp(prefix="reflect-remote-bench-")
    model = os.path.join(tmp, "loop.gguf")
    # 64 words looping, 64 wide, 1 layer, a 16k training context (the 10,000-token run).
    subprocess.run([GEN, "loop", model, "64", "64", "1", "16384"], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLECT_", "XDG_"))}
    env.update(HOME=tmp, REFLECT_CONFIG_DIR=os.path.join(tmp, "config"), XDG_CACHE_HOME=tmp)
    port = free_port()
    server = start_server(model, port, 16384)
    try:
        bare(port, 50)  # warm the server's prompt cache
        rows = {"bare": [], "reflect": []}
        for _ in range(args.runs):
            rows["bare"].append(bare(port, args.tokens))
            rows["reflect"].append(with_reflect(port, args.tokens, env))
        med = lambda xs: statistics.median(xs)
        b_tps = med([r[1] for r in rows["bare"]])
        r_tps = med([r[1] for r in rows["reflect"]])
        b_ttft = med([r[2] for r in rows["bare"]])
        r_ttft = med([r[2] for r in rows["reflect"]])
        r_start = med([r[3] for r in rows["reflect"]])
        print(f"binary: {REFLECT}")
        print(f"tokens per run: curl {rows['bare'][0][0]}, reflect {rows['reflect'][0][0]}")
        print(f"tokens/s as received (median of {args.runs}): curl -N {b_tps:.0f}, reflect {r_tps:.0f}, "
              f"ratio {r_tps / b_tps:.3f}")
        print(f"time to first token from each process's start: curl -N {b_ttft:.1f} ms, reflect "
              f"{r_start:.1f} ms ({r_start - b_ttft:+.1f} ms, reflect's model listing included); "
              f"reflect from its request: {r_ttft:.1f} ms")
        _, _, _, _, rss = with_reflect(port, 10000, env, samples_at=(1000, 10000))
        print(f"reflect RSS over a 10,000-token stream: {rss.get(1000, 0) / 1024:.1f} MiB at 1,000 tokens, "
              f"{rss.get(10000, 0) / 1024:.1f} MiB at 10,000")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
