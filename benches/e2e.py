#!/usr/bin/env python3
"""End-to-end benchmarks of reflect against llama.cpp's own speed, and of the TUI's cost.

Runs the release binaries (build them first):

    cargo build --release --bin reflect --example baseline --example gen_model
    python3 benches/e2e.py [--runs 5] [--threads 2] [--out DIR]

Measures, alternating the two programs run by run, and reports medians and ratios:
  1. decode overhead: tokens/s of `reflect` (pipe mode, fixed seed, --max-tokens 256) against
     examples/baseline.rs (the minimal llama-cpp-2 loop: llama.cpp's default context parameters,
     `top_p 0.95 -> temp 0.7 -> dist`) on the same random-weight model, same prompt tokens, same
     threads: (a) reflect with its default sampler chain, (b) with the identical chain
     (`--top-k 0 --min-p 0`), (c) llama.cpp's own `llama-bench -p 0 -n 128` tg as a reference
     row, where one is found ($LLAMA_BENCH, else on PATH);
  2. prompt processing: time to first token for a ~1,000-token prompt, same comparison;
  3. TUI: time from start to first frame (model still loading); CPU of the TUI against pipe mode
     for the same 4,000-token scripted generation, in all and by thread (the engine's threads, and
     the rest: the TUI's drawing or pipe mode's printing); CPU while idle.
Models come from reflect's own writer (examples/gen_model.rs); nothing is downloaded.
"""
import argparse, fcntl, json, os, pty, select, shutil, statistics, struct, subprocess, sys, tempfile, termios, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
REFLECT = os.environ.get("REFLECT_BIN") or os.path.join(REL, "reflect")  # REFLECT_BIN: compare another build
BASELINE = os.path.join(REL, "examples", "baseline")
GEN = os.path.join(REL, "examples", "gen_model")
LONG_PROMPT = " ".join(f"item{i} is next to item{i + 1}." for i in range(90))


def env_for(tmp):
    env = dict(os.environ)
    for k in ["REFLECT_MODEL", "REFLECT_PROFILE", "REFLECT_LOG", "NO_COLOR"]:
        env.pop(k, None)
    env.update(XDG_CACHE_HOME=tmp, XDG_DATA_HOME=tmp, REFLECT_CONFIG_DIR=os.path.join(tmp, "config"),
               TERM="xterm-256color")
    return env


# The minimal loop's chain, `top_p 0.95 -> temp 0.7 -> dist`, in reflect's flags.
IDENTICAL_CHAIN = ["--top-k", "0", "--min-p", "0"]


