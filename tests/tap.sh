# shellcheck shell=sh
# What every TAP test script here shares; sourced (. "${0%/*}/tap.sh"),
# never run. It makes $work, a temporary directory removed at exit, and
# counts checks in $n and failures in $fails:
#   ok NAME                 a passed check;
#   bad NAME [DETAIL]       a failed one; DETAIL may span lines, each
#                           becomes a TAP comment (on stderr too, where
#                           meson test --print-errorlogs shows it);
#   check NAME COMMAND...   ok when COMMAND succeeds, else bad with its
#                           output as the detail.
# The plan line ("1..N") is the script's own.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
	n=$((n + 1)) fails=$((fails + 1))
	echo "not ok $n - $1"
	echo "not ok $n - $1" >&2
	if [ $# -gt 1 ]; then
		printf '%s\n' "$2" | sed 's/^/# /'
		printf '%s\n' "$2" | sed 's/^/# /' >&2
	fi
}
check() {
	name=$1
	shift
	if "$@" >"$work/check.log" 2>&1; then ok "$name"; else bad "$name" "$(cat "$work/check.log")"; fi
}
