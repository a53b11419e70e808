#!/bin/sh
# The plugin guide, docs/sdk.md, run as its reader would run it (TAP): its
# tutorial's code blocks, verbatim, in order, in an empty temporary folder,
# against this build installed into a temporary DESTDIR (its .pc files
# read through PKG_CONFIG_SYSROOT_DIR) and this build's plughost on PATH.
# The guide marks the blocks it means to be run:
#   ```c file=NAME (any language)  written to NAME in the current folder
#   ```sh test                      run by sh -e; its cd carries over
#   ```console test                 "$ CMD" lines run in order, by sh; what
#                                   they print, stdout and stderr, must be
#                                   exactly the block's other lines
# One check per runnable block; then the Meson and gcc builds of the
# tutorial must agree on every hardening flag the guide names, in their
# actual commands and in the ELF files they made, and
# pkg-config --cflags plughost-plugin must add nothing but -I.
# Usage: doc-test.sh SRC_DIR BUILD_DIR
set -u
SRC=$1
BUILD=$2
. "${0%/*}/tap.sh" # $work, ok, bad, check
guide=$SRC/docs/sdk.md

# The marked blocks, one file per step: NNN.file (+ NNN.name), NNN.sh, or
# NNN.console.sh with NNN.console.out.
mkdir "$work/steps"
awk -v dir="$work/steps" '
	function start(kind) { step++; base = sprintf("%s/%03d", dir, step); mode = kind }
	mode == "" && /^```[A-Za-z0-9+-]+ +file=[^ ]+ *$/ {
		start("file"); f = $0; sub(/.*file=/, "", f); sub(/ *$/, "", f)
		print f > (base ".name"); printf "" > (base ".file"); next
	}
	mode == "" && /^```sh test *$/ { start("sh"); printf "" > (base ".sh"); next }
	mode == "" && /^```console test *$/ {
		start("console"); printf "" > (base ".console.sh"); printf "" > (base ".console.out"); next
	}
	mode == "" && /^```/ { mode = "other"; next }
	mode == "other" && /^```/ { mode = ""; next }
	mode != "" && mode != "other" && /^```$/ { mode = ""; next }
	mode == "file" { print > (base ".file") }
	mode == "sh" { print > (base ".sh") }
	mode == "console" && /^\$ / { print substr($0, 3) > (base ".console.sh"); next }
	mode == "console" { print > (base ".console.out") }
' "$guide"
runnable=$(find "$work/steps" -name '*.sh' | wc -l)
echo "1..$((runnable + 4))"

# This build, installed as a user would install it, in a DESTDIR.
dest=$work/dest
if ! meson install -C "$BUILD" --no-rebuild --quiet --destdir "$dest" >"$work/log" 2>&1; then
	echo "Bail out! meson install --destdir failed: $(tail -3 "$work/log" | tr '\n' ' ')"
	exit 1
fi
pc=$(find "$dest" -name plughost-plugin.pc | head -1)
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
PATH=$BUILD/host:$PATH
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PATH
unset PKG_CONFIG_LIBDIR PLUGHOST_RUNNER

cwd=$work/reader
mkdir "$cwd"
for path in "$work"/steps/*.file "$work"/steps/*.sh; do echo "${path##*/}"; done | sort >"$work/order"
while read -r f; do
	step=${f%%.*}
	case $f in
	*.file)
		name=$(cat "$work/steps/$step.name")
		mkdir -p "$cwd/$(dirname "$name")"
		cp "$work/steps/$f" "$cwd/$name"
		;;
	*.console.sh)
		(cd "$cwd" && sh "$work/steps/$f") </dev/null >"$work/actual" 2>&1
		if cmp -s "$work/actual" "$work/steps/$step.console.out"; then
			ok "sdk.md block $step: $(head -1 "$work/steps/$f")"
		else
			bad "sdk.md block $step: $(head -1 "$work/steps/$f") (< guide, > actual)"
			diff "$work/steps/$step.console.out" "$work/actual" | sed 's/^/# /'
		fi
		;;
	*.sh)
		if (cd "$cwd" && sh -e -c '. "$1"; pwd >"$2"' sh "$work/steps/$f" "$work/cwd") \
			</dev/null >"$work/actual" 2>&1; then
			ok "sdk.md block $step: $(head -1 "$work/steps/$f")"
			cwd=$(cat "$work/cwd")
		else
			bad "sdk.md block $step: $(head -1 "$work/steps/$f")"
			sed 's/^/# /' "$work/actual"
		fi
		;;
	esac
