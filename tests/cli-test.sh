#!/bin/sh
# The CLI against the reference tools: a 100 MiB input through upper and
# sha256 must equal `tr a-z A-Z` and `sha256sum`; errors must be one clear
# line with the documented exit code.
#
# Speaks TAP (registered with protocol 'tap'): the plan, then one
# "ok N - ..." or "not ok N - ..." line per check, details as "# " lines
# (and on stderr, which meson --print-errorlogs shows). The plan is fixed,
# so a check that never ran (the script died early, or a check was
# dropped) fails the test as surely as one that failed. The verdict is in
# the TAP lines: the exit status is 0 once every check has been reported,
# so that meson shows how many passed ("32/33 subtests passed"), and
# nonzero only if the script died before its end.
set -eu
PLUGHOST=$1
dir=$(echo "$PH_PLUGIN_DIR" | cut -d: -f1)
tdir=$(echo "$PH_PLUGIN_DIR" | cut -d: -f2)
. "${0%/*}/tap.sh" # $work, ok, bad, check

echo "1..96" # one per ok/bad below


# expect NAME WANT_RC WANT_STDERR_SUBSTRING -- command...
expect() {
	name=$1 want_rc=$2 want_err=$3
	shift 4
	rc=0
	"$@" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		bad "$name" "exit $rc, wanted $want_rc; stderr: $(cat "$work/err")"
	elif [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$work/err"; then
		bad "$name" "stderr lacks '$want_err': $(cat "$work/err")"
	elif [ -n "$want_err" ] && [ "$(wc -l <"$work/err")" -ne 1 ]; then
		bad "$name" "error is not one line: $(cat "$work/err")"
	else
		ok "$name"
	fi
}

head -c 100M /dev/urandom >"$work/big"
rc=0
"$PLUGHOST" run "$dir/upper.so" --input "$work/big" >"$work/up" 2>"$work/err" || rc=$?
tr a-z A-Z <"$work/big" >"$work/up.ref"
if [ "$rc" -eq 0 ] && cmp -s "$work/up" "$work/up.ref"; then ok "upper 100 MiB equals tr a-z A-Z"; else bad "upper 100 MiB equals tr a-z A-Z" "exit $rc, output differs from tr; stderr: $(cat "$work/err")"; fi

got=$("$PLUGHOST" run "$dir/sha256.so" --input "$work/big" 2>&1) || true
want=$(sha256sum <"$work/big")
if [ "$got" = "$want" ]; then ok "sha256 100 MiB equals sha256sum"; else bad "sha256 100 MiB equals sha256sum" "'$got' != '$want'"; fi

printf 'one two\nthree\n' >"$work/small"
got=$("$PLUGHOST" run "$dir/wc.so" -i "$work/small" 2>&1) || true
want=$(cat "$work/small" | wc) # a pipe: wc pads columns to 7
if [ "$got" = "$want" ]; then ok "wc equals wc"; else bad "wc equals wc" "'$got' != '$want'"; fi

got=$(printf 'from stdin' | "$PLUGHOST" run "$dir/upper.so" -i - 2>&1) || true
if [ "$got" = "FROM STDIN" ]; then ok "input from stdin"; else bad "input from stdin" "got '$got'"; fi

# A piped standard input streams to a plugin that reads streams: the
# digest is sha256sum's, and -v says it streamed it all.
want=$(sha256sum <"$work/big")
got=$(cat "$work/big" | "$PLUGHOST" run "$dir/sha256.so" --input - 2>&1) || true
if [ "$got" = "$want" ]; then ok "cat F | sha256 --input - equals sha256sum"; else bad "cat F | sha256 --input - equals sha256sum" "'$got' != '$want'"; fi
rc=0
cat "$work/big" | "$PLUGHOST" run "$dir/sha256.so" --input - -v >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && grep -qF "streamed 104857600 bytes of standard input, to its end" "$work/err"; then ok "-v says stdin was streamed"; else bad "-v says stdin was streamed" "exit $rc; stderr: $(cat "$work/err")"; fi
# A regular file on standard input is read whole, as a sealed memfd.
rc=0
"$PLUGHOST" run "$dir/sha256.so" --input - -v <"$work/big" >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && [ "$(cat "$work/out")" = "$want" ] && ! grep -q "streamed" "$work/err"; then ok "a file on stdin is read whole"; else bad "a file on stdin is read whole" "exit $rc; stdout: $(cat "$work/out"); stderr: $(cat "$work/err")"; fi
# A plugin that does not read streams gets a piped standard input whole.
got=$(printf 'b a b' | "$PLUGHOST" run "$dir/wordfreq.so" -m top --input - 2>&1) || true
if [ "$got" = "$(printf '2 b\n1 a')" ]; then ok "a pipe to a plugin without streams is read whole"; else bad "a pipe to a plugin without streams is read whole" "got '$got'"; fi
rc=0
printf 'x' | "$PLUGHOST" run "$dir/sha256.so" --input - --input - >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 2 ] && grep -qF "'--input -' can be given only once" "$work/err"; then ok "a streamed stdin is given once"; else bad "a streamed stdin is given once" "exit $rc; stderr: $(cat "$work/err")"; fi

