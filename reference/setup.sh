#!/usr/bin/env bash
# Installs the Debian packages the reference needs (when missing), then runs its tests.
# Extra arguments go to unittest, e.g. ./setup.sh -v or ./setup.sh -p "test_kv*".
set -euo pipefail
cd "$(dirname "$0")"

packages=(python3-torch python3-numpy python3-sentencepiece python3-pil libopenblas0-pthread)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Debian's python3-torch lives in the system interpreter's dist-packages, invisible to other pythons.
exec /usr/bin/python3 -m unittest discover -s tests "$@"
