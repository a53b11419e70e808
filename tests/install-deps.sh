#!/bin/sh
# Install the Debian 12 packages plughost needs to build and test, if any
# are missing. Used by samples/demo.sh, tests/run-all.sh and .ci/run.
set -eu
# gcc brings its own sanitizer runtimes (ASan, UBSan); g++ builds the C++
# sample plugin; clang and libclang-rt-14-dev (libFuzzer and clang's
# sanitizer runtimes) build the fuzz targets (tests/run-all.sh, pass 5);
# setpriv is in util-linux; tr, sha256sum and wc in coreutils, cmp in
# diffutils; bwrap, the baseline of plughost bench's run.oneshot, in
# bubblewrap; man -l, which renders the man pages in tests/packaging-test.sh
# and tests/install-test.sh, in man-db (with groff-base).
# The sample plugins that use real libraries inside the sandbox
# (samples/meson.build) build against nettle-dev (sha256), zlib1g-dev
# (gzip), libpng-dev (png), libpcre2-dev (grep) and libjansson-dev (json);
# their tests (tests/samples-test.sh, tests/thumbnailer-test.sh) compare
# with gzip, grep and python3 (stdlib only: json.tool, and zlib and struct
# for tests/png-ref.py's own PNG codec).
pkgs="gcc g++ libc6-dev pkg-config meson ninja-build libseccomp-dev libcap-dev libcmocka-dev
      scdoc util-linux coreutils diffutils clang libclang-rt-14-dev bubblewrap man-db
      nettle-dev zlib1g-dev libpng-dev libpcre2-dev libjansson-dev gzip grep python3"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "plughost: installing missing Debian packages:$missing"
sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "plughost: need root (or sudo) to install:$missing" >&2; exit 1; }
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
