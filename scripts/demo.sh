#!/usr/bin/env bash
# npm run demo: install what a fresh clone lacks (scripts/setup.sh), then run the demo (scripts/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
exec node --import tsx scripts/demo.ts "$@"
