#!/usr/bin/env bash
# Reads the output of examples/c/explain_blob and checks that the brightest cell ('@') of the
# class 0 map is in the top-right quadrant and that of the class 1 map in the bottom-left one.
set -euo pipefail
awk '
  /^class 0/ { map = 0; row = 0; next }
  /^class 1/ { map = 1; row = 0; next }
  map != "" && /^[ .:=+*#%@-]+$/ {
    col = index($0, "@")
    if (col > 0) { found[map] = 1; top[map] = (row < 8); right[map] = (col > 16) }
    row++
  }
  END {
    ok = found[0] && found[1] && top[0] && right[0] && !top[1] && !right[1]
    print ok ? "explain_blob: peaks where the objects are" : "explain_blob: FAIL, peaks misplaced"
    exit ok ? 0 : 1
  }'