expect "missing descriptor" 3 "cannot load '$tdir/nodesc.so': the plugin failed to load (reported by the sandboxed process): not a plughost plugin (missing descriptor" -- "$PLUGHOST" run "$tdir/nodesc.so"
expect "no such plugin" 3 "cannot load '$work/none.so': No such file or directory" -- "$PLUGHOST" run "$work/none.so"
expect "not ELF" 3 "not an ELF file" -- "$PLUGHOST" run "$work/small"
# A crash: one line saying so, then only the backtrace's lines (issue 11).
rc=0
"$PLUGHOST" run "$tdir/echo.so" --method crash >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 4 ] && [ "$(head -n 1 "$work/err")" = "plughost: plugin 'echo' crashed: SIGSEGV (Segmentation fault) at 0x40 (address not mapped)" ] &&
	! tail -n +2 "$work/err" | grep -q -v -e '^#[0-9]' -e '^   ' -e '^backtrace of thread '; then
	ok "crash"
else bad "crash" "exit $rc; stderr: $(cat "$work/err")"; fi
rc=0
"$PLUGHOST" run "$tdir/crasher.so" -m deep >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 4 ] && grep -q "^#0  0x[0-9a-f]*  crash_here+0x[0-9a-f]* (crasher.so+0x[0-9a-f]*)$" "$work/err" &&
	grep -q "  crash_outer+0x" "$work/err" && grep -q "  do_deep+0x" "$work/err"; then
	ok "crash backtrace names the plugin's functions"
else bad "crash backtrace names the plugin's functions" "exit $rc; stderr: $(cat "$work/err")"; fi
rc=0
"$PLUGHOST" run "$tdir/crasher.so" -m deep --json="$work/crash.json" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 4 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "crashed", d["kind"]
assert "crash_here+0x" in d["backtrace"].splitlines()[1], d["backtrace"]
' "$work/crash.json" >"$work/err" 2>&1; then ok "json backtrace after a crash"; else
	bad "json backtrace after a crash" "exit $rc; $(cat "$work/err" "$work/crash.json")"
