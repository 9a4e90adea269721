#!/bin/sh
# usage: scripts/test_sdist.sh SDIST
# The sdist and `pip install -e`: where Swift is missing, installing fails at once with one line
# saying what is needed; where it is present, the sdist builds the library itself and installs, and
# an editable install runs from the checkout with the checkout's library.
set -eu
sdist=$(realpath "$1")
repo=$(pwd)
work=$repo/build/tests/sdist
rm -rf "$work"
mkdir -p "$work"
fail() { echo "test-sdist: $*" >&2; exit 1; }

# 1. Contents: the package, the licence, and the library's sources under native/.
tar -tzf "$sdist" > "$work/contents.txt"
for member in setup.py pyproject.toml LICENSE PKG-INFO scorecam/_lib.py native/Package.swift native/Makefile \
              native/LICENSE native/include/scorecam.h native/Sources/ScoreCAMABI/exports.map \
              native/Sources/_CScoreCAM/include/scorecam.h; do
    grep -q "^scorecam-[0-9.]*/$member\$" "$work/contents.txt" || fail "$member missing from the sdist"
done
if grep -q '/\.build/\|/build/lib/' "$work/contents.txt"; then fail "build outputs in the sdist"; fi
echo "contents: package, LICENSE, native/ ($(grep -c '/native/.*[^/]$' "$work/contents.txt") files)"

# What a user runs: a fresh venv, nothing of ours in the environment, from a scratch directory.
no_swift=
for dir in $(echo "$PATH" | tr ':' ' '); do
    [ -x "$dir/swift" ] || no_swift=${no_swift:+$no_swift:}$dir
done
in_work() { (cd "$work" && env -u SCORECAM_LIBRARY -u PYTHONPATH -u VIRTUAL_ENV "$@"); }
smoke='import numpy as np, scorecam, sys
x = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
with scorecam.Explainer(lambda b: b.reshape(len(b), -1).sum(1, keepdims=True)) as e:
    maps = e.explain(x, x.copy(), 0)
print("scorecam", scorecam.__version__, "from", scorecam.__file__, "maps", maps.shape)
sys.exit(maps.shape != (2, 2) or not scorecam.__file__.startswith(sys.argv[1]))'

# 2. Without Swift: the sdist and an editable install fail at install time, naming what is needed.
in_work env PATH="$no_swift" python3 -m venv "$work/bare"
for target in "$sdist" "-e $repo/bindings/python"; do
    status=0
    # shellcheck disable=SC2086 # "-e DIR" is two words
    in_work env PATH="$no_swift" "$work/bare/bin/python" -m pip install --no-deps $target > "$work/bare.log" 2>&1 || status=$?
    line=$(grep '^ *scorecam: building libscorecam from source needs Swift 6\.x' "$work/bare.log" || true)
    [ "$status" -ne 0 ] && [ -n "$line" ] || { cat "$work/bare.log"; fail "pip install $target without Swift: no clear failure"; }
    echo "without Swift, pip install $target fails (status $status):"
    echo "$line"
done
in_work "$work/bare/bin/python" -c "import scorecam" 2>/dev/null && fail "a failed install left a package behind"

# 3. With Swift: the sdist builds the library (make lib in native/) and installs.
in_work python3 -m venv "$work/venv"
in_work "$work/venv/bin/python" -m pip install --quiet "$sdist" > "$work/sdist-install.log" 2>&1 \
    || { cat "$work/sdist-install.log"; fail "pip install of the sdist failed where Swift is present"; }
in_work "$work/venv/bin/python" -c "$smoke" "$work/venv/"

# 4. Editable, with Swift: the package runs from the checkout, with the checkout's build/lib.
in_work "$work/venv/bin/python" -m pip install --quiet -e "$repo/bindings/python" > "$work/editable.log" 2>&1 \
    || { cat "$work/editable.log"; fail "pip install -e failed where Swift is present"; }
in_work "$work/venv/bin/python" -c "$smoke" "$repo/bindings/python/"
echo "test-sdist: ok"
