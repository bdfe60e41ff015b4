#!/usr/bin/env bash
# The dashboard's browser test drives Debian's Chromium (/usr/bin/chromium) with playwright-core. Installs the
# package when it is missing: as root with apt-get, otherwise through sudo when it asks no password.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: /usr/bin/chromium is missing and this is not a Debian-like system: install Chromium there by hand." >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then as_root=(sudo -n); else
    echo "install-chromium: /usr/bin/chromium is missing; run 'sudo apt-get install chromium' (the dashboard test needs it)." >&2
    exit 1
  fi
fi
echo "install-chromium: apt-get install chromium (for the dashboard's browser test)"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null)"
