#!/usr/bin/env bash
# Sourced by `npm test`, `npm run demo` and .ci/run: installs whatever a fresh clone lacks, then returns.
# - a maintained Node (scripts/pinned-node.sh);
# - node_modules, with `npm ci`, when it is missing, older than package-lock.json, or built for another Node
#   (better-sqlite3 is a native addon: a Node 20 build does not load in Node 22);
# - the pinned Temporal CLI and MinIO (scripts/install-tools.sh).
# shellcheck source=scripts/pinned-node.sh
source "$(dirname "${BASH_SOURCE[0]}")/pinned-node.sh" || return 1 2>/dev/null || exit 1

setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
installed_for="$setup_root/node_modules/.drive-vault-node"
node_id="$(node -p 'process.version + " abi " + process.versions.modules')"
if [ ! -f "$setup_root/node_modules/.package-lock.json" ] || [ "$setup_root/package-lock.json" -nt "$setup_root/node_modules/.package-lock.json" ] \
  || [ "$(cat "$installed_for" 2>/dev/null)" != "$node_id" ]; then
  echo "setup: npm ci (node $node_id)"
  (cd "$setup_root" && npm ci --no-audit --no-fund) || return 1 2>/dev/null || exit 1
  echo "$node_id" > "$installed_for"
fi
bash "$setup_root/scripts/install-tools.sh" || return 1 2>/dev/null || exit 1
unset setup_root installed_for node_id
