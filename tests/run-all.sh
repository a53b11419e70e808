#!/bin/sh
# Build and run the whole test suite, as CI does:
#   1. a -Werror build, every suite;
#   2. when run as root, the e2e, sandbox and limits suites again as an unprivileged
#      user (nobody), so the user-namespace path is covered too;
#   3. an ASan+UBSan build, every suite.
# Exits nonzero if any test fails.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
./tests/install-deps.sh

setup() { # DIR OPTIONS...
	dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

echo "== 1/3: -Werror build, all suites =="
setup build-test --werror
meson test -C build-test --print-errorlogs

if [ "$(id -u)" -eq 0 ]; then
	echo "== 2/3: e2e, sandbox and limits suites as user 'nobody' =="
	udir=$(mktemp -d /tmp/plughost-unpriv.XXXXXX)
	trap 'rm -rf "$udir"' EXIT
	tar -C "$top" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$udir" -xf -
	chown -R nobody:nogroup "$udir"
	chmod 755 "$udir"
	setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env \
		sh -c "cd '$udir' && meson setup build --werror >/dev/null &&
		       meson test -C build --print-errorlogs --suite e2e --suite sandbox --suite limits"
else
	echo "== 2/3: skipped (already unprivileged: step 1 covered it) =="
fi

echo "== 3/3: ASan+UBSan build, all suites =="
setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false
meson test -C build-asan --print-errorlogs
echo "== all test runs passed =="
