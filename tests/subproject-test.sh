#!/bin/sh
# plughost as a Meson subproject (TAP, one line per check): a temporary
# project whose subprojects/plughost is this source tree (a symlink), and
# whose meson.build asks for dependency('plughost', fallback : ['plughost',
# 'plughost_dep']) and dependency('plughost-plugin', fallback : ...), set
# up with --force-fallback-for, so that an installed plughost is not taken
# instead.
# It builds tests/oot/'s host application and plugin, and runs them: the
# subproject-built libplughost finds the runner built beside it in the
# subproject's build directory, with no PLUGHOST_RUNNER, and with
# PLUGHOST_RUNNER naming that runner outright.
# Usage: subproject-test.sh SRC_DIR
set -u
SRC=$1
. "${0%/*}/tap.sh" # $work, ok, bad, check
echo "1..4"
unset PLUGHOST_RUNNER LD_LIBRARY_PATH
unset PKG_CONFIG_PATH

proj=$work/proj
mkdir -p "$proj/subprojects"
ln -s "$SRC" "$proj/subprojects/plughost"
cp "$SRC/tests/oot/app.c" "$SRC/tests/oot/greet.c" "$proj/"
cat >"$proj/meson.build" <<'MESON'
project('uses-plughost', 'c', default_options : ['c_std=gnu11', 'warning_level=2', 'werror=true'])
plughost = dependency('plughost', fallback : ['plughost', 'plughost_dep'],
  default_options : ['tests=false', 'docs=disabled'])
sdk = dependency('plughost-plugin', fallback : ['plughost', 'plughost_plugin_dep'])
executable('app', 'app.c', dependencies : [plughost])
shared_module('greet', 'greet.c', name_prefix : '', dependencies : [sdk],
  link_args : ['-Wl,-z,now', '-Wl,-z,relro', '-Wl,-z,defs'],
  gnu_symbol_visibility : 'hidden')
MESON
if meson setup "$proj/build" "$proj" --force-fallback-for=plughost,plughost-plugin \
	>"$work/log" 2>&1 &&
	grep -q "Dependency plughost found: YES .*(overridden)" "$work/log" &&
	ninja -C "$proj/build" >>"$work/log" 2>&1; then
	ok "a project builds with dependency('plughost') falling back to the subproject"
else
	bad "a project builds with dependency('plughost') falling back to the subproject"
	tail -30 "$work/log" | sed 's/^/# /'
fi
runner=$proj/build/subprojects/plughost/host/plughost-runner
if [ -x "$runner" ]; then
	ok "the subproject builds its runner"
else
	bad "the subproject builds its runner ($runner)"
fi
out=$("$proj/build/app" "$proj/build/greet.so" sub 2>&1)
if [ "$out" = "hello, sub
result: ok (ok)" ]; then
	ok "the application runs the plugin with the runner beside the subproject's libplughost"
else
	bad "the application runs the plugin with the runner beside the subproject's libplughost: got '$out'"
fi
out=$(PLUGHOST_RUNNER=$runner "$proj/build/app" "$proj/build/greet.so" env 2>&1)
if [ "$out" = "hello, env
result: ok (ok)" ]; then
	ok "the application runs the plugin with PLUGHOST_RUNNER naming the subproject's runner"
else
	bad "the application runs the plugin with PLUGHOST_RUNNER naming the subproject's runner: got '$out'"
fi
[ "$fails" -eq 0 ]
