#!/usr/bin/env bash
# npm test: install what is missing, type-check, check format and lint (Biome), run every test file (one at a time: each starts its own servers), then make sure
# no server a test started is still running.
set -uo pipefail
cd "$(dirname "$0")/.."
# A fresh clone: a maintained Node, node_modules and the pinned tools are installed first.
# shellcheck source=scripts/setup.sh
source scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }
bash scripts/install-chromium.sh || { echo "test: the dashboard's browser test needs /usr/bin/chromium" >&2; exit 1; }

npx tsc --noEmit -p . || { echo "test: type check failed" >&2; exit 1; }
npx biome ci --colors=off . || { echo "test: format or lint check failed (npx biome check --write . fixes the format)" >&2; exit 1; }

pgids="$(mktemp)"
export DRIVE_VAULT_TEST_PGIDS="$pgids"
node --import tsx --test --test-concurrency=1 test/*.test.ts test/drive-emulator/*.test.ts
status=$?

sleep 1
left=()
while read -r pgid; do
  [ -n "$pgid" ] && pgrep -g "$pgid" >/dev/null 2>&1 && left+=("$pgid")
done < "$pgids"
rm -f "$pgids"
if [ ${#left[@]} -gt 0 ]; then
  echo "test: servers started by the tests are still running (process groups ${left[*]}):" >&2
  for g in "${left[@]}"; do ps -o pid=,args= -g "$g" >&2; kill -KILL -- "-$g" 2>/dev/null; done
  exit 1
fi
echo "test: no server process left running"
exit $status
