#!/bin/sh
# The ABI, checked from outside as a packager or plugin author would
# (TAP, one line per check):
#   1. libplughost exports exactly the functions host.h declares PH_EXPORT;
#   2. a plugin built from <plughost/plugin.h> alone, in C and in C++, with
#      -Wl,-z,defs and no plughost library, links, exports only its
#      descriptor, needs no plughost symbol, and runs under the real runner;
#   3. each public header compiles on its own, strictly, as C11 and as C++;
#   4. sandbox/ includes no wire or ring header, plugin-sdk/ holds no
#      protocol, and the host never dlopens plugin code.
# Struct sizes and offsets are pinned by the static asserts in plugin.h
# (every plugin build checks them), host.h (every application build) and
# common/wire.h and ring-layout.h (host and runner builds).
set -u
PLUGHOST=$1
LIB=$2
SRC=$3
PCDIR=$4 # where the build wrote the pkg-config files
. "${0%/*}/tap.sh" # $work, ok, bad, check
headers=0
for h in "$SRC"/plugin-sdk/include/plughost/*.h "$SRC"/host/include/plughost/*.h; do
	headers=$((headers + 1))
done
echo "1..$((13 + 2 * headers))"

# 1. Exported symbols against the header.
sed -n 's/^PH_EXPORT[^(]*[ *]\(ph_[a-z0-9_]*\)(.*/\1/p' "$SRC/host/include/plughost/host.h" |
	sort -u >"$work/header"
nm -D --defined-only "$LIB" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort -u >"$work/lib"
if [ -s "$work/header" ] && cmp -s "$work/header" "$work/lib"; then
	ok "libplughost exports exactly the $(wc -l <"$work/header") functions host.h declares"
else
	bad "libplughost's exports differ from host.h (< header only, > library only)"
	diff "$work/header" "$work/lib" | sed 's/^/# /'
fi
# Symbols added after 1.1 carry their own version node (libplughost.map).
v12=$(nm -D --defined-only "$LIB" | awk '{ print $3 }' | grep -c '^ph_[a-z_]*metrics[a-z_]*@@PLUGHOST_1\.2$')
if [ "$v12" -eq 3 ]; then
	ok "the metrics functions are versioned PLUGHOST_1.2"
else
	bad "the metrics functions are versioned PLUGHOST_1.2"
	nm -D --defined-only "$LIB" | grep metrics | sed 's/^/# /'
fi
if nm -D --defined-only "$LIB" | awk '{ print $3 }' | grep -q '^ph__'; then
	bad "libplughost exports no internal ph__ symbol"
else
	ok "libplughost exports no internal ph__ symbol"
fi

# 2. A plugin from the header alone, in C and in C++.
cat >"$work/p.c" <<'C'
#include <plughost/plugin.h>
static int greet(struct ph_call *call, const struct ph_input *in, size_t n)
{
	ph_log(call, PH_INFO, "greeting %zu input(s)", n);
	if (n != 1)
		return ph_error(call, 3, "want one input, got %zu", n);
	return ph_printf(call, "hello, %.*s (%s)\n", (int)in[0].len, (const char *)in[0].data,
			 ph_call_method(call));
}
static const struct ph_method methods[] = { { "greet", greet } };
PH_PLUGIN("greeter", "1.0", methods);
C
cp "$work/p.c" "$work/p.cc"
flags="-shared -fPIC -Wall -Wextra -Werror -Wl,-z,defs -Wl,-z,now -I$SRC/plugin-sdk/include"
for lang in c cc; do
	cc=cc
	[ "$lang" = cc ] && cc=c++
	check "a $lang plugin builds from the header alone with -Wl,-z,defs" \
		$cc $flags -o "$work/p-$lang.so" "$work/p.$lang"
	exports=$(nm -D --defined-only "$work/p-$lang.so" 2>/dev/null | awk '{ print $3 }' |
		grep -v '^_' | tr '\n' ' ')
	undef=$(nm -D --undefined-only "$work/p-$lang.so" 2>/dev/null | awk '{ print $2 }' |
		grep '^ph_' | tr '\n' ' ')
	if [ "$exports" = "plughost_plugin_v2 " ] && [ -z "$undef" ]; then
		ok "the $lang plugin exports only plughost_plugin_v2 and needs no ph_ symbol"
	else
		bad "the $lang plugin exports '$exports' and needs '$undef'"
	fi
	out=$(printf world | "$PLUGHOST" run "$work/p-$lang.so" -m greet --input - 2>"$work/err")
	if [ "$out" = "hello, world (greet)" ]; then
		ok "the $lang plugin runs in the sandbox"
	else
		bad "the $lang plugin runs in the sandbox: got '$out', stderr '$(cat "$work/err")'"
	fi
done

libs=$(PKG_CONFIG_PATH=$PCDIR pkg-config --libs plughost-plugin 2>&1)
if PKG_CONFIG_PATH=$PCDIR pkg-config --exists plughost-plugin && [ -z "$libs" ]; then
	ok "pkg-config --libs plughost-plugin is empty"
else
	bad "pkg-config --libs plughost-plugin is empty: got '$libs'"
fi

# 3. Each public header on its own, strictly: plugin.h and level.h (the
# SDK), and host.h, whose static asserts pin the public structs' layouts.
for h in "$SRC"/plugin-sdk/include/plughost/*.h "$SRC"/host/include/plughost/*.h; do
	hname=$(basename "$h")
	inc=-I"$SRC/plugin-sdk/include" # an SDK header needs nothing else
	case $h in "$SRC"/host/*) inc="$inc -I$SRC/host/include" ;; esac
	echo "#include <plughost/$hname>" >"$work/h.c"
	cp "$work/h.c" "$work/h.cc"
	# shellcheck disable=SC2086 # $inc is two words
	check "$hname compiles alone as -std=c11 -pedantic -Werror" \
		cc -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only $inc "$work/h.c"
	# shellcheck disable=SC2086
	check "$hname compiles alone as -std=c++11 -pedantic -Werror" \
		c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only $inc "$work/h.cc"
done
# 4. The house: the boundaries hold by construction.
if grep -rlE '#include "(wire|ring-layout|proto)\.h"' "$SRC/sandbox" >"$work/inc"; then
	bad "sandbox/ includes no wire or ring header: $(tr '\n' ' ' <"$work/inc")"
else
	ok "sandbox/ includes no wire or ring header"
fi
others=$(find "$SRC/plugin-sdk" -type f ! -name '*.h' ! -name meson.build)
if [ -z "$others" ] && ! grep -rqE 'wire\.h|ring-layout\.h|proto\.h|sendmsg|recvmsg' "$SRC/plugin-sdk"; then
	ok "plugin-sdk/ is headers only and holds no protocol"
else
	bad "plugin-sdk/ holds protocol code: $others"
fi
if grep -rnw dlopen "$SRC/host" >"$work/dl"; then
	bad "the host never dlopens plugin code: $(head -1 "$work/dl")"
else
	ok "the host never dlopens plugin code"
fi
[ "$fails" -eq 0 ]