fi
expect "plugin error" 1 "plugin 'echo' returned error 42: asked to fail" -- "$PLUGHOST" run "$tdir/echo.so" -m fail
expect "exited" 5 "plugin 'echo' exited with status 3" -- "$PLUGHOST" run "$tdir/echo.so" -m exit
expect "no such method" 2 "has no method 'nope'" -- "$PLUGHOST" run "$tdir/echo.so" -m nope
expect "ambiguous method" 2 "choose one with --method" -- "$PLUGHOST" run "$tdir/echo.so"
expect "missing input file" 2 "cannot read input '$work/absent'" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/absent"
# Inputs are bounded (hole 4): an endless one stops at the limit, a file
# larger than it is refused before a byte is read.
expect "endless input" 2 "plughost: input '/dev/zero' is larger than the input limit (1 MiB, set by --max-input; see --max-input)" -- "$PLUGHOST" run "$dir/upper.so" -i /dev/zero --max-input 1M
expect "endless stdin" 2 "input 'standard input' is larger than the input limit (64 KiB" -- sh -c '"$0" run "$1" -i - --max-input 64K </dev/zero' "$PLUGHOST" "$dir/upper.so"
truncate -s 1T "$work/huge"
expect "input over the default limit" 2 "is larger than the input limit (" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/huge"
grep -qF "half the available memory; see --max-input)" "$work/err" && ok "default input limit named" || bad "default input limit: $(cat "$work/err")"
expect "input within --max-input" 0 "" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/small" --max-input 14
expect "input one byte over --max-input" 2 "(13 bytes, set by --max-input" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/small" --max-input 13
printf 'open_passwd' >"$work/attack"
expect "violation" 7 "plughost: plugin 'hostile' violated the sandbox: openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC, 00) (as read at the time of the call); hint: files are granted with --allow-read PATH — killed" -- "$PLUGHOST" run "$tdir/hostile.so" -m attack -i "$work/attack"
if grep -q "^reached open_passwd$" "$work/out"; then ok "violation: the attack ran"; else bad "violation: the attack ran" "stdout: $(cat "$work/out")"; fi
expect "constructor violation" 7 "violated the sandbox: socket(AF_INET" -- "$PLUGHOST" run "$tdir/ctor_attack.so"
# A plugin's printf() is a log line on stderr, not a violation (issue 11).
rc=0
"$PLUGHOST" run "$tdir/chatty.so" -m print >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && [ "$(cat "$work/out")" = "ring ok" ] &&
	grep -qF "plughost: [chatty] info: stdout: hello from stdout" "$work/err" &&
	grep -qF "plughost: [chatty] warning: stderr: hello from stderr" "$work/err" &&
	grep -qF "plughost: [plugin] info: stdout: chatty ctor: loading" "$work/err"; then
	ok "plugin stdout and stderr as log lines"
else bad "plugin stdout and stderr as log lines" "exit $rc; stdout: $(cat "$work/out"); stderr: $(cat "$work/err")"; fi
# Limits: each its own line and exit code.
expect "timeout" 8 "plugin 'limits' ran past its deadline (300 ms) — killed" -- "$PLUGHOST" run "$tdir/limits.so" -m spin --timeout 300ms
expect "timeout in a syscall" 8 "ran past its deadline (300 ms)" -- "$PLUGHOST" run "$tdir/limits.so" -m sleep --timeout 300ms
expect "cpu limit" 9 "plugin 'limits' used up its CPU time" -- "$PLUGHOST" run "$tdir/limits.so" -m spin --cpu 200ms
expect "memory limit" 10 "plugin 'limits' went over its memory limit" -- "$PLUGHOST" run "$tdir/limits.so" -m malloc --memory 64M
expect "output limit" 11 "plugin 'limits' wrote more output than allowed (65536 bytes)" -- "$PLUGHOST" run "$tdir/limits.so" -m flood --output-limit 64K
if [ "$(wc -c <"$work/out")" -eq 65536 ]; then ok "output limit: exactly the quota on stdout"; else bad "output limit: exactly the quota on stdout" "$(wc -c <"$work/out") bytes on stdout"; fi
expect "fd limit" 12 "plugin 'limits' reached its open-fd limit" -- "$PLUGHOST" run "$tdir/limits.so" -m fds --max-fds 20
expect "thread limit" 13 "plugin 'limits' reached its thread limit" -- "$PLUGHOST" run "$tdir/limits.so" -m threads --threads
expect "bad duration" 2 "invalid --timeout 'abc'" -- "$PLUGHOST" run "$tdir/limits.so" -m ok --timeout abc
expect "bad size" 2 "invalid --memory '64MB'" -- "$PLUGHOST" run "$tdir/limits.so" -m ok --memory 64MB
rc=0
"$PLUGHOST" run "$tdir/limits.so" -m spin --timeout 200ms --json="$work/result.json" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 8 ] && grep -q '^{"kind":"timeout",' "$work/result.json"; then ok "json result"; else bad "json result" "rc $rc, $(cat "$work/result.json" 2>&1)"; fi
# Its metrics object: that instance's counters (docs/metrics.md); and an
# ok run's bytes in and out, exact.
printf 'hello, metrics\n' >"$work/m.in"
"$PLUGHOST" run "$dir/upper.so" -i "$work/m.in" --json="$work/ok.json" >/dev/null 2>&1 || true
if python3 - "$work/result.json" "$work/ok.json" <<'PY' >"$work/err" 2>&1; then ok "json metrics"; else bad "json metrics" "$(cat "$work/err")"; fi
import json, sys
t = json.load(open(sys.argv[1]))["metrics"]
o = json.load(open(sys.argv[2]))["metrics"]
assert (t["calls"], t["spawns"], t["limits_hit"]) == (1, 1, 1), t
assert t["results"]["timeout"] == 1 and t["ends"]["timeout"] == 1, t
assert (o["calls"], o["results"]["ok"], o["bytes_in"], o["bytes_out"]) == (1, 1, 15, 15), o
assert o["limits_hit"] == o["crashes"] == o["violations"] == 0, o
PY

