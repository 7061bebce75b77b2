#!/usr/bin/env bash
# Ensure the real Pulumi CLI and its Node.js language host, at the version of
# @pulumi/pulumi in package-lock.json, are available.
# - pulumi: built from the Go module proxy through the wrapper module in
#   scripts/pulumi-engine (go install refuses modules with replace directives);
# - pulumi-language-nodejs (runs `pulumi up` in a project directory): the proxy
#   does not serve its module, so its unmodified upstream source (found in
#   shared/vendor/pulumi-language-nodejs beside an ancestor of the repository,
#   or $NFTSG_LANGUAGE_NODEJS_SRC) is copied at build time into a package of a
#   copy of the wrapper module outside the repository, and built there;
# - pulumi-resource-pulumi-nodejs (the dynamic-provider plugin script shipped
#   in @pulumi/pulumi), copied beside them as a Pulumi installation has it.
# Binaries are cached outside the repository. A Pulumi installation already on
# PATH at this version (CLI and language host) wins.
# Prints the install root (holding bin/pulumi, the layout the Automation
# API's PulumiCommand.get({ root }) expects) on its last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="$(node -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/@pulumi/pulumi"].version)' "$ROOT/package-lock.json")"
CACHE="${NFTSG_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nftsg}/pulumi-v$VERSION"
WRAPPER="$ROOT/scripts/pulumi-engine"
LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
PROVIDER_SCRIPT="$ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"

# at_version <binary> <version flag>: the binary runs and reports v$VERSION.
at_version() { [ -x "$1" ] && [ "$("$1" "$2" 2>/dev/null)" = "v$VERSION" ]; }

if command -v pulumi >/dev/null 2>&1 && command -v pulumi-language-nodejs >/dev/null 2>&1 \
  && at_version "$(command -v pulumi)" version && at_version "$(command -v pulumi-language-nodejs)" -version; then
  dirname "$(dirname "$(command -v pulumi)")"; exit 0
fi
if at_version "$CACHE/bin/pulumi" version && at_version "$CACHE/bin/pulumi-language-nodejs" -version \
  && cmp -s "$PROVIDER_SCRIPT" "$CACHE/bin/pulumi-resource-pulumi-nodejs"; then
  echo "$CACHE"; exit 0
fi

if ! grep -q "github.com/pulumi/pulumi/pkg/v3 v$VERSION\$" "$WRAPPER/go.mod"; then
  echo "ensure-pulumi: @pulumi/pulumi is $VERSION but $WRAPPER/go.mod pins another pkg/v3;" >&2
  echo "  run: (cd $WRAPPER && go mod edit -require=github.com/pulumi/pulumi/pkg/v3@v$VERSION -require=github.com/pulumi/pulumi/sdk/v3@v$VERSION && GOTOOLCHAIN=local go mod tidy)" >&2
  exit 1
fi
mkdir -p "$CACHE/bin"
# One build at a time per cache (tests and setup may call this concurrently).
exec 9>"$CACHE/.build.lock"
flock 9
# The machine's own Go; never download another toolchain.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

need_go() { command -v go >/dev/null 2>&1 || { echo "ensure-pulumi: Go toolchain not found (needed to build $1)" >&2; exit 1; }; }

if ! at_version "$CACHE/bin/pulumi" version; then
  need_go "the Pulumi CLI"
  echo "ensure-pulumi: building Pulumi CLI v$VERSION into $CACHE (first time only, several minutes)" >&2
  (cd "$WRAPPER" && go build -trimpath -ldflags "$LDFLAGS" -o "$CACHE/bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv "$CACHE/bin/pulumi.tmp" "$CACHE/bin/pulumi"
  "$CACHE/bin/pulumi" version >&2
fi

# The nearest shared/vendor/pulumi-language-nodejs above the repository (the
# project's checkout is /work/main), else the project's shared directory
# /work/shared itself (a clone elsewhere, e.g. CI's).
language_host_source() {
  if [ -n "${NFTSG_LANGUAGE_NODEJS_SRC:-}" ]; then echo "$NFTSG_LANGUAGE_NODEJS_SRC"; return; fi
  local dir="$ROOT"
  while [ "$dir" != "/" ]; do
    dir="$(dirname "$dir")"
    if [ -f "$dir/shared/vendor/pulumi-language-nodejs/main.go" ]; then echo "$dir/shared/vendor/pulumi-language-nodejs"; return; fi
  done
  if [ -f /work/shared/vendor/pulumi-language-nodejs/main.go ]; then echo /work/shared/vendor/pulumi-language-nodejs; fi
}

build_language_host() {
  local src="$1" build
  need_go pulumi-language-nodejs
  echo "ensure-pulumi: building pulumi-language-nodejs v$VERSION from $src into $CACHE" >&2
  build="$(mktemp -d "$CACHE/language-host-build.XXXXXX")"
  trap 'rm -rf "$build"; trap - RETURN' RETURN
  # A copy of the wrapper module (same requirements and replace directives as
  # the CLI, so the CLI's build cache is reused) with the host as a package.
  cp "$WRAPPER/go.mod" "$WRAPPER/go.sum" "$build/"
  mkdir -p "$build/cmd/pulumi-language-nodejs"
  cp "$src"/*.go "$src/LICENSE" "$build/cmd/pulumi-language-nodejs/"
  (cd "$build" && go build -trimpath -ldflags "$LDFLAGS" -o "$CACHE/bin/pulumi-language-nodejs.tmp" ./cmd/pulumi-language-nodejs)
  mv "$CACHE/bin/pulumi-language-nodejs.tmp" "$CACHE/bin/pulumi-language-nodejs"
  echo "ensure-pulumi: pulumi-language-nodejs $("$CACHE/bin/pulumi-language-nodejs" -version)" >&2
}

if ! at_version "$CACHE/bin/pulumi-language-nodejs" -version; then
  SRC="$(language_host_source)"
  if [ -n "$SRC" ] && [ -f "$SRC/main.go" ]; then
    build_language_host "$SRC"
  else
    # Loud, not fatal: Automation API programs do not need the host; the
    # tests that run `pulumi` in a project directory fail saying so.
    echo "ensure-pulumi: WARNING: pulumi-language-nodejs NOT built: its source was not found (looked for" >&2
    echo "  shared/vendor/pulumi-language-nodejs above $ROOT and in /work); set NFTSG_LANGUAGE_NODEJS_SRC to its directory," >&2
    echo "  or put pulumi and pulumi-language-nodejs v$VERSION on PATH. \`pulumi up\` in a project directory will not work." >&2
  fi
fi

if ! cmp -s "$PROVIDER_SCRIPT" "$CACHE/bin/pulumi-resource-pulumi-nodejs"; then
  install -m 0755 "$PROVIDER_SCRIPT" "$CACHE/bin/pulumi-resource-pulumi-nodejs"
fi
echo "$CACHE"
