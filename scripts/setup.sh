#!/usr/bin/env bash
# Everything nftsg's demo and tests need on a fresh Debian machine (as root):
# Debian packages for the lab, the npm dependencies (Node.js 22 included),
# and the real Pulumi CLI and its Node.js language host, built with Go.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive
# Go lives in /usr/local/go on this kind of machine; a login shell may not have it on PATH.
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"

PKGS=(nftables openssh-server openssh-client iproute2 iputils-ping fping conntrack util-linux procps psmisc ansible shellcheck docker.io busybox-static)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # Keep package scripts from starting services (docker.io would start a
  # dockerd in the root namespace, whose FORWARD policy drop reaches the
  # bridged lab when br_netfilter is loaded); the container tests start their
  # own dockerd inside a lab host.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1; fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ "$own_policy" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || exit "$rc"
fi
# Debian's openssh-server starts its own sshd; the lab runs one per namespace
# and does not need it.

# Real-distribution lab hosts (test/distro.test.ts): debootstrap makes a
# Debian 12 root once, systemd-nspawn boots copies of it. systemd-container is
# pinned to the installed systemd's version: unpinned, apt would upgrade the
# machine's own systemd and udev along with it.
distro_missing=()
dpkg -s debootstrap >/dev/null 2>&1 || distro_missing+=(debootstrap)
if ! dpkg -s systemd-container >/dev/null 2>&1; then
  if v=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null) && [ -n "$v" ]; then
    distro_missing+=("systemd-container=$v")
  else
    distro_missing+=(systemd-container)
  fi
fi
if [ "${#distro_missing[@]}" -gt 0 ]; then
  echo "setup: installing ${distro_missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${distro_missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund --loglevel=error
bash scripts/ensure-pulumi.sh >/dev/null
# The Debian 12 root of the distro hosts, cached in ~/.cache/nftsg/distro
# (about 80 s and 180 MB the first time, from the mirror apt already uses).
npm run lab --silent -- distro-root
PULUMI_PATH="$(bash scripts/ensure-pulumi.sh 2>/dev/null)/bin:$PATH"
echo "setup: done (node $(node_modules/.bin/node --version), pulumi $(PATH="$PULUMI_PATH" pulumi version), pulumi-language-nodejs $(PATH="$PULUMI_PATH" pulumi-language-nodejs -version))"