# File grants: a granted file reads back byte-identical, -v lists it, an
# ungranted one is a violation; a bad grant names its path.
head -c 70000 /dev/urandom >"$work/grant.bin"
chmod 0755 "$work"
printf '%s' "$work/grant.bin" >"$work/grant.path"
rc=0
"$PLUGHOST" run "$tdir/files.so" -m cat -i "$work/grant.path" --allow-read "$work/grant.bin" -v >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && cmp -s "$work/out" "$work/grant.bin"; then ok "--allow-read: the file reads back byte-identical"; else bad "--allow-read: the file reads back byte-identical" "exit $rc; stderr: $(cat "$work/err")"; fi
if grep -qF "granted read-only: $work/grant.bin" "$work/err"; then ok "-v lists the grant"; else bad "-v lists the grant" "stderr: $(cat "$work/err")"; fi
expect "no grant: open is a violation" 7 "violated the sandbox: openat(AT_FDCWD" -- "$PLUGHOST" run "$tdir/files.so" -m cat -i "$work/grant.path"
expect "missing grant" 3 "cannot grant '$work/nope' (allow_read): No such file or directory" -- "$PLUGHOST" run "$tdir/files.so" -m cat -i "$work/grant.path" --allow-read "$work/nope"
# Load errors name the file as given, never its path in the sandbox.
expect "load error names the file" 3 "$tdir/undef.so: undefined symbol: ph_test_symbol_nobody_defines" -- "$PLUGHOST" run "$tdir/undef.so"
if ! grep -qF "/plugin/" "$work/err"; then ok "load error: no sandbox path"; else bad "load error: no sandbox path" "stderr: $(cat "$work/err")"; fi
cp "$tdir/pie_exe" "$work/program.so"
expect "PIE renamed .so" 3 "a position-independent executable, not a shared object (build it with -shared)" -- "$PLUGHOST" run "$work/program.so"
mkdir "$work/libless"
cp "$tdir/needs_helper.so" "$work/libless/"
expect "missing library" 3 "needs 'libphhelper.so', which is neither in $work/libless (\$ORIGIN) nor in the system's library directories" -- "$PLUGHOST" run "$work/libless/needs_helper.so"

# The bench, quick: it must run to its end and print one JSON document.
rc=0
"$PLUGHOST" bench --quick --json >"$work/bench.json" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && python3 -m json.tool "$work/bench.json" >/dev/null 2>&1; then ok "bench --quick --json"; else bad "bench --quick --json" "exit $rc; stdout: $(head -c 300 "$work/bench.json"); stderr: $(tail -n 5 "$work/err")"; fi

