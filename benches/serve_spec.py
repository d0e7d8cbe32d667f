#!/usr/bin/env python3
"""Speculation in the batched slots: reflect serve --parallel N with --lookup against without.

    cargo build --release --bin reflect --example gen_model
    python3 benches/serve_spec.py [--runs 3] [--slots 4] [--tokens 256] [--lookup 8]

Two reflect serve processes on the same model, one with --lookup N, the other without, the
same slots (--parallel), 2 threads each. Each round sends --slots concurrent requests (not
streamed, temperature 0, max_tokens --tokens) to each server in turn, alternating; it reports
the medians of the aggregate tokens/s (all completion tokens over the round's wall time) and
the drafts accepted (timings.draft_n_accepted / draft_n), and checks that both servers
answered the same. Rows:
  b. the scripted answer that repeats (`loop`, padded to 8x768): what lookup accepts;
  a. the random 8x768 f16 model at temperature 0.
REFLECT_BIN and GEN_MODEL_BIN pick other binaries (e.g. a debug build for a smoke run).
"""
import argparse, http.client, json, os, socket, statistics, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
REFLECT = os.environ.get("REFLECT_BIN") or os.path.join(REL, "reflect")
GEN = os.environ.get("GEN_MODEL_BIN") or os.path.join(REL, "examples", "gen_model")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(model, slots, ctx, extra, tmp, log):
    port = free_port()
    env = dict(os.environ, XDG_CACHE_HOME=tmp, XDG_DATA_HOME=tmp,
               REFLECT_CONFIG_DIR=os.path.join(tmp, "config"))
    cmd = [REFLECT, "serve", "-m", model, "--port", str(port), "--parallel", str(slots),
           "--ctx-size", str(ctx * slots), "--threads", "2", "--profile", "plain"] + extra
    p = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    for _ in range(6000):
        if p.poll() is not None:
            sys.exit(f"reflect serve {extra} exited: see {log.name}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return p, port
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    sys.exit("reflect serve did not become healthy")


def ask(port, prompt, n):
    body = json.dumps({"messages": [{"role": "user", "content": prompt}], "max_tokens": n,
                       "temperature": 0})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = json.loads(c.getresponse().read())
    c.close()
    return r


def round_of(port, prompts, n):
    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(prompts)) as pool:
        replies = list(pool.map(lambda p: ask(port, p, n), prompts))
    wall = time.perf_counter() - t0
    tokens = sum(r["usage"]["completion_tokens"] for r in replies)
    return replies, tokens / wall


def row(name, model, a, tmp, log):
    prompts = [f"Go on, {i}." for i in range(a.slots)]
    servers = {"plain": serve(model, a.slots, a.ctx, [], tmp, log),
               "lookup": serve(model, a.slots, a.ctx, ["--lookup", str(a.lookup)], tmp, log)}
    rates = {k: [] for k in servers}
    drafted = accepted = 0
    try:
        for _ in range(a.runs):
            answers = {}
            for k, (_, port) in servers.items():
                replies, rate = round_of(port, prompts, a.tokens)
                rates[k].append(rate)
                answers[k] = [r["choices"][0]["message"]["content"] for r in replies]
                if k == "lookup":
                    drafted += sum(r["timings"].get("draft_n", 0) for r in replies)
                    accepted += sum(r["timings"].get("draft_n_accepted", 0) for r in replies)
            if answers["plain"] != answers["lookup"]:
                print(f"  {name}: the answers differ with lookup")
    finally:
        for p, _ in servers.values():
            p.terminate()
            p.wait()
    plain, fast = statistics.median(rates["plain"]), statistics.median(rates["lookup"])
    print(f"{name}: {a.slots} concurrent requests, {a.tokens} tokens each, median of {a.runs}")
    print(f"  plain {plain:8.1f} tok/s, --lookup {a.lookup} {fast:8.1f} tok/s: {fast / plain:.2f}x; "
          f"accepted {accepted} of {drafted} drafted")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--lookup", type=int, default=8)
    ap.add_argument("--only", default="ba", help="the rows to run")
    a = ap.parse_args()
    for exe in (REFLECT, GEN):
        if not os.path.exists(exe):
            sys.exit(f"missing {exe}: cargo build --release --bin reflect --example gen_model")
    tmp = tempfile.mkdtemp(prefix="reflect-serve-spec-")
    log = open(os.path.join(tmp, "servers.log"), "w")
    models = {"b": ("loop-padded.gguf", ["loop", "200", "768", "8"]),
              "a": ("random-8x768.gguf", ["random"])}
    for key in a.only:
        name, args = models[key]
        path = os.path.join(tmp, name)
        subprocess.run([GEN, args[0], path] + args[1:], check=True, capture_output=True)
        row(f"{key}. {name}", path, a, tmp, log)


if __name__ == "__main__":
    main()
