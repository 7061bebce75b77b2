#!/usr/bin/env bash
# Ensure the real Pulumi CLI, at the version of @pulumi/pulumi in
# package-lock.json, is available. Builds it from the Go module proxy through
# the wrapper module in scripts/pulumi-engine (go install refuses modules with
# replace directives) and caches the binary outside the repository.
# Prints the install root (holding bin/pulumi, the layout the Automation
# API's PulumiCommand.get({ root }) expects) on its last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="$(node -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/@pulumi/pulumi"].version)' "$ROOT/package-lock.json")"
CACHE="${NFTSG_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nftsg}/pulumi-v$VERSION"

# A suitable pulumi already on PATH wins.
if command -v pulumi >/dev/null 2>&1 && [ "$(pulumi version 2>/dev/null)" = "v$VERSION" ]; then
  dirname "$(dirname "$(command -v pulumi)")"; exit 0
fi
if [ -x "$CACHE/bin/pulumi" ] && [ "$("$CACHE/bin/pulumi" version 2>/dev/null)" = "v$VERSION" ]; then
  echo "$CACHE"; exit 0
fi

WRAPPER="$ROOT/scripts/pulumi-engine"
if ! grep -q "github.com/pulumi/pulumi/pkg/v3 v$VERSION\$" "$WRAPPER/go.mod"; then
  echo "ensure-pulumi: @pulumi/pulumi is $VERSION but $WRAPPER/go.mod pins another pkg/v3;" >&2
  echo "  run: (cd $WRAPPER && go mod edit -require=github.com/pulumi/pulumi/pkg/v3@v$VERSION -require=github.com/pulumi/pulumi/sdk/v3@v$VERSION && GOTOOLCHAIN=local go mod tidy)" >&2
  exit 1
fi
command -v go >/dev/null 2>&1 || { echo "ensure-pulumi: Go toolchain not found (needed to build the Pulumi CLI)" >&2; exit 1; }
echo "ensure-pulumi: building Pulumi CLI v$VERSION into $CACHE (first time only, several minutes)" >&2
mkdir -p "$CACHE/bin"
(
  cd "$WRAPPER"
  # The machine's own Go; never download another toolchain.
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod
  go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" \
    -o "$CACHE/bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
)
mv "$CACHE/bin/pulumi.tmp" "$CACHE/bin/pulumi"
"$CACHE/bin/pulumi" version >&2
echo "$CACHE"
