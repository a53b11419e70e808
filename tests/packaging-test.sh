#!/bin/sh
# shellcheck disable=SC2013 # its loops take words (options, function names)
# What a packager ships besides the binaries, checked in the build tree
# (TAP, one line per check):
#   1. each man page built here renders with man -l, without a single
#      warning from man or troff (at 80 columns), and has its sections;
#   2. plughost(1) documents every subcommand and every option the CLI's
#      --help lists, and FILES names the runner where it is installed;
#      plughost(3) names every function host.h exports;
#   3. the bash completion completes subcommands, each subcommand's
#      options (every option any --help lists), plugin files,
#      input files and log levels.
# Usage: packaging-test.sh SRC_DIR PLUGHOST RUNNER_INSTALLED MANPAGE...
set -u
SRC=$1
PLUGHOST=$2
RUNNER=$3
shift 3
. "${0%/*}/tap.sh" # $work, ok, bad, check
echo "1..$(($# * 2 + 5))"

export MANWIDTH=80 MANPAGER=cat PAGER=cat
man1=
for page in "$@"; do
	name=$(basename "$page")
	case $name in plughost.1) man1=$page ;; esac
	# man -l formats the file as it is (no search, no pager with MANPAGER=cat).
	warnings=$(man --warnings -l "$page" 2>&1 >/dev/null)
	if [ -s "$page" ] && [ -z "$warnings" ]; then
		ok "$name renders with man -l and no warning"
	else
		bad "$name renders with man -l and no warning"
		printf '%s\n' "$warnings" | sed 's/^/# /'
	fi
	man -l "$page" >"$work/$name.txt" 2>/dev/null
	missing=
	for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -q "^$section" "$work/$name.txt" || missing="$missing '$section'"
	done
	if [ -z "$missing" ]; then ok "$name has NAME, SYNOPSIS, DESCRIPTION and SEE ALSO"; else
		bad "$name lacks the sections$missing"
	fi
done

: >"$work/help"
for sub in "" run methods info bench "policy check" "policy learn"; do
	# shellcheck disable=SC2086
	"$PLUGHOST" $sub --help >>"$work/help" 2>&1
done
# 2. plughost(1) against the CLI itself: every long option any --help
# prints, and every subcommand of the top-level usage.
if [ -z "$man1" ]; then
	bad "plughost.1 was built"
	bad "plughost.1 names the installed runner"
else
	man -l "$man1" >"$work/man1.txt" 2>/dev/null
	undocumented=
	for opt in $(grep -o -- '--[a-z][a-z-]*' "$work/help" | sort -u); do
		grep -qE -- "$opt([^a-z-]|\$)" "$work/man1.txt" || undocumented="$undocumented $opt"
	done
	for sub in run methods info bench "policy check" "policy learn"; do
		grep -q "plughost $sub" "$work/man1.txt" || undocumented="$undocumented '$sub'"
	done
	if [ -z "$undocumented" ]; then
		ok "plughost.1 documents every subcommand and every option of --help"
	else
		bad "plughost.1 does not document:$undocumented"
	fi
	if grep -A1 '^FILES' "$work/man1.txt" | grep -qF "$RUNNER"; then
		ok "plughost.1's FILES names the runner at $RUNNER"
	else
		bad "plughost.1's FILES names the runner at $RUNNER"
	fi
fi

# plughost(3), the API's overview, names every function host.h exports
# (in its source: the rendered page hyphenates).
unnamed=
for f in $(sed -n 's/^PH_EXPORT[^(]*[ *]\(ph_[a-z0-9_]*\)(.*/\1/p' \
	"$SRC/host/include/plughost/host.h" | sort -u); do
	grep -q "\*$f\*" "$SRC/docs/plughost.3.scd" || unnamed="$unnamed $f"
done
if [ -z "$unnamed" ]; then
	ok "plughost(3) names every function host.h exports"
else
	bad "plughost(3) does not name:$unnamed"
fi

# 3. The completion, driven as bash drives it: COMP_WORDS and COMP_CWORD
# set, the function called, COMPREPLY read back.
mkdir "$work/files"
: >"$work/files/upper.so"
: >"$work/files/notes.txt"
completes() { # WORDS...: the last is the word being completed
	(cd "$work/files" && bash -c '
		. "$0"
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_plughost 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
		"$SRC/completions/plughost" plughost "$@")
}
got_sub=$(completes "")
got_run=$(completes run upper.so --al)
got_so=$(completes run "")
got_in=$(completes run upper.so -i no)
got_lvl=$(completes run upper.so --log-level d)
got_pol=$(completes policy l)
got_learn=$(completes policy learn upper.so -)
case $got_sub in *"bench info methods policy run"*) r1=1 ;; *) r1= ;; esac
case $got_learn in *"--output"*) r2=1 ;; *) r2= ;; esac
if [ -n "$r1" ] && [ "$got_run" = "--allow-read " ] && [ "$got_so" = "upper.so " ] &&
	[ "$got_in" = "notes.txt " ] && [ "$got_lvl" = "debug " ] && [ "$got_pol" = "learn " ] &&
	[ -n "$r2" ]; then
	ok "bash completion: subcommands, options per subcommand, .so files, inputs, log levels"
else
	bad "bash completion: got subcommands '$got_sub', 'run --al' '$got_run', PLUGIN '$got_so'," \
		"'-i no' '$got_in', '--log-level d' '$got_lvl', 'policy l' '$got_pol'," \
		"'policy learn -' '$got_learn'"
fi
# Every long option any --help lists ($work/help, above) is offered by
# the completion of some subcommand.
offered=" $(completes -) $(completes run upper.so --) $(completes methods -) $(completes info -)"
offered="$offered $(completes bench -) $(completes policy check -) $(completes policy learn x.so -) "
unoffered=
for opt in $(grep -o -- '--[a-z][a-z-]*' "$work/help" | sort -u); do
	case $offered in *" $opt "* | *" $opt= "*) ;; *) unoffered="$unoffered $opt" ;; esac
done
if [ -s "$work/help" ] && [ -z "$unoffered" ]; then
	ok "bash completion offers every option of every --help"
else
	bad "bash completion does not offer:$unoffered"
fi
[ "$fails" -eq 0 ]
