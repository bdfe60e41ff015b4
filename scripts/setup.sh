#!/usr/bin/env bash
# Sourced by `npm test`, `npm run demo` and .ci/run: installs whatever a fresh clone lacks, then returns.
# - a maintained Node (scripts/pinned-node.sh);
# - node_modules, with `npm ci`, when it is missing, installed from another package-lock.json, or built for another Node
#   (better-sqlite3 is a native addon: a Node 20 build does not load in Node 22);
# - the pinned Temporal CLI and MinIO (scripts/install-tools.sh).
# shellcheck source=scripts/pinned-node.sh
source "$(dirname "${BASH_SOURCE[0]}")/pinned-node.sh" || return 1 2>/dev/null || exit 1

setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
installed_for="$setup_root/node_modules/.drive-vault-install"
# What node_modules must have been installed for: this Node (its ABI) and this package-lock.json (its content, not its
# mtime, which a checkout or a worktree resets).
wanted="$(node -p 'process.version + " abi " + process.versions.modules') lock $(sha256sum "$setup_root/package-lock.json" | cut -c1-16)"
if [ "$(cat "$installed_for" 2>/dev/null)" != "$wanted" ]; then
  if [ -L "$setup_root/node_modules" ]; then
    # A worktree sharing another checkout's node_modules: npm ci would empty the shared folder.
    echo "setup: node_modules is a link to $(readlink -f "$setup_root/node_modules"); not reinstalling through it" >&2
  else
    echo "setup: npm ci ($wanted)"
    (cd "$setup_root" && npm ci --no-audit --no-fund) || return 1 2>/dev/null || exit 1
    echo "$wanted" > "$installed_for"
  fi
fi
bash "$setup_root/scripts/install-tools.sh" || return 1 2>/dev/null || exit 1
unset setup_root installed_for wanted
