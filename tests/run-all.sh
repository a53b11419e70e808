#!/bin/sh
# Build and run the whole test suite, as CI does, requiring the kernel
# features in PH_TEST_REQUIRE below:
#   1. a -Werror build, every suite but slow (the default test setup);
#   2. when run as root, the e2e, sandbox and limits suites again as an
#      unprivileged user (nobody), so the user-namespace path is covered too,
#      confined under the docker-default and no-userns profiles only;
#   3. an ASan+UBSan build, every suite but slow and install (which builds
#      its own plain tree: pass 1 runs it), confined under the no-notify and
#      old-kernel profiles only (suites profile-NAME, tests/meson.build);
#   4. a ThreadSanitizer build of libplughost and the host-side tests only
#      (-Dhost_sanitize=thread; the runner and the plugins stay as they
#      are), running the stress suite and the re-entrancy tests: any report
#      fails the test (TSAN_OPTIONS in tests/meson.build);
#   5. a clang build with -Dfuzz=true: the libFuzzer targets alone
#      (tests/fuzz-*.c), each for a fixed number of inputs (the fuzz suite,
#      about 15 s each, both at once).
# The stress suite is in every pass's default suites (1 and 3 run it too).
# Ends with one line "N passed, M failed" over all five passes (each check
# of a TAP test counting once), and exits nonzero if any test failed.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
./tests/install-deps.sh

# CI's kernel has user namespaces and seccomp user notification: a test
# that would skip for want of either fails instead (tests/testutil.h).
PH_TEST_REQUIRE=userns,notify
export PH_TEST_REQUIRE

passed=0
failed=0
logs=$(mktemp -d /tmp/plughost-tests.XXXXXX)
chmod 755 "$logs"
trap 'rm -rf "$logs" ${udir:+"$udir"}' EXIT

setup() { # DIR OPTIONS...
	dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

# Run one pass (the command in "$@"), show its output, and add meson's
# Ok/Fail/Timeout counts to the totals. A TAP test (tests/cli-test.sh)
# counts once per check: its result line, "... OK 3.47s 33 subtests
# passed" or "... FAIL 3.79s 32/33 subtests passed", replaces the one count
# the summary gave it, and a TAP test that failed stays at least one
# failure (a wrong plan fails with every check passed). The same lines
# again under "Summary of Failures:" are not counted twice.
pass() { # NAME COMMAND...
	name=$1
	shift
	rc=0
	t0=$(date +%s)
	"$@" >"$logs/$name.log" 2>&1 || rc=$?
	cat "$logs/$name.log"
	echo "-- $name: $(($(date +%s) - t0)) s"
	counts=$(awk '
		/^Summary of Failures:/ { summary = 1 }
		/^Ok:/ { ok += $2 }
		/^(Fail|Timeout|Unexpected Pass):/ { bad += $NF }
		!summary && / subtests passed$/ {
			n = split($(NF - 2), c, "/")
			p = c[1]; r = c[n]
			ok += p
			if ($0 ~ / OK +[0-9.]+s /) {
				ok -= 1; bad += r - p
			} else {
				bad += (r - p > 0 ? r - p : 1) - 1
			}
		}
		END { print ok + 0, bad + 0 }' "$logs/$name.log")
	ok=${counts% *}
	bad=${counts#* }
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1 # the build or setup itself failed
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

echo "== 1/5: -Werror build, all suites =="
setup build-test --werror
pass werror meson test -C build-test --print-errorlogs

if [ "$(id -u)" -eq 0 ]; then
	echo "== 2/5: e2e, sandbox and limits suites as user 'nobody' =="
	# Under the two profiles an unprivileged host meets in containers
	# (docker-default, no-userns: no namespace of its own at all); the
	# no-landlock, no-notify and old-kernel fallbacks are the same code
	# as root's, which pass 1 runs, and pass 3 again under ASan.
	udir=$(mktemp -d /tmp/plughost-unpriv.XXXXXX)
	tar -C "$top" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$udir" -xf -
	chown -R nobody:nogroup "$udir"
	chmod 755 "$udir"
	pass unpriv setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env \
		env PH_TEST_REQUIRE="$PH_TEST_REQUIRE" sh -c "cd '$udir' && meson setup build --werror >/dev/null &&
		       meson test -C build --print-errorlogs --suite e2e --suite sandbox --suite limits \
		       --no-suite profile-no-landlock --no-suite profile-no-notify --no-suite profile-old-kernel"
else
	echo "== 2/5: skipped (already unprivileged: step 1 covered it) =="
fi

echo "== 3/5: ASan+UBSan build, all suites but install =="
setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false
# The install suite builds its own plain tree from the source (a --prefix
# install, a subproject), never this sanitized one: here it would repeat
# pass 1's checks exactly, for half a minute. Of the confinement
# profiles, no-notify and old-kernel: their fallbacks (kill mode, what an
# older kernel lacks) are host code, which ASan is here for; the other
# three change what the runner may do, and passes 1 and 2 run them.
pass asan meson test -C build-asan --print-errorlogs --no-suite install \
	--no-suite profile-docker-default --no-suite profile-no-userns --no-suite profile-no-landlock

echo "== 4/5: ThreadSanitizer in libplughost and the host-side tests: stress, reentry =="
setup build-tsan --werror -Dhost_sanitize=thread
pass tsan meson test -C build-tsan --print-errorlogs stress reentry

# libFuzzer is clang's: a build directory of its own, in which only the two
# fuzz targets are built (the rest of the project is the other passes').
echo "== 5/5: libFuzzer targets (clang, -Dfuzz=true): the fuzz suite =="
(
	CC=clang CXX=clang++
	export CC CXX
	setup build-fuzz --werror -Dfuzz=true
)
pass fuzz sh -c "ninja -C build-fuzz tests/fuzz-slot tests/fuzz-msg tests/fuzz-elf tests/fuzz-policy \
		tests/plugins/needs_helper.so tests/plugins/libphhelper.so tests/plugins/echo.so \
		tests/plugins/pie_exe >/dev/null &&
	meson test -C build-fuzz --no-rebuild --print-errorlogs --suite fuzz"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
