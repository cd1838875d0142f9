#!/usr/bin/env bash
# Installs Suricata 7 from Debian's bookworm-backports (the peer `bench/analyze.mjs` times beside tshark
# and tcpdump), then prints its version. Idempotent: adds the backports source only when no APT source
# lists bookworm-backports yet, and installs only when the installed suricata is not 7.x or newer.
# Needs root (or sudo) and Debian 12 (bookworm).
#
# Usage: bash infra/install-suricata.sh
set -euo pipefail

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

have_suricata7() {
  command -v suricata >/dev/null 2>&1 || return 1
  local major
  major="$(suricata -V 2>/dev/null | sed -n 's/.*version \([0-9]\+\)\..*/\1/p' | head -1)"
  [ -n "$major" ] && [ "$major" -ge 7 ]
}

if have_suricata7; then
  echo "install-suricata: already installed" >&2
  suricata -V
  exit 0
fi

codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
if [ "$codename" != "bookworm" ]; then
  echo "install-suricata: expected Debian 12 (bookworm), this is '${codename:-unknown}'; install Suricata 7 by other means" >&2
  exit 2
fi

# Is bookworm-backports already an APT source (one-line .list or deb822 .sources)?
if ! grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "install-suricata: adding bookworm-backports (/etc/apt/sources.list.d/bookworm-backports.sources)" >&2
  $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Backports are never picked by default: ask for the suite explicitly (the 6.x in bookworm is too old).
$SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports suricata
# The package enables a service on systems with systemd; the bench runs suricata -r only.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now suricata >/dev/null 2>&1 || true
fi
suricata -V
