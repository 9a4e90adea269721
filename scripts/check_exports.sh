#!/usr/bin/env bash
# Checks the shipped library: it exports only scorecam_* symbols and needs no Swift runtime.
#   scripts/check_exports.sh build/lib/libscorecam.so
set -euo pipefail
lib=${1:?usage: check_exports.sh LIBRARY}

exports=$(readelf -W --dyn-syms "$lib" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") {print $8}' | sed 's/@.*//' | sort -u)
stray=$(grep -v -e '^scorecam_' -e '^SCORECAM_0$' <<<"$exports" || true)
if [[ -n "$stray" ]]; then
  echo "FAIL: $lib exports symbols outside scorecam_*:" >&2
  echo "$stray" | head -20 >&2
  exit 1
fi
header_functions=$(grep -oE '\bscorecam_[a-z_]+\(' include/scorecam.h | tr -d '(' | sort -u)
missing=$(comm -23 <(echo "$header_functions") <(echo "$exports"))
if [[ -n "$missing" ]]; then
  echo "FAIL: declared in include/scorecam.h but not exported: $missing" >&2
  exit 1
fi
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -qi swift <<<"$needed"; then
  echo "FAIL: $lib needs a Swift runtime library:" $needed >&2
  exit 1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ "$soname" == libscorecam.so.* ]] || { echo "FAIL: SONAME is '$soname'" >&2; exit 1; }
echo "exports OK: $(wc -l <<<"$exports") symbols, all scorecam_*; needs only: $(echo $needed); SONAME $soname"
