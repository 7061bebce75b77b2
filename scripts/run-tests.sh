#!/usr/bin/env bash
# `npm test`: build, run every test (unit, lab, end to end), and finish with
# one plain summary line ("tests: N passed, N failed, N skipped").
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run build --silent || { echo "tests: 0 passed, 1 failed (the TypeScript build failed)"; exit 1; }
# Every Node.js process the tests start (Pulumi programs, the dynamic
# provider, the lab's tools) loads @pulumi/pulumi afresh: Node 22's compile
# cache, kept outside the repository, saved 22-25% of the user CPU of that
# load here (8 loads of @pulumi/pulumi and dist/index.js, side by side).
# Node 20 ignores the variable.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nftsg/node-compile-cache}"
results="dist/vitest-results.json"
rm -f "$results"
vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
rc=$?
node -e '
  const fs = require("fs");
  const f = process.argv[1];
  if (!fs.existsSync(f)) { console.log("tests: 0 passed, 1 failed (no results: the runner did not finish)"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results"
exit $rc
