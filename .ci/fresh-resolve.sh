#!/usr/bin/env bash
# A fresh, unpinned resolve of pyproject.toml's dependencies (what `pip install layerwatch`
# gives a new user today), then every --help and a real scan: a dependency release that
# breaks layerwatch fails CI here before it reaches users. The tests run on the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$(mktemp -d)/venv
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "$ROOT"
LW="$VENV/bin/layerwatch"
"$VENV/bin/pip" list --format=freeze | grep -iE '^(rich|httpx|pydantic|packaging|kopf|fastapi|zstandard|ijson)=' | tr '\n' ' '
echo
for cmd in "" scan sbom rematch db "db update" "db status" "db export" "db import" "db push" "db pull" crds operator webhook server; do
  # shellcheck disable=SC2086
  out=$("$LW" $cmd --help 2>&1) || { echo "layerwatch $cmd --help failed:"; echo "$out"; exit 1; }
  case "$out" in *Traceback*) echo "layerwatch $cmd --help printed a traceback:"; echo "$out"; exit 1 ;; esac
done
work=$(mktemp -d)
mkdir -p "$work/image/etc" "$work/image/lib/apk/db"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.9\n' > "$work/image/etc/os-release"
cp "$ROOT/tests/testdata/pkgdb/apk/alpine-3.16/lib/apk/db/installed" "$work/image/lib/apk/db/installed"
export HOME=$work XDG_CACHE_HOME=$work/cache
"$LW" db update --source alpine --source-url "alpine=file://$ROOT/tests/testdata/feeds/alpine"
set +e
"$LW" scan "dir:$work/image" -o json --file "$work/report.json"
rc=$?
set -e
[ "$rc" -le 1 ] || { echo "scan with freshly resolved dependencies failed (exit $rc)"; exit 1; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['packages'] > 0 and d['coverage']['complete'], d['coverage']" "$work/report.json"
echo "fresh resolve: every --help and a scan work"
