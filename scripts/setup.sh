#!/usr/bin/env bash
# Everything nftsg's demo and tests need on a fresh Debian machine (as root):
# Debian packages for the lab, the npm dependencies (Node.js 22 included),
# and the real Pulumi CLI built from the Go module proxy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive
# Go lives in /usr/local/go on this kind of machine; a login shell may not have it on PATH.
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"

PKGS=(nftables openssh-server openssh-client iproute2 iputils-ping fping conntrack util-linux procps psmisc ansible docker.io busybox-static)
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
npm ci --no-audit --no-fund --loglevel=error
bash scripts/ensure-pulumi.sh >/dev/null
echo "setup: done (node $(node_modules/.bin/node --version), pulumi $("$(bash scripts/ensure-pulumi.sh 2>/dev/null)/bin/pulumi" version))"
