#!/usr/bin/env python3
"""`reflect eval --parallel N` on a local model: questions per minute against N = 1.

Runs the release binaries (build them first):

    cargo build --release --bin reflect --example gen_model
    python3 benches/eval_parallel.py [--runs 3] [--threads 2] [--parallel 1,4] [--max-tokens 64]

On the random-weight benchmark model (8 layers, 768 wide, 32k vocabulary, f16, written by
examples/gen_model.rs; nothing is downloaded), runs prompts/eval/sample.jsonl (20 questions)
with the plain profile, temperature 0.7 and --max-tokens, alternating the settings run by run,
and reports the median questions per minute of each and the ratio to the first. It also counts
the questions whose answer is the same text as in the first setting's last run.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
REFLECT = os.environ.get("REFLECT_BIN") or os.path.join(REL, "reflect")
GEN = os.path.join(REL, "examples", "gen_model")
QUESTIONS = os.path.join(ROOT, "prompts", "eval", "sample.jsonl")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", default="1,4")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--out", help="keep the model and results in this directory")
    ap.add_argument("--weights", default="f16", choices=["f16", "q8_0"], help="the random model's matrices")
    a = ap.parse_args()
    for exe in (REFLECT, GEN):
        if not os.path.exists(exe):
            sys.exit(f"missing {exe}: cargo build --release --bin reflect --example gen_model")
    tmp = a.out or tempfile.mkdtemp(prefix="reflect-eval-bench-")
    os.makedirs(tmp, exist_ok=True)
    model = os.path.join(tmp, f"random-{a.weights}.gguf")
    if not os.path.exists(model):
        subprocess.run([GEN, "random", model, "8", "768", "32000", a.weights], check=True)
    env = dict(os.environ)
    for k in ["REFLECT_MODEL", "REFLECT_PROFILE", "REFLECT_LOG", "REFLECT_ENDPOINT"]:
        env.pop(k, None)
    env.update(XDG_CACHE_HOME=tmp, XDG_DATA_HOME=tmp, REFLECT_CONFIG_DIR=os.path.join(tmp, "config"))
    n_questions = sum(1 for line in open(QUESTIONS) if line.strip())
    settings = [int(p) for p in a.parallel.split(",")]
    rates = {p: [] for p in settings}
    answers = {}
    for run in range(a.runs):
        for p in settings:
            out = os.path.join(tmp, f"p{p}-{run}.jsonl")
            if os.path.exists(out):
                os.remove(out)
            cmd = [REFLECT, "eval", QUESTIONS, "-m", model, "--profile", "plain", "--temperature", "0.7",
                   "--max-tokens", str(a.max_tokens), "--threads", str(a.threads), "--parallel", str(p),
                   "--out", out]
            started = time.monotonic()
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            took = time.monotonic() - started
            if r.returncode != 0:
                sys.exit(f"reflect eval failed ({r.returncode}): {r.stderr}")
            rates[p].append(n_questions / took * 60)
            answers[p] = {j["id"]: j["answer"] for j in map(json.loads, open(out))}
            print(f"run {run + 1}: --parallel {p}: {took:.1f} s, {rates[p][-1]:.1f} questions/min", flush=True)
    first = settings[0]
    for p in settings:
        same = sum(1 for k, v in answers[p].items() if answers[first].get(k) == v)
        med = statistics.median(rates[p])
        print(f"--parallel {p}: median {med:.1f} questions/min "
              f"(runs {', '.join(f'{x:.1f}' for x in rates[p])}), "
              f"x{med / statistics.median(rates[first]):.2f}; "
              f"{same}/{len(answers[p])} answers the same text as --parallel {first}")


if __name__ == "__main__":
    main()