def reflect_json(env, model, prompt, threads, max_tokens, extra=()):
    out = subprocess.run([REFLECT, "-m", model, "--format", "json", "--seed", "1", "--threads", str(threads),
                          "--max-tokens", str(max_tokens), "--no-think-carefully", *extra, prompt],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode not in (0, 3):
        sys.exit(f"reflect failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def baseline_json(env, model, prompt_file, threads, max_tokens):
    out = subprocess.run([BASELINE, model, prompt_file, str(max_tokens), str(threads), "1", "8192"],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def rendered_prompt(env, model, prompt, tmp, name):
    text = subprocess.run([REFLECT, "-m", model, "--print-prompt", "--no-think-carefully", prompt],
                          env=env, capture_output=True, text=True, check=True).stdout
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def compare(env, model, prompt, tmp, runs, threads, max_tokens, field, extra=()):
    pfile = rendered_prompt(env, model, prompt, tmp, f"prompt-{field}.txt")
    r, b = [], []
    for _ in range(runs):  # alternate, so drift hits both alike
        jr = reflect_json(env, model, prompt, threads, max_tokens, extra)
        jb = baseline_json(env, model, pfile, threads, max_tokens)
        r.append((jr["timings"][field], jr["usage"]))
        b.append((jb[field], jb))
    return r, b


def cpu_of(pid):
    """User+system CPU seconds of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


class Pty:
    def __init__(self, args, env):
        self.started = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.execve(args[0], args, env)
        self.buf = b""

    def read_until(self, needle, timeout=120):
        deadline = time.monotonic() + timeout
        while needle not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {needle!r}; got {self.buf[-500:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    self.buf += os.read(self.fd, 65536)
                except OSError:
                    break
        return time.monotonic()

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], max(0, end - time.monotonic()))
            if r:
                try:
                    self.buf += os.read(self.fd, 65536)
                except OSError:
                    return

    def send(self, data):
        os.write(self.fd, data)

    def finish(self):
        """Waits for exit; returns the child's CPU seconds (rusage)."""
        while True:
            try:
                pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                return ru.ru_utime + ru.ru_stime
            self.drain(0.05)


def tui_first_frame(env, model):
    p = Pty([REFLECT, "-m", model], env)
    t = p.read_until(b"Message")  # the input box's title: the first frame is on screen
    loading = b"oading" in p.buf
    p.read_until(b"idle", timeout=300)
    p.send(b"\x04")
    p.finish()
    return (t - p.started) * 1000, loading


ENGINE_THREADS = "reflect-engine"  # the engine's thread and its OpenMP workers


def thread_runtime(task):
    """CPU seconds of one thread from the scheduler's own count (nanoseconds, /proc/.../sched),
    or None where the kernel does not show it."""
    try:
        with open(f"{task}/sched") as f:
            for line in f:
                if line.startswith("se.sum_exec_runtime"):
                    return float(line.split(":")[1]) / 1000.0
    except OSError:
        pass
    return None


def threads_cpu(pid):
    """CPU seconds of a running process: (engine threads, all other threads). Uses the
    scheduler's nanosecond count where available, else user+system time in clock ticks (10 ms)."""
    engine = rest = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        task = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{task}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        parts = stat.rsplit(")", 1)[1].split()
        cpu = thread_runtime(task)
        if cpu is None:
            cpu = (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
        if comm == ENGINE_THREADS:
            engine += cpu
        else:
            rest += cpu
    return engine, rest


def tui_cpu(env, model, tokens):
    """CPU seconds of the TUI for one generation: (total, while idle 5 s, (engine, rest) at the end
    of the generation)."""
    p = Pty([REFLECT, "-m", model, "--max-tokens", str(tokens), "--ctx-size", "8192", "--no-think-carefully"], env)
    p.read_until(b"idle")
    p.drain(0.3)
    p.buf = b""
    p.send(b"go\r")
    p.read_until(b"idle", timeout=600)
    p.drain(0.5)
    idle_before = cpu_of(p.pid)
    split = threads_cpu(p.pid)
    p.drain(5.0)
    idle = cpu_of(p.pid) - idle_before
    p.send(b"\x04")
    total = p.finish()
    return total, idle, split


def pipe_cpu(env, model, tokens):
    """CPU seconds of pipe mode for one generation: (total, (engine, rest) sampled every 10 ms until
    it exits)."""
    proc = subprocess.Popen([REFLECT, "-m", model, "--max-tokens", str(tokens), "--ctx-size", "8192", "--no-think-carefully", "go"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    split = (0.0, 0.0)
    while True:
        pid, _, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return ru.ru_utime + ru.ru_stime, split
        try:
            split = threads_cpu(proc.pid)
        except OSError:
            pass
        time.sleep(0.01)


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="keep the generated models here")
    ap.add_argument("--only", choices=["engine", "tui"], default=None, help="run one half")
    a = ap.parse_args()
    for exe in (REFLECT, BASELINE, GEN):
        if not os.path.exists(exe):
            sys.exit(f"missing {exe}: cargo build --release --bin reflect --example baseline --example gen_model")
    tmp = a.out or tempfile.mkdtemp(prefix="reflect-bench-")
    os.makedirs(tmp, exist_ok=True)
    env = env_for(tmp)
    random_model = os.path.join(tmp, "random-8x768.gguf")
    loop_model = os.path.join(tmp, "loop.gguf")
    if not os.path.exists(random_model):
        subprocess.run([GEN, "random", random_model], check=True)
    if not os.path.exists(loop_model):
        subprocess.run([GEN, "loop", loop_model, "200"], check=True)

    print(f"# reflect end-to-end benchmarks ({a.runs} runs each, {a.threads} threads, medians)\n")
    if a.only != "tui":
        engine_part(a, env, tmp, random_model)
    if a.only != "engine":
        tui_part(a, env, random_model, loop_model)


def llama_bench_tg(model, runs, threads):
    """llama.cpp's own decode speed (`llama-bench -p 0 -n 128`, tokens/s) or None without one."""
    exe = os.environ.get("LLAMA_BENCH") or shutil.which("llama-bench")
    if not exe or not os.path.exists(exe):
        return None
    out = subprocess.run([exe, "-m", model, "-p", "0", "-n", "128", "-t", str(threads), "-r", str(runs),
                          "-o", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["avg_ts"]


def engine_part(a, env, tmp, random_model):
    for row, (label, extra) in enumerate([("default chain", ()), ("identical chain", IDENTICAL_CHAIN)]):
        r, b = compare(env, random_model, "Tell me a story.", tmp, a.runs, a.threads, 256, "tokens_per_second", extra)
        rt, bt = med([x for x, _ in r]), med([x for x, _ in b])
        toks = r[0][1]["completion_tokens"]
        print(f"1{'ab'[row]}. decode, random 8x768 f16 model, {toks} tokens, reflect's {label}: reflect {rt:.1f} tok/s, "
              f"baseline {bt:.1f} tok/s, ratio {rt / bt:.3f}  (runs: reflect {[round(x, 1) for x, _ in r]}, "
              f"baseline {[round(x, 1) for x, _ in b]})")
    tg = llama_bench_tg(random_model, a.runs, a.threads)
    print(f"1c. llama-bench -p 0 -n 128 -t {a.threads} (no sampling): "
          + (f"{tg:.1f} tok/s" if tg else "not available (set LLAMA_BENCH to its path)"))
    r, b = compare(env, random_model, LONG_PROMPT, tmp, a.runs, a.threads, 1, "first_token_ms")
    rt, bt = med([x for x, _ in r]), med([x for x, _ in b])
    n = r[0][1]["prompt_tokens"]
    print(f"2. time to first token, {n}-token prompt: reflect {rt:.0f} ms, baseline {bt:.0f} ms, "
          f"ratio (baseline/reflect) {bt / rt:.3f}  (runs: reflect {[x for x, _ in r]}, baseline {[x for x, _ in b]})")


def tui_part(a, env, random_model, loop_model):
    frames = [tui_first_frame(env, random_model) for _ in range(a.runs)]
    print(f"3. TUI first frame: {med([f for f, _ in frames]):.1f} ms (runs {[round(f, 1) for f, _ in frames]}), "
          f"model still loading on that frame: {all(l for _, l in frames)}")
    tokens = 4000
    tui, idle, pipe, tui_split, pipe_split = [], [], [], [], []
    for _ in range(a.runs):
        t, i, split = tui_cpu(env, loop_model, tokens)
        tui.append(t)
        idle.append(i)
        tui_split.append(split)
        t, split = pipe_cpu(env, loop_model, tokens)
        pipe.append(t)
        pipe_split.append(split)
    print(f"4. CPU for a {tokens}-token scripted generation: TUI {med(tui):.3f} s, pipe {med(pipe):.3f} s, "
          f"TUI extra {100 * (med(tui) / med(pipe) - 1):.1f}%  (runs: TUI {[round(x, 3) for x in tui]}, "
          f"pipe {[round(x, 3) for x in pipe]})")
    # The engine's threads spin while they wait for each other, so on a busy machine their CPU
    # varies far more than the TUI costs; the other threads (the TUI's drawing, or pipe mode's
    # printing) measure the TUI's own cost.
    te, tr = med([e for e, _ in tui_split]), med([r for _, r in tui_split])
    pe, pr = med([e for e, _ in pipe_split]), med([r for _, r in pipe_split])
    print(f"4b. the same by thread: engine TUI {te:.3f} s, pipe {pe:.3f} s; the rest TUI {tr:.4f} s, "
          f"pipe {pr:.4f} s; TUI extra without the engine's variance (rest TUI - pipe) / pipe total "
          f"{100 * (tr - pr) / med(pipe):.1f}%  (runs: rest TUI {[round(r, 4) for _, r in tui_split]}, "
          f"pipe {[round(r, 4) for _, r in pipe_split]})")
    print(f"5. CPU while idle in the TUI, 5 s: {med(idle) * 1000:.0f} ms (runs {[round(x * 1000) for x in idle]})")


if __name__ == "__main__":
    main()
