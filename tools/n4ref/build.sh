#!/usr/bin/env bash
# Licensed under the Apache License, Version 2.0 (see LICENSE).
# Builds the ITK 5.2 N4 reference N4Ref (N4Ref.cxx: an unchanged copy of the project's shared reference tool
# ../shared/tools/n4ref, the one issue 8 names; CMakeLists.txt: that one's plus the 2D twin N4Ref2D.cxx) into
# BUILD_DIR (default: build/ next to this script) and prints N4Ref's path on its last line (N4Ref2D lies beside it).
# Incremental: an up-to-date build takes about a second.
# Needs the Debian packages libinsighttoolkit5-dev, cmake and g++ (./medprep test installs them).
# usage: build.sh [BUILD_DIR]
#   then: N4Ref in.nii[.gz] out.nii[.gz] [shrink=4] [iterations=50x50x50x50] [bias_out.nii.gz]
#   (Otsu mask of the input, convergence threshold 1e-7, output = input / exp(full-resolution log bias))
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="${1:-$here/build}"
missing=()
for p in libinsighttoolkit5-dev cmake g++; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: the Debian packages ${missing[*]} are missing (apt-get install ${missing[*]})." >&2
  exit 1
fi
mkdir -p "$build"
[ -f "$build/Makefile" ] || cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 >/dev/null
echo "$build/N4Ref"
