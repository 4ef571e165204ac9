#!/usr/bin/env bash
# Issue #18: the package as a user gets it. Build the wheel, install it into a fresh venv
# (torch 2.13.0 first), then, away from the checkout, run `painterly serve` and check that
# the examples endpoint lists the bundled photos and paintings and serves their thumbnails,
# and `painterly run` a bundled photo at a tiny size. About a minute once pip's cache is warm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 OMP_NUM_THREADS=1

"$PYTHON" -m venv "$WORK/venv"
BIN="$WORK/venv/bin"
# torch first: an unpinned torch from a dependency would pull a multi-GB CUDA build
"$BIN/pip" install -q --no-compile torch==2.13.0
"$BIN/pip" install -q "setuptools>=77"
# The build must not warn about the licence (PEP 639 SPDX field and LICENSE file).
# Built from a copy of the tracked files: an in-tree build would leave build/ in the checkout.
mkdir "$WORK/src"
git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 cp --parents -P -t "$WORK/src")
"$BIN/pip" wheel --no-deps --no-build-isolation -v -w "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log"; exit 1; }
if grep -i "deprecat" "$WORK/build.log" | grep -i "licen"; then
    echo "wheel_check: the build warns about the licence field" >&2
    exit 1
fi
WHEEL=$(ls "$WORK"/dist/painterly-*.whl)
"$BIN/pip" install -q --no-compile "$WHEEL[web]"

cd "$WORK"  # nothing may come from the checkout's src/ or examples/ from here on
"$BIN/python" - <<'PY'
import painterly, pathlib, sys
here = pathlib.Path(painterly.__file__).resolve()
assert "site-packages" in str(here), f"painterly imported from {here}, not the installed wheel"
PY
EXAMPLES=$("$BIN/python" -c "import painterly, pathlib; print(pathlib.Path(painterly.__file__).parent / 'examples')")
test -f "$EXAMPLES/content/chelsea.jpg" || { echo "wheel_check: no bundled examples in the wheel" >&2; exit 1; }

PORT=$("$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$BIN/painterly" serve --port "$PORT" --data-dir "$WORK/studio" >"$WORK/serve.log" 2>&1 &
SERVER=$!
"$BIN/python" - "$PORT" <<'PY' || { cat "$WORK/serve.log"; exit 1; }
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(120):  # the server imports torch: give it up to a minute
    try:
        options = json.load(urllib.request.urlopen(base + "/api/options", timeout=5))
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("wheel_check: painterly serve did not answer")
examples = options["examples"]
assert examples["content"] and examples["styles"], f"no examples listed: {examples}"
for kind in ("content", "styles"):
    item = examples[kind][0]
    with urllib.request.urlopen(base + item["url"], timeout=10) as reply:
        body = reply.read()
        assert reply.status == 200 and reply.headers["content-type"].startswith("image/"), item
        assert len(body) > 1000, item
page = urllib.request.urlopen(base + "/", timeout=10).read()
assert b"<html" in page.lower(), "the studio page is missing"
print(f"serve: {len(examples['content'])} photos and {len(examples['styles'])} paintings, thumbnails served")
PY
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

"$BIN/painterly" run "$EXAMPLES/content/chelsea.jpg" "$EXAMPLES/styles/starry_night.jpg" \
    -o "$WORK/tiny.png" --size 48 --iterations 3 -q
test -s "$WORK/tiny.png" && test -s "$WORK/tiny.json"
echo "wheel_check: ok ($(basename "$WHEEL"))"