expect "no command" 2 "missing command" -- "$PLUGHOST"
expect "unknown command" 2 "unknown command 'frob'" -- "$PLUGHOST" frob
expect "run without plugin" 2 "needs a plugin file" -- "$PLUGHOST" run
expect "bad option" 2 "" -- "$PLUGHOST" run --bogus x.so
expect "help" 0 "" -- "$PLUGHOST" --help
if grep -q "Exit status" "$work/out"; then ok "help lists exit codes"; else bad "help lists exit codes" "stdout: $(cat "$work/out")"; fi


# ---- issue 11: the CLI blames the right party, and says what to do.

# plughost's own output fails: on a closed pipe it does what cat does
# (dies of SIGPIPE when that is not ignored: 141 from the shell; prints a
# write error and exits 1 when it is), and never blames the plugin.
sh -c 'env --default-signal=PIPE "$0" run "$1" -i "$2" 2>"$3"; echo $? >"$4"' \
	"$PLUGHOST" "$dir/upper.so" "$work/big" "$work/err" "$work/rc" | head -c 1 >/dev/null
rc=$(cat "$work/rc")
if [ "$rc" -eq 141 ] && [ ! -s "$work/err" ]; then ok "| head -c 1: dies of SIGPIPE, as cat"; else bad "| head -c 1: dies of SIGPIPE, as cat" "exit $rc; stderr: $(cat "$work/err")"; fi
# The issue's own check, with whatever SIGPIPE this shell was given.
"$PLUGHOST" run "$dir/upper.so" -i "$work/big" 2>"$work/err" | head -c 1 >/dev/null
if ! grep -qi "crash\|plugin" "$work/err"; then ok "run upper.so -i F | head -c 1 blames no plugin"; else bad "run upper.so -i F | head -c 1 blames no plugin" "stderr: $(cat "$work/err")"; fi
sh -c 'trap "" PIPE; "$0" run "$1" -i "$2" 2>"$3"; echo $? >"$4"' \
	"$PLUGHOST" "$dir/upper.so" "$work/big" "$work/err" "$work/rc" | head -c 10 >/dev/null
rc=$(cat "$work/rc")
if [ "$rc" -eq 1 ] && [ "$(cat "$work/err")" = "plughost: write error: Broken pipe" ]; then ok "| head, SIGPIPE ignored: write error, exit 1"; else bad "| head, SIGPIPE ignored: write error, exit 1" "exit $rc; stderr: $(cat "$work/err")"; fi
expect "output to /dev/full" 1 "plughost: write error: No space left on device" -- sh -c '"$0" run "$1" -i "$2" --json="$3" >/dev/full' "$PLUGHOST" "$dir/upper.so" "$work/big" "$work/full.json"
if ! grep -qi "crash\|plugin" "$work/err" && grep -q '^{"kind":"output-failed","code":28,' "$work/full.json"; then ok "/dev/full: no blame, json output-failed"; else bad "/dev/full: no blame, json output-failed" "stderr: $(cat "$work/err"); json: $(cat "$work/full.json")"; fi
expect "--help to /dev/full" 1 "plughost: write error: No space left on device" -- sh -c '"$0" --help >/dev/full' "$PLUGHOST"

