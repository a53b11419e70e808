#!/bin/sh
# plughost policy from the shell (TAP): learn on tests/plugins/learnme.so,
# check the file, run under it (the output of an unsandboxed run, exit 0)
# and under strict (a violation naming the call, exit 7); a file with
# errors gives FILE:LINE:COLUMN lines and exit 2, in check and in run;
# learning refuses a constructor's socket and writes nothing; a thread is
# learned as the threads preset; --threads on top of a strict file; and
# the same round trip on a real sample (gzip.so over zlib): learn, run
# under the learned file with byte-identical output, a hostile plugin
# stopped under it.
set -u
PLUGHOST=$1
sdir=$(echo "$PH_PLUGIN_DIR" | cut -d: -f1)
tdir=$(echo "$PH_PLUGIN_DIR" | cut -d: -f2)
. "${0%/*}/tap.sh" # $work, ok, bad, check
echo "1..17"
# run NAME WANT_RC -- command...: stdout in $work/out, stderr in $work/err
run() {
	name=$1 want=$2
	shift 3
	rc=0
	"$@" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" -eq "$want" ]; then return 0; fi
	bad "$name" "exit $rc, wanted $want; stderr: $(cat "$work/err")"
	return 1
}
one_line() { # NAME TEXT: stderr is exactly one line containing TEXT
	if grep -qF -- "$2" "$work/err" && [ "$(wc -l <"$work/err")" -eq 1 ]; then ok "$1"; else
		bad "$1" "stderr: $(cat "$work/err")"
	fi
}

if run "learn writes a policy" 0 -- "$PLUGHOST" policy learn "$tdir/learnme.so" -m extras \
	-o "$work/learned.policy"; then
	if grep -q '^base strict@1$' "$work/learned.policy" &&
		grep -q '^allow getrusage arg0 == RUSAGE_SELF$' "$work/learned.policy"; then
		ok "learn writes a policy"
	else
		bad "learn writes a policy" "$(cat "$work/learned.policy")"
	fi
fi
if run "check accepts the learned file" 0 -- "$PLUGHOST" policy check "$work/learned.policy"; then
	if grep -qF "learned.policy: ok: base strict@1, 8 rules from 1 file" "$work/out"; then
		ok "check accepts the learned file"
	else bad "check accepts the learned file" "$(cat "$work/out")"; fi
fi
run "unsandboxed reference run" 0 -- "$PLUGHOST" run --unsandboxed "$tdir/learnme.so" -m extras &&
	cp "$work/out" "$work/ref" && ok "unsandboxed reference run"
if run "run --policy learned passes" 0 -- "$PLUGHOST" run --policy "$work/learned.policy" \
	"$tdir/learnme.so" -m extras; then
	if cmp -s "$work/out" "$work/ref"; then ok "run --policy learned passes, same output"; else
		bad "run --policy learned passes, same output" "$(cat "$work/out")"
	fi
fi
run "strict is a violation" 7 -- "$PLUGHOST" run "$tdir/learnme.so" -m extras &&
	one_line "strict is a violation naming sysinfo" "violated the sandbox: sysinfo("

printf 'plughost-policy 1\nbase strict@1\nallow ptrace\n' >"$work/bad.policy"
run "check reports an error" 2 -- "$PLUGHOST" policy check "$work/bad.policy" &&
	one_line "check: FILE:LINE:COLUMN: message" "$work/bad.policy:3:7: 'ptrace' is never allowed"
run "run --policy with an error" 2 -- "$PLUGHOST" run --policy "$work/bad.policy" \
	"$tdir/learnme.so" -m extras &&
	one_line "run --policy: FILE:LINE:COLUMN: message" "plughost: $work/bad.policy:3:7:"
run "--policy twice" 2 -- "$PLUGHOST" run --policy a --policy b "$tdir/learnme.so" &&
	one_line "--policy twice is a usage error" "option '--policy' given twice"

# A hostile attack under the learned file is still stopped.
printf 'ptrace' >"$work/ptrace"
run "hostile under the learned file" 7 -- "$PLUGHOST" run --policy "$work/learned.policy" \
	"$tdir/hostile.so" -m attack -i "$work/ptrace" &&
	one_line "ptrace under the learned file is a violation" "violated the sandbox: ptrace("

run "learn refuses a constructor's socket" 7 -- "$PLUGHOST" policy learn \
	"$tdir/ctor_attack.so" -o "$work/ctor.policy" &&
	if [ ! -e "$work/ctor.policy" ] && grep -qF "socket(" "$work/err"; then
		ok "learn refuses a constructor's socket and writes nothing"
	else bad "learn refuses a constructor's socket and writes nothing" "$(cat "$work/err")"; fi

if run "learn a thread" 0 -- "$PLUGHOST" policy learn "$tdir/learnme.so" -m threads \
	-o "$work/threads.policy"; then
	if grep -q '^base threads@1$' "$work/threads.policy"; then ok "a thread is learned as base threads@1"; else
		bad "a thread is learned as base threads@1" "$(cat "$work/threads.policy")"
	fi
fi
printf 'plughost-policy 1\nbase strict@1\nallow sysinfo\n' >"$work/strict.policy"
run "--threads over a strict file" 0 -- "$PLUGHOST" run --threads --policy "$work/strict.policy" \
	"$tdir/learnme.so" -m threads && ok "--threads on top of a strict file allows threads"
run "policy --help" 0 -- "$PLUGHOST" policy --help && ok "policy --help"
run "policy with no command" 2 -- "$PLUGHOST" policy &&
	one_line "policy with no command is a usage error" "needs a command"

# A real sample: learn its run, then the same run under the learned file.
head -c 200000 "$sdir/gzip.so" >"$work/data"
if run "learn on samples/gzip.so" 0 -- "$PLUGHOST" policy learn "$sdir/gzip.so" -m gzip \
	-i "$work/data" -o "$work/gzip.policy" &&
	run "check the sample's policy" 0 -- "$PLUGHOST" policy check "$work/gzip.policy"; then
	ok "learn on samples/gzip.so writes a policy that checks"
fi
if run "gzip under strict" 0 -- "$PLUGHOST" run "$sdir/gzip.so" -m gzip -i "$work/data" &&
	cp "$work/out" "$work/gz.strict" &&
	run "gzip under the learned file" 0 -- "$PLUGHOST" run --policy "$work/gzip.policy" \
		"$sdir/gzip.so" -m gzip -i "$work/data"; then
	if cmp -s "$work/out" "$work/gz.strict" && gzip -dc <"$work/out" | cmp -s - "$work/data"; then
		ok "gzip under the learned file: byte-identical output, gzip -d gives the input"
	else bad "gzip under the learned file: byte-identical output" "outputs differ"; fi
fi
printf 'unshare' >"$work/unshare"
run "hostile under the sample's file" 7 -- "$PLUGHOST" run --policy "$work/gzip.policy" \
	"$tdir/hostile.so" -m attack -i "$work/unshare" &&
	one_line "unshare under the sample's learned file is a violation" "violated the sandbox: unshare("
