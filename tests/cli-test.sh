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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
fails=0

echo "1..47" # one per ok/bad below

ok() { n=$((n + 1)); echo "ok $n - $1"; }
# bad NAME [DETAIL]: the detail may span lines; each becomes a comment.
bad() {
	n=$((n + 1)) fails=$((fails + 1))
	echo "not ok $n - $1"
	echo "not ok $n - $1" >&2
	if [ $# -gt 1 ]; then
		printf '%s\n' "$2" | sed 's/^/# /'
		printf '%s\n' "$2" | sed 's/^/# /' >&2
	fi
}

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

echo "# $n checks, $fails failed"