# Ctrl-C: a real SIGINT during a long call ends it (a sleeping plugin,
# then a spinning one), with one line, a JSON result, exit 130, and the
# instance gone. env resets SIGINT, which sh ignores in background jobs.
for m in sleep spin; do
	rm -f "$work/int.json"
	env --default-signal=INT "$PLUGHOST" run "$tdir/limits.so" -m $m -v --json="$work/int.json" >/dev/null 2>"$work/err" &
	pid=$!
	# Until it reported its instance (the call starts right after).
	i=0
	while ! grep -q ", pid [0-9]*," "$work/err" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	sleep 0.2
	kill -INT $pid
	rc=0
	wait $pid || rc=$?
	ipid=$(sed -n 's/.*, pid \([0-9]*\), .*/\1/p' "$work/err")
	if [ "$rc" -eq 130 ] && grep -qx "plughost: interrupted" "$work/err" && grep -q '^{"kind":"interrupted",' "$work/int.json" && [ -n "$ipid" ] && [ ! -d "/proc/$ipid" ]; then ok "SIGINT ends a call ($m): exit 130, one line, json, instance gone"; else bad "SIGINT ends a call ($m): exit 130, one line, json, instance gone" "exit $rc; instance pid '$ipid'; stderr: $(cat "$work/err"); json: $(cat "$work/int.json" 2>&1)"; fi
done

# Usage errors exit 2, each naming what was wrong.
expect "unknown command: the closest" 2 "unknown command 'rn'; did you mean 'run'?" -- "$PLUGHOST" rn
expect "empty --method" 2 "--method needs a method name" -- "$PLUGHOST" run "$tdir/echo.so" -m ''
expect "--max-fds below the minimum" 2 "--max-fds 10 is below the sandbox's minimum of 11" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/small" --max-fds 10
expect "--max-fds at the minimum runs" 0 "" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/small" --max-fds 11
expect "ambiguous option" 2 "option '--max' is ambiguous for 'run': it could mean '--max-fds', '--max-input'" -- "$PLUGHOST" run "$dir/upper.so" --max 3
expect "unknown option: the closest" 2 "unknown option '--timout' for 'run'; did you mean '--timeout'?" -- "$PLUGHOST" run "$dir/upper.so" --timout 3
expect "--method twice" 2 "option '--method' given twice ('a', then 'b')" -- "$PLUGHOST" run "$tdir/echo.so" -m a --method b
expect "--timeout twice" 2 "option '--timeout' given twice ('1s', then '2s')" -- "$PLUGHOST" run "$tdir/echo.so" --timeout 1s --timeout 2s
expect "'-i -' twice" 2 "'--input -' can be given only once" -- sh -c '"$0" run "$1" -i - -i - <"$2"' "$PLUGHOST" "$dir/upper.so" "$work/small"
expect "a second plugin" 2 "unexpected argument '$dir/wc.so'" -- "$PLUGHOST" run "$dir/upper.so" "$dir/wc.so"
expect "-v with -q" 2 "-v and -q cannot be given together" -- "$PLUGHOST" run "$tdir/echo.so" -v -q
expect "bad --log-level" 2 "invalid --log-level 'loud'" -- "$PLUGHOST" run "$tdir/echo.so" --log-level loud

# The runner: where it was looked for, and one that is not plughost's.
expect "runner not found" 3 "cannot find plughost-runner: tried '$work/no-runner' (PLUGHOST_RUNNER: no such file); PLUGHOST_RUNNER is set" -- env PLUGHOST_RUNNER="$work/no-runner" "$PLUGHOST" run "$dir/upper.so" -i "$work/small"
# Unset, with no runner beside the library (a copy of both, elsewhere,
# found through its $ORIGIN run path: meson's LD_LIBRARY_PATH would
# lead back to the build tree):
# the places tried, each with why not, and that the variable is not set.
mkdir "$work/lone"
cp "$PLUGHOST" "$(dirname "$PLUGHOST")/libplughost.so.1" "$work/lone/"
expect "runner not found, PLUGHOST_RUNNER unset" 3 "cannot find plughost-runner: tried '$work/lone/plughost-runner' (beside libplughost: no such file), '" -- env -u PLUGHOST_RUNNER -u LD_LIBRARY_PATH "$work/lone/plughost" run "$dir/upper.so" -i "$work/small"
if grep -q "(installed: no such file); PLUGHOST_RUNNER is not set" "$work/err"; then ok "runner not found: the installed path too, PLUGHOST_RUNNER not set"; else bad "runner not found: the installed path too, PLUGHOST_RUNNER not set" "stderr: $(cat "$work/err")"; fi
expect "not plughost's runner" 3 "the runner '/bin/true' is not plughost's runner: it exited with status 0 before saying hello" -- env PLUGHOST_RUNNER=/bin/true "$PLUGHOST" run "$dir/upper.so" -i "$work/small"

