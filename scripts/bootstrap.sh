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
# The chat-template tests render each bundled tool template with Python's jinja2 too, set up
# as transformers sets it up: the reference for what a Jinja chat template produces.
jinja2_version="3.1.6"
have="$(python3 -c "import jinja2; print(jinja2.__version__)" 2>/dev/null || true)"
if [ "$have" != "$jinja2_version" ]; then
  echo "== installing jinja2 $jinja2_version (pip; found: ${have:-none})"
  python3 -m pip install --quiet "jinja2==$jinja2_version" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "jinja2==$jinja2_version"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  command -v curl >/dev/null 2>&1 || need+=(curl)
  need+=(ca-certificates)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing: ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The Hugging Face download tests check reflect's cache against the reference implementation,
# the huggingface_hub package (pinned: its cache layout is what is being checked).
# Another version installed (or none) is replaced by the pinned one.
hf_hub_version="2.4.0"
have="$(python3 -c "import huggingface_hub; print(huggingface_hub.__version__)" 2>/dev/null || true)"
if [ "$have" != "$hf_hub_version" ]; then
  echo "== installing huggingface_hub $hf_hub_version (pip; found: ${have:-none})"
  python3 -m pip install --quiet "huggingface_hub==$hf_hub_version" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "huggingface_hub==$hf_hub_version"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "== installing Rust (rustup)"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
fi
