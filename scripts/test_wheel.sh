#!/bin/sh
# usage: scripts/test_wheel.sh WHEEL AUDITWHEEL
# The wheel as a user gets it: its tag is the one auditwheel finds, the library inside is stripped
# and the licence is there; installed into a fresh venv with no Swift on PATH, the CLI names the
# extra it lacks, then, with the extra, explains the sample image.
set -eu
wheel=$(realpath "$1")
auditwheel=$(realpath "$2")
repo=$(pwd)
work=$repo/build/tests/wheel
rm -rf "$work"
mkdir -p "$work"
fail() { echo "test-wheel: $*" >&2; exit 1; }

# 1. The tag: py3-none (ctypes, any Python 3) and the lowest manylinux auditwheel allows.
"$auditwheel" show "$wheel" > "$work/audit.txt" 2>&1 || { cat "$work/audit.txt"; fail "auditwheel show failed"; }
cat "$work/audit.txt"
policy=$(tr '\n' ' ' < "$work/audit.txt" | sed -n 's/.*consistent with the following platform tag: *"\([^"]*\)".*/\1/p')
[ -n "$policy" ] || fail "auditwheel names no platform tag"
case $(basename "$wheel") in
    scorecam-*-py3-none-"$policy".whl) echo "tag: py3-none-$policy" ;;
    *) fail "$(basename "$wheel") is not tagged py3-none-$policy" ;;
esac

# 2. Contents: the licence, the stripped library, the version file.
python3 - "$wheel" "$work" <<'EOF'
import sys, zipfile
wheel, work = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "no LICENSE in the wheel"
    assert "MIT License" in z.read(next(n for n in names if n.endswith("licenses/LICENSE"))).decode()
    assert "scorecam/_version.py" in names, "no _version.py in the wheel"
    for page in ("index.html", "report.css", "report.js"):  # the dataset report's page
        assert f"scorecam/dataset/report/{page}" in names, f"no report/{page} in the wheel"
    with open(f"{work}/libscorecam.so", "wb") as f:
        f.write(z.read("scorecam/libscorecam.so"))
EOF
if readelf -S "$work/libscorecam.so" | grep -q '\.symtab'; then fail "the library in the wheel is not stripped"; fi
echo "contents: LICENSE, stripped libscorecam.so ($(du -k "$work/libscorecam.so" | cut -f1) KiB), _version.py"

# 3. A fresh venv, no Swift on PATH, nothing of the checkout in reach.
path=
for dir in $(echo "$PATH" | tr ':' ' '); do
    [ -x "$dir/swift" ] || path=${path:+$path:}$dir
done
run() { (cd "$work" && env -u SCORECAM_LIBRARY -u PYTHONPATH -u VIRTUAL_ENV PATH="$path" \
    SCORECAM_CACHE_DIR="$work/cache" "$@"); }
if run sh -c 'command -v swift' > /dev/null; then fail "swift is still on PATH"; fi
run python3 -m venv "$work/venv"
run "$work/venv/bin/python" -m pip install --quiet "$wheel"
# The sample photo ships inside the wheel (the quick starts use it).
image=$(run "$work/venv/bin/python" -c "from scorecam.models import ModelBundle; print(ModelBundle.sample_image())")
case "$image" in "$work/venv/"*) [ -s "$image" ] || fail "the sample photo is missing from the wheel" ;;
                 *) fail "the sample photo is not the wheel's: $image" ;; esac

# 4. Without its extra, the CLI says which one, in one line.
status=0
run "$work/venv/bin/scorecam" explain "$image" --class 243 -o "$work/out" > "$work/bare.out" 2> "$work/bare.err" || status=$?
cat "$work/bare.err"
[ "$status" -eq 1 ] && [ "$(wc -l < "$work/bare.err")" -eq 1 ] && grep -q "pip install 'scorecam\[cli\]'" "$work/bare.err" \
    || fail "without the cli extra: expected one line naming scorecam[cli], exit 1 (got $status)"

# 5. With it, the CLI explains the sample image: a bull mastiff on top.
run "$work/venv/bin/python" -m pip install --quiet "$wheel[cli]"
run "$work/venv/bin/python" -m scorecam explain "$image" --class 243 --cskip 16 -o "$work/out" | tee "$work/cli.out"
grep -q "predicted 243 bull mastiff" "$work/cli.out" || fail "the CLI did not predict 243 bull mastiff"
[ -s "$work/out/sample_image_01_243_bull_mastiff.png" ] || fail "no overlay written"
run "$work/venv/bin/python" -c "import scorecam, sys; print('scorecam', scorecam.__version__, 'from', scorecam.__file__); \
sys.exit(not scorecam.__file__.startswith('$work/venv/'))"
echo "test-wheel: ok"