# Every subcommand has its own --help.
for c in run methods info bench; do
	rc=0
	"$PLUGHOST" $c --help >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" -eq 0 ] && head -n 1 "$work/out" | grep -q "^Usage: plughost $c"; then ok "$c --help"; else bad "$c --help" "exit $rc; stdout: $(head -n 2 "$work/out")"; fi
done
if "$PLUGHOST" run --help | grep -q -- "--max-input SIZE"; then ok "run --help documents --max-input"; else bad "run --help documents --max-input"; fi

# info --json: one JSON object with the runner, every layer, the features.
rc=0
"$PLUGHOST" info --json >"$work/info.json" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] and isinstance(d["wire_protocol"], int), d
assert d["runner"].endswith("plughost-runner"), d["runner"]
assert {"userns", "seccomp", "landlock", "core-sched"} <= set(d["layers"]), d["layers"]
assert all(isinstance(v, bool) for v in d["layers"].values())
assert "seccomp" in d["features"] and isinstance(d["features"]["seccomp"]["available"], bool)
' "$work/info.json" 2>"$work/py"; then ok "info --json"; else bad "info --json" "exit $rc; $(cat "$work/py"); $(head -c 400 "$work/info.json")"; fi

# methods: the plugin's name, version and every method.
rc=0
"$PLUGHOST" methods "$tdir/echo.so" >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && [ "$(head -n 1 "$work/out")" = "echo 1.0" ] && grep -qx "  crash" "$work/out" && [ "$(wc -l <"$work/out")" -eq 10 ]; then ok "methods lists the methods"; else bad "methods lists the methods" "exit $rc; $(cat "$work/out" "$work/err")"; fi
got=$("$PLUGHOST" methods "$dir/upper.so" --json 2>&1) || true
if [ "$got" = '{"name":"upper","version":"1.1","reads_streams":true,"methods":["upper"]}' ]; then ok "methods --json"; else bad "methods --json" "got '$got'"; fi
expect "methods of a non-plugin" 3 "cannot load '$tdir/nodesc.so'" -- "$PLUGHOST" methods "$tdir/nodesc.so"

# -q and --log-level: the plugin's info line is shown by default only.
"$PLUGHOST" run "$tdir/echo.so" -m log >/dev/null 2>"$work/err" || true
if grep -qF "plughost: [echo] info: hello log" "$work/err"; then ok "log line shown by default"; else bad "log line shown by default" "stderr: $(cat "$work/err")"; fi
for o in -q "--log-level=warning"; do
	"$PLUGHOST" run "$tdir/echo.so" -m log $o >/dev/null 2>"$work/err" || true
	if [ ! -s "$work/err" ]; then ok "$o hides an info line"; else bad "$o hides an info line" "stderr: $(cat "$work/err")"; fi
done
expect "--unsandboxed warns" 0 "plughost: warning: --unsandboxed: the plugin runs with no sandbox at all" -- "$PLUGHOST" run "$dir/upper.so" -i "$work/small" --unsandboxed
"$PLUGHOST" run "$dir/upper.so" -i "$work/small" --unsandboxed -q >/dev/null 2>"$work/err" || true
if [ ! -s "$work/err" ]; then ok "-q: only errors, not the --unsandboxed warning"; else bad "-q: only errors, not the --unsandboxed warning" "stderr: $(cat "$work/err")"; fi
# --max-input applies to a regular file on standard input too.
expect "--max-input on a file as stdin" 2 "input 'standard input' is larger than the input limit (13 bytes" -- sh -c '"$0" run "$1" -i - --max-input 13 <"$2"' "$PLUGHOST" "$dir/upper.so" "$work/small"

echo "# $n checks, $fails failed"
