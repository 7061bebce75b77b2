#!/usr/bin/env bash
# Everything nftsg's demo and tests need on a fresh Debian machine (as root):
# Debian packages for the lab, the npm dependencies (Node.js 22 included),
# and the real Pulumi CLI and its Node.js language host, built with Go.
# `--bench` also installs what the benchmarks compare against (Ansible).
#
# On a fresh machine the Go build of the CLI is the long, CPU-bound part; it
# runs in the background while apt and debootstrap (network and disk) run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive
# Go lives in /usr/local/go on this kind of machine; a login shell may not have it on PATH.
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"

PKGS=(nftables openssh-server openssh-client iproute2 iputils-ping fping conntrack util-linux procps psmisc shellcheck docker.io busybox-static)
for arg in "$@"; do [ "$arg" = --bench ] && PKGS+=(ansible); done

# npm first: the CLI build reads the SDK's version from the lockfile and
# copies its provider plugin script from node_modules.
npm ci --no-audit --no-fund --loglevel=error
build_log=$(mktemp)
bash scripts/ensure-pulumi.sh >"$build_log" 2>&1 &
build_pid=$!
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

# The Debian 12 root of the distro hosts, cached in ~/.cache/nftsg/distro
# (about 80 s and 180 MB the first time, from the mirror apt already uses).
npm run lab --silent -- distro-root
if ! wait "$build_pid"; then
  cat "$build_log" >&2
  echo "setup: building the Pulumi CLI and language host failed (log above)" >&2
  exit 1
fi
grep -v '^go: downloading' "$build_log" | sed 's/^/setup: /' || true
rm -f "$build_log"
PULUMI_PATH="$(bash scripts/ensure-pulumi.sh 2>/dev/null)/bin:$PATH"
echo "setup: done (node $(node_modules/.bin/node --version), pulumi $(PATH="$PULUMI_PATH" pulumi version), pulumi-language-nodejs $(PATH="$PULUMI_PATH" pulumi-language-nodejs -version))"