done <"$work/order"

# The two builds agree. The flags: every -f, -O, -D and -z the guide's gcc
# line names (its first block that runs gcc ... -shared).
gccline=$(cat "$work"/steps/*.sh | grep -A8 '^gcc ' | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -m1 -- '-shared')
flags=$(printf '%s\n' "$gccline" | tr ' ' '\n' | sed 's/^-Wl,//' | tr ',' '\n' |
	awk '/^-(f|O|D)/ { print; next } prev == "-z" { print "-z" $0 } { prev = $0 }' | sort -u)
# Meson's own commands for the tutorial's hello.so, as ninja runs them.
mbuild=$(dirname "$(find "$work/reader" -path '*/build/build.ninja' | head -1)")
mcmds=$(ninja -C "$mbuild" -t commands 2>/dev/null | tr ' ' '\n' | sed 's/^-Wl,//' | tr ',' '\n' |
	awk '{ if (prev == "-z") print "-z" $0; else print } { prev = $0 }')
missing=
for f in $flags; do
	printf '%s\n' "$mcmds" | grep -qx -- "$f" || missing="$missing $f"
done
if [ -n "$flags" ] && [ -n "$mcmds" ] && [ -z "$missing" ]; then
	# shellcheck disable=SC2086 # one flag a word
	ok "the Meson build uses every flag of the gcc line: $(printf '%s ' $flags)"
else
	bad "the Meson build lacks:$missing (gcc line '$gccline'; meson build '$mbuild')"
fi
# And what they made: full RELRO (GNU_RELRO, BIND_NOW), no executable stack.
elfs=$(find "$work/reader" -name hello.so)
weak=
count=0
for so in $elfs; do
	count=$((count + 1))
	readelf -lW "$so" | grep -q GNU_RELRO || weak="$weak $so:no-relro"
	readelf -dW "$so" | grep -qE 'BIND_NOW|FLAGS_1.*NOW' || weak="$weak $so:no-bind-now"
	readelf -lW "$so" | grep GNU_STACK | grep -q 'RWE' && weak="$weak $so:exec-stack"
done
if [ "$count" -eq 2 ] && [ -z "$weak" ]; then
	ok "both hello.so files (gcc, Meson) have full RELRO and no executable stack"
else
	bad "the two hello.so builds ($count found):$weak"
fi
# No dependency on plughost, and only the descriptor exported, from both.
odd=
for so in $elfs; do
	exports=$(nm -D --defined-only "$so" | awk '{ print $3 }' | grep -v '^_' | tr '\n' ' ')
	[ "$exports" = "plughost_plugin_v2 " ] || odd="$odd $so exports '$exports'"
done
if [ -n "$elfs" ] && [ -z "$odd" ]; then
	ok "both hello.so files export only plughost_plugin_v2"
else
	bad "the hello.so files:$odd"
fi
cflags=$(pkg-config --cflags plughost-plugin)
# shellcheck disable=SC2086 # the words pkg-config printed
others=$(printf '%s\n' $cflags | grep -v '^-I')
if [ -n "$cflags" ] && [ -z "$others" ]; then
	ok "pkg-config --cflags plughost-plugin adds only its include path ($cflags)"
else
	bad "pkg-config --cflags plughost-plugin adds '$others' (all: '$cflags')"
fi
[ "$fails" -eq 0 ]
