#!/usr/bin/env bash
# Fetch the pinned Pico CSS release from the npm registry into the portal's static files
# (shipped in the wheel with its licence). Change PICO_VERSION to upgrade, run, and commit.
set -euo pipefail
PICO_VERSION=2.1.1
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@picocss/pico@$PICO_VERSION" >/dev/null && tar xzf picocss-pico-*.tgz)
target=server/portal/static/pico
mkdir -p "$target"
cp "$work/package/css/pico.min.css" "$work/package/LICENSE.md" "$target/"
echo "$PICO_VERSION" > "$target/VERSION"
echo "Pico CSS $PICO_VERSION in $target"
