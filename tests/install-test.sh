#!/bin/sh
# plughost installed as a user or packager installs it, and used from
# outside this tree (TAP, one line per check):
#   1. a build of this source with --prefix=TMP (tests off; its own build
#      directory, so the build under test is never touched), installed;
#   2. what the install holds: the runner under a path that carries the
#      wire version (pkg-config's 'runner' variable, and the library's
#      built-in default), the man pages, the guides and LICENSE in docdir,
#      the bash completion, every public header, each compiling alone as
#      C11 and C++ -pedantic -Werror from the installed include directory;
#   3. the installed plughost runs (info, and a plugin) without
#      LD_LIBRARY_PATH: an install rpath;
#   4. an out-of-tree plugin and host application (tests/oot/), built with
#      a plain gcc command line from pkg-config --cflags --libs, and with a
#      Meson project of their own, against the installed .pc files; the
#      applications spawn the plugin with the installed runner, named by
#      the pkg-config variable, and found by the library's default.
# Everything lives in one temporary directory, removed at exit.
# Usage: install-test.sh SRC_DIR
set -u
SRC=$1
. "${0%/*}/tap.sh" # $work, ok, bad, check

# The library's own search must be what finds the runner.
unset PLUGHOST_RUNNER LD_LIBRARY_PATH PKG_CONFIG_PATH
prefix=$work/prefix
if meson setup "$work/build" "$SRC" --prefix="$prefix" -Dtests=false -Dwerror=true \
	>"$work/log" 2>&1 && ninja -C "$work/build" >>"$work/log" 2>&1 &&
	meson install -C "$work/build" --no-rebuild >>"$work/log" 2>&1; then
	ok "meson setup --prefix, build and meson install into a temporary prefix"
else
	bad "meson setup --prefix, build and meson install into a temporary prefix"
	tail -30 "$work/log" | sed 's/^/# /'
	echo "1..$n"
	exit 1
fi

libdir=$(sed -n "s/^libdir=\${prefix}/$(printf '%s' "$prefix" | sed 's/[\/&]/\\&/g')/p" \
	"$(find "$prefix" -name plughost.pc | head -1)")
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH

# 2. What the install holds.
wire=$(sed -n 's/^#define PH_WIRE_ABI *\([0-9]*\)u.*/\1/p' "$SRC/common/wire.h")
runner=$(pkg-config --variable=runner plughost)
if [ -n "$wire" ] && [ "$runner" = "$prefix/libexec/plughost/wire-$wire/plughost-runner" ] &&
	[ -x "$runner" ]; then
	ok "the runner is installed at pkg-config's runner, libexec/plughost/wire-$wire/"
else
	bad "the runner is installed at pkg-config's runner: '$runner' (wire $wire)"
	find "$prefix" -name 'plughost-runner*' | sed 's/^/# found: /'
fi
if grep -qF "\"$runner\"" "$work/build/ph-config.h"; then
	ok "the library's built-in runner path is the installed one"
else
	bad "the library's built-in runner path is the installed one: $(grep RUNNER "$work/build/ph-config.h")"
