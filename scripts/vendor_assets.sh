#!/usr/bin/env bash
# Fetch the front-end libraries the faces serve under /static/vendor from the npm registry, at
# the versions pinned below, and write VERSIONS.md and SHA256SUMS beside them.
#
#   scripts/vendor_assets.sh          # replace src/memberkit/faces/static/vendor with a fresh copy
#   scripts/vendor_assets.sh --check  # fetch into a temporary folder, compare, exit 1 on a difference
#
# To upgrade a library: change its version here, run the script, run `make test` (the browser
# tests load every vendored file under the pages' Content-Security-Policy), commit the result.
# Files are copied byte for byte from the published tarballs (npm checks each tarball against
# the registry's integrity hash, which VERSIONS.md records); nothing is rebuilt or edited.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/src/memberkit/faces/static/vendor"

# One line per package: name|version|licence|folder|files. A file is a path inside the package,
# copied into the folder under its base name, or "path:target" to choose the target path.
PACKAGES=(
  "@tabler/core|1.6.1|MIT|tabler|dist/css/tabler.min.css dist/js/tabler.min.js"
  "@tabler/icons-webfont|3.49.0|MIT|tabler-icons|dist/tabler-icons.min.css dist/fonts/tabler-icons.woff2:fonts/tabler-icons.woff2 LICENSE"
  "htmx.org|2.0.11|0BSD|htmx|dist/htmx.min.js LICENSE"
  "echarts|6.1.0|Apache-2.0|echarts|dist/echarts.min.js LICENSE NOTICE licenses/LICENSE-d3"
  "swagger-ui-dist|5.35.0|Apache-2.0|swagger-ui|swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt"
)

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$work/vendor"
mkdir -p "$out"

versions="$out/VERSIONS.md"
cat >"$versions" <<'EOF'
# Vendored front-end libraries

Written by `scripts/vendor_assets.sh` (edit the versions there, not here). Every file is copied
unchanged from the package's npm tarball; `SHA256SUMS` lists them and a test checks it.
Served under `/static/vendor/` (see docs/architecture.md, "Faces").

| package | version | licence | folder | tarball integrity |
|---|---|---|---|---|
EOF

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version licence folder files <<<"$entry"
  tarball="$(cd "$work" && npm pack --silent --ignore-scripts "$name@$version" | tail -n 1)"
  integrity="$(npm view --silent "$name@$version" dist.integrity)"
  unpacked="$work/unpacked-$folder"
  mkdir -p "$unpacked" "$out/$folder"
  tar -xzf "$work/$tarball" -C "$unpacked"
  for file in $files; do
    source="${file%%:*}"
    target="${file#*:}"
    [ "$target" = "$file" ] && target="$(basename "$source")"
    mkdir -p "$(dirname "$out/$folder/$target")"
    cp "$unpacked/package/$source" "$out/$folder/$target"
  done
  echo "| \`$name\` | $version | $licence | \`$folder/\` | \`$integrity\` |" >>"$versions"
done

cat >>"$versions" <<'EOF'

`@tabler/core` ships no licence file; the MIT notice is in the header of `tabler.min.css` and
`tabler.min.js`. Tabler Icons: only the outline webfont in WOFF2 (every browser we support reads
it; the stylesheet's WOFF and TTF fallbacks are never requested).
EOF

(cd "$out" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)

if $check; then
  if diff -r "$out" "$DEST"; then
    echo "vendored assets match the pinned versions"
  else
    echo "vendored assets differ from the pinned versions: run scripts/vendor_assets.sh" >&2
    exit 1
  fi
  exit 0
fi

rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -r "$out" "$DEST"
du -sh "$DEST"
