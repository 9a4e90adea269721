#!/usr/bin/env bash
# Checks what examples/cpp/explain_opencv printed (stdin) for bindings/python/scorecam/models/data/sample_image_01.jpg, a
# dog above a cat, explained for at least one dog class and one cat class:
#   - the most probable class is a dog (ImageNet 151..268);
#   - the map of every dog class peaks in the upper half of the image, that of every cat class
#     (281 tabby, 282 tiger cat) in the lower half;
#   - every PNG it wrote decodes to an image of the input size (checked by PNG_CHECK).
#   explain_opencv ... | scripts/check_opencv_example.sh PNG_CHECK [SIZE]
set -euo pipefail
png_check=$1 size=${2:-224}
out=$(cat)
printf '%s\n' "$out"

printf '%s\n' "$out" | awk -v size="$size" '
  function value(field) { sub(/^[a-z]+=/, "", field); return field + 0 }
  function dog(c) { return c >= 151 && c <= 268 }
  function cat(c) { return c == 281 || c == 282 }
  /^top class=/ && top == "" { top = value($2) }
  /^peak class=/ {
    c = value($2); y = value($3)
    if (dog(c)) { dogs++; if (y >= size / 2) { print "FAIL: dog class " c " peaks at y=" y ", not in the upper half"; bad = 1 } }
    if (cat(c)) { cats++; if (y < size / 2) { print "FAIL: cat class " c " peaks at y=" y ", not in the lower half"; bad = 1 } }
  }
  END {
    if (top == "") { print "FAIL: no \"top class=\" line"; exit 1 }
    if (!dog(top)) { print "FAIL: top class " top " is not a dog (151..268)"; bad = 1 }
    if (!dogs) { print "FAIL: no dog class explained"; bad = 1 }
    if (!cats) { print "FAIL: no cat class (281, 282) explained"; bad = 1 }
    if (bad) exit 1
    print "ok: top class " top " is a dog; " dogs " dog map(s) peak in the upper half, " cats " cat map(s) in the lower half"
  }' >&2

pngs=$(printf '%s\n' "$out" | sed -n 's/^wrote //p')
[[ -n $pngs ]] || { echo "FAIL: no PNG written" >&2; exit 1; }
# shellcheck disable=SC2086
"$png_check" "$size" "$size" $pngs >&2
