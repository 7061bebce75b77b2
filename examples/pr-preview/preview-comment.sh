#!/usr/bin/env bash
# Runs `pulumi preview --diff` in the current Pulumi project and prints a
# pull-request comment (Markdown) on stdout: the summary, the firewalls that
# change (one line per host), and the diff in a collapsed block. The
# Attachment diffs show changed lines with some context, not whole scripts.
#
#   preview-comment.sh [more `pulumi preview` options] > comment.md
#   gh pr comment "$PR_NUMBER" --body-file comment.md
#
# Exit status: pulumi's (so `--expect-no-changes` can gate a merge).
set -uo pipefail
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
pulumi preview --diff --non-interactive --color=never "$@" >"$out" 2>&1
status=$?
stack="$(pulumi stack --show-name --non-interactive 2>/dev/null || echo '?')"
# "Resources:" is followed by one indented line per kind of change.
summary="$(awk '/^Resources:/ { on = 1; next } on && /^ +[~+-]? *[0-9]+ / { sub(/^ +/, ""); printf "%s%s", sep, $0; sep = ", "; next } on { exit }' "$out")"
# Each Attachment header "<op> ...nftsg:Attachment: (<op>)" is followed by its [urn=...::<name>] line.
hosts="$(awk '/nftsg:Attachment: \(/ { match($0, /\([a-z-]+\)/); op = substr($0, RSTART + 1, RLENGTH - 2); next }
  op != "" && /\[urn=/ { n = $0; sub(/.*::/, "", n); sub(/\].*/, "", n); printf "- `%s`: %s\n", n, op; op = "" }' "$out")"

echo "### \`pulumi preview\` of stack \`$stack\`: ${summary:-failed (exit $status)}"
echo
if [ -n "$hosts" ]; then echo "Firewalls that change:"; echo; echo "$hosts"; else echo "No firewall changes."; fi
echo
echo "<details><summary>Diff</summary>"
echo
echo '```diff'
# The change marker to the first column, where Markdown's diff highlighting looks;
# GitHub comments hold at most 65536 characters.
sed -E 's/^( *)([-+~]) /\2\1 /' "$out" | head -c 60000
echo '```'
echo "</details>"
exit "$status"
