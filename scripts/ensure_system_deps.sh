#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages the build and tests need that are missing:
#   scripts/ensure_system_deps.sh COMMAND:PACKAGE ...   e.g. cmake:cmake pkg-config:pkg-config
# A COMMAND may also be a pkg-config module written pc/NAME (e.g. pc/opencv4:libopencv-dev) or a
# Python module written py/NAME (e.g. py/ensurepip:python3-venv). Non-interactive; uses sudo when
# not root. Does nothing when everything is present.
set -euo pipefail
missing=()
for spec in "$@"; do
  probe=${spec%%:*} package=${spec#*:}
  case "$probe" in
    pc/*) pkg-config --exists "${probe#pc/}" 2>/dev/null && continue ;;
    py/*) "${PYTHON:-python3}" -c "import ${probe#py/}" 2>/dev/null && continue ;;
    *) command -v "$probe" >/dev/null 2>&1 && continue ;;
  esac
  missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
