#!/usr/bin/env bash
# Installs the pinned Temporal CLI and MinIO server into .tools/bin (git-ignored), with `go install`.
# Idempotent: a tool already at the pinned version (in .tools/bin or on PATH) is left alone.
# `install-tools.sh --bench` also installs the bench-only tools (rclone, the restore benchmark's yardstick); tests never need them.
set -euo pipefail

TEMPORAL_MODULE="github.com/temporalio/cli/cmd/temporal"
TEMPORAL_VERSION="v1.5.1"   # server 1.29.1, UI 2.42.1; later tags do not build with go install
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
RCLONE_MODULE="github.com/rclone/rclone"
RCLONE_VERSION="v1.76.0"

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"

# Prints the module version a Go binary was built from, or nothing.
built_version() {
  command -v go >/dev/null 2>&1 || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

install_tool() {
  local name="$1" module="$2" version="$3"
  if [ -x "$bin/$name" ] && [ "$(built_version "$bin/$name")" = "$version" ]; then
    echo "install-tools: $name $version already in $bin"
    return
  fi
  local on_path
  on_path="$(command -v "$name" 2>/dev/null || true)"
  if [ -n "$on_path" ] && [ "$(built_version "$on_path")" = "$version" ]; then
    ln -sf "$on_path" "$bin/$name"
    echo "install-tools: $name $version found on PATH at $on_path, linked into $bin"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "install-tools: cannot install $name: Go is not installed and $bin/$name is missing." >&2
    echo "  Install Go 1.24 or newer (https://go.dev/dl/ or your package manager, e.g. 'apt-get install golang')," >&2
    echo "  or put $name $version on PATH, then run 'npm run tools' again." >&2
    exit 1
  fi
  echo "install-tools: building $name $version with go install $module@$version (first build takes a few minutes)"
  local start=$SECONDS
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$module@$version"
  echo "install-tools: $name $version installed in $bin in $((SECONDS - start)) s"
}

install_tool temporal "$TEMPORAL_MODULE" "$TEMPORAL_VERSION"
install_tool minio "$MINIO_MODULE" "$MINIO_VERSION"
if [ "${1:-}" = "--bench" ]; then
  install_tool rclone "$RCLONE_MODULE" "$RCLONE_VERSION"
fi
