#!/usr/bin/env bash
# Installs the reference MCP servers the MCP tests start (pinned, from the npm registry) into
# $CACHE_DIR, once per machine, and prints that folder: the tests read it from
# REFLECT_MCP_SERVERS. Node and npm come from the distribution's packages when missing.
set -euo pipefail

EVERYTHING=2026.8.31
FILESYSTEM=2026.8.31
dir="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reflect/mcp-servers}/$EVERYTHING-$FILESYSTEM"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "== installing: nodejs npm" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

major="$(node --version | sed 's/^v//; s/\..*//')"
if [ "${major:-0}" -lt 18 ]; then
  echo "node $(node --version) is too old for the reference MCP servers: they need Node 18 or later" >&2
  exit 1
fi

if [ ! -f "$dir/.done" ]; then
  echo "== installing the reference MCP servers into $dir (npm)" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent \
    "@modelcontextprotocol/server-everything@$EVERYTHING" \
    "@modelcontextprotocol/server-filesystem@$FILESYSTEM" >&2
  touch "$dir/.done"
fi
echo "$dir"