fi
missing=
for f in "$SRC"/docs/*.scd; do # every man page: plughost.1.scd is man1/plughost.1
	page=$(basename "$f" .scd)
	[ -s "$prefix/share/man/man${page##*.}/$page" ] || missing="$missing man/$page"
done
for f in share/bash-completion/completions/plughost share/doc/plughost/LICENSE \
	share/doc/plughost/NEWS.md include/plughost/host.h include/plughost/plugin.h \
	include/plughost/level.h; do
	[ -s "$prefix/$f" ] || missing="$missing $f"
done
for f in "$SRC"/docs/*.md; do
	[ -s "$prefix/share/doc/plughost/$(basename "$f")" ] || missing="$missing doc/$(basename "$f")"
done
if [ -z "$missing" ]; then
	ok "installed: every man page, the completion, LICENSE, NEWS.md, every guide, the headers"
else
	bad "not installed:$missing"
fi
if MANWIDTH=80 man -l "$prefix/share/man/man1/plughost.1" 2>/dev/null |
	grep -qF "$runner"; then
	ok "the installed plughost(1) names the installed runner"
else
	bad "the installed plughost(1) names the installed runner ($runner)"
fi
# Every installed header, alone, strictly, from the installed include dir.
for h in "$prefix"/include/plughost/*.h; do
	hname=$(basename "$h")
	echo "#include <plughost/$hname>" >"$work/h.c"
	cp "$work/h.c" "$work/h.cc"
	check "installed $hname compiles alone as C11 and C++11, -pedantic -Werror" sh -c "
		cc -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
			\$(pkg-config --cflags plughost plughost-plugin) '$work/h.c' &&
		c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
			\$(pkg-config --cflags plughost plughost-plugin) '$work/h.cc'"
done

# 3. The installed CLI, with no LD_LIBRARY_PATH: the rpath.
check "the installed plughost info runs without LD_LIBRARY_PATH" "$prefix/bin/plughost" info
if readelf -d "$prefix/bin/plughost" | grep -q "R.*PATH.*\[$libdir\]"; then
	ok "the installed plughost has an rpath to the installed libdir"
else
	bad "the installed plughost has an rpath to the installed libdir ($libdir)"
	readelf -d "$prefix/bin/plughost" | grep -i path | sed 's/^/# /'
fi

# 4. Out of tree: gcc from pkg-config, then a Meson project.
oot=$work/oot
mkdir "$oot"
cp "$SRC/tests/oot/app.c" "$SRC/tests/oot/greet.c" "$SRC/tests/oot/meson.build" "$oot/"
# shellcheck disable=SC2046 # pkg-config's words
check "a plugin builds with gcc and pkg-config --cflags plughost-plugin" \
	gcc -std=gnu11 -Wall -Wextra -Werror -fPIC -shared -Wl,-z,now -Wl,-z,relro -Wl,-z,defs \
	-o "$oot/greet.so" "$oot/greet.c" $(pkg-config --cflags plughost-plugin)
# shellcheck disable=SC2046
check "a host application builds with gcc and pkg-config --cflags --libs plughost" \
	gcc -std=gnu11 -Wall -Wextra -Werror -o "$oot/app" "$oot/app.c" \
	$(pkg-config --cflags --libs plughost) -Wl,-rpath,"$libdir"
out=$("$oot/app" "$oot/greet.so" world "$runner" 2>&1)
if [ "$out" = "hello, world
result: ok (ok)" ]; then
	ok "the gcc-built application runs the plugin with pkg-config's runner"
else
	bad "the gcc-built application runs the plugin with pkg-config's runner: got '$out'"
fi
out=$("$oot/app" "$oot/greet.so" again 2>&1)
if [ "$out" = "hello, again
result: ok (ok)" ]; then
	ok "the gcc-built application finds the installed runner by itself"
else
	bad "the gcc-built application finds the installed runner by itself: got '$out'"
fi
out=$("$prefix/bin/plughost" run "$oot/greet.so" -m greet -i "$oot/greet.c" 2>&1 | head -1)
if [ "$out" = "hello, /* SPDX-License-Identifier: MIT */" ]; then
	ok "the installed plughost runs the out-of-tree plugin"
else
	bad "the installed plughost runs the out-of-tree plugin: got '$out'"
fi
if meson setup "$oot/build" "$oot" >"$work/log" 2>&1 && ninja -C "$oot/build" >>"$work/log" 2>&1; then
	ok "the Meson project builds against dependency('plughost') and dependency('plughost-plugin')"
else
	bad "the Meson project builds against dependency('plughost') and dependency('plughost-plugin')"
	tail -20 "$work/log" | sed 's/^/# /'
fi
out=$("$oot/build/app" "$oot/build/greet.so" meson 2>&1)
if [ "$out" = "hello, meson
result: ok (ok)" ]; then
	ok "the Meson-built application runs the Meson-built plugin with the installed runner"
else
	bad "the Meson-built application runs the Meson-built plugin: got '$out'"
fi
echo "1..$n" # at the end: one check per installed header
[ "$fails" -eq 0 ]
