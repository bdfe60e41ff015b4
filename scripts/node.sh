#!/usr/bin/env bash
# Runs node with the project's Node (scripts/pinned-node.sh): `bash scripts/node.sh [node args]`. The npm scripts
# use it so that `npm run worker` and friends never start on an older machine node.
# shellcheck source=scripts/pinned-node.sh
source "$(dirname "$0")/pinned-node.sh" || exit 1
exec node "$@"
