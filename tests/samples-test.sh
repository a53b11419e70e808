#!/bin/sh
# The samples that use real Debian libraries inside the sandbox, each
# through `plughost run` against its reference tool, on several inputs
# (empty, small, a few MB, binary):
#   sha256.so (nettle)      against sha256sum
#   gzip.so (zlib)          gzip -> gzip -d, and gzip -c -> gunzip, give
#                           the original back; corrupt, truncated and
#                           bomb inputs end in a plugin error or a limit
#   png.so (libpng)         gray and thumbnail, decoded and compared pixel
#                           for pixel with tests/png-ref.py's own result
#   grep.so (PCRE2)         against LC_ALL=C grep -P: the same lines, and
#                           grep's exit 1 (no match) and 2 (bad pattern)
#                           as plugin errors 1 and 2
#   json.so (jansson)       against python3 -m json.tool, byte for byte
#
# Usage: samples-test.sh PLUGHOST PNG_REF (tests/meson.build passes the
# CLI and tests/png-ref.py); the samples are found through $PH_PLUGIN_DIR.
# Speaks TAP, like tests/cli-test.sh: a fixed plan, one line per check.
set -eu
PLUGHOST=$1
PNG_REF=$2
# Debian's python3 (tests/install-deps.sh), stdlib only; a python3 found
# first on PATH may be a slow wrapper (pyenv's shims take 100s of ms).
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
dir=$(echo "$PH_PLUGIN_DIR" | cut -d: -f1)
# A directory the user running the test owns (pass 2 runs it as nobody).
. "${0%/*}/tap.sh" # $work, ok, bad, check
LC_ALL=C
export LC_ALL

echo "1..78" # one per ok/bad below

# run PLUGIN METHOD INPUT... > $work/out, stderr in $work/err; sets rc.
run() {
	plugin=$1 method=$2
	shift 2
	args=
	for _in in "$@"; do args="$args -i $_in"; done
	rc=0
	# shellcheck disable=SC2086
	"$PLUGHOST" run "$dir/$plugin.so" -m "$method" $args >"$work/out" 2>"$work/err" || rc=$?
}
# expect_error NAME WANT_STDERR_SUBSTRING: after run, a plugin error (exit
# 1) with that message, in one line, and no crash.
expect_error() {
	if [ "$rc" -eq 1 ] && grep -qF -- "$2" "$work/err" && [ "$(wc -l <"$work/err")" -eq 1 ]; then
		ok "$1"
	else
		bad "$1" "exit $rc, wanted 1 and '$2'; stderr: $(cat "$work/err")"
	fi
}

# Inputs: empty, small, a few MB of text, a few MB of random bytes.
: >"$work/empty"
printf 'hello, sandbox\nsecond line\n' >"$work/small"
seq 1 100000 | sed 's/$/ lorem ipsum dolor sit amet/' >"$work/text3m" # 3.3 MB
head -c 3000000 /dev/urandom >"$work/random"
inputs="empty small text3m random"

# --- sha256 (nettle) -----------------------------------------------------
for f in $inputs; do
	run sha256 sha256 "$work/$f"
	want=$(sha256sum <"$work/$f")
	if [ "$rc" -eq 0 ] && [ "$(cat "$work/out")" = "$want" ]; then ok "sha256 $f equals sha256sum"; else bad "sha256 $f equals sha256sum" "exit $rc: $(cat "$work/out" "$work/err")"; fi
done
rc=0
got=$("$PLUGHOST" run "$dir/sha256.so" -i - <"$work/random" 2>"$work/err") || rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = "$(sha256sum <"$work/random")" ]; then ok "sha256 of a stream equals sha256sum"; else bad "sha256 of a stream equals sha256sum" "exit $rc: $got $(cat "$work/err")"; fi

# --- gzip, gunzip (zlib) -------------------------------------------------
for f in $inputs; do
	run gzip gzip "$work/$f"
	if [ "$rc" -eq 0 ] && gzip -d <"$work/out" >"$work/back" 2>"$work/err" && cmp -s "$work/back" "$work/$f"; then ok "gzip $f, then gzip -d, gives it back"; else bad "gzip $f, then gzip -d, gives it back" "exit $rc: $(cat "$work/err")"; fi
	gzip -c <"$work/$f" >"$work/$f.gz"
	run gzip gunzip "$work/$f.gz"
	if [ "$rc" -eq 0 ] && cmp -s "$work/out" "$work/$f"; then ok "gzip -c $f, then gunzip, gives it back"; else bad "gzip -c $f, then gunzip, gives it back" "exit $rc: $(cat "$work/err")"; fi
done
# Compression works: 3.3 MB of repetitive text becomes much smaller.
run gzip gzip "$work/text3m"
if [ "$rc" -eq 0 ] && [ "$(wc -c <"$work/out")" -lt 1000000 ] && gzip -d <"$work/out" | cmp -s - "$work/text3m"; then ok "gzip compresses text, and gzip -d reads it"; else bad "gzip compresses text" "exit $rc, $(wc -c <"$work/out") bytes: $(cat "$work/err")"; fi
rc=0
"$PLUGHOST" run "$dir/gzip.so" -m gzip -i - <"$work/random" 2>"$work/err" | gzip -d >"$work/back" || rc=$?
if [ "$rc" -eq 0 ] && cmp -s "$work/back" "$work/random"; then ok "gzip of a stream, then gzip -d"; else bad "gzip of a stream, then gzip -d" "exit $rc: $(cat "$work/err")"; fi
rc=0
"$PLUGHOST" run "$dir/gzip.so" -m gunzip -i - <"$work/text3m.gz" >"$work/back" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && cmp -s "$work/back" "$work/text3m"; then ok "gunzip of a stream"; else bad "gunzip of a stream" "exit $rc: $(cat "$work/err")"; fi
# Several members, one after another, as gzip -d reads them.
cat "$work/small.gz" "$work/random.gz" "$work/text3m.gz" >"$work/multi.gz"
cat "$work/small" "$work/random" "$work/text3m" >"$work/multi"
run gzip gunzip "$work/multi.gz"
if [ "$rc" -eq 0 ] && cmp -s "$work/out" "$work/multi" && gzip -d <"$work/multi.gz" | cmp -s - "$work/multi"; then ok "gunzip reads several members, as gzip -d does"; else bad "gunzip reads several members" "exit $rc: $(cat "$work/err")"; fi
# Corrupt: a flipped byte in the deflate data (gzip -d refuses it too).
"$PYTHON" -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 2] ^= 0x55; open(sys.argv[2], "wb").write(d)' "$work/text3m.gz" "$work/corrupt.gz"
run gzip gunzip "$work/corrupt.gz"
expect_error "gunzip: corrupt data is a plugin error" "returned error 2: gunzip: member 1"
if gzip -d <"$work/corrupt.gz" >/dev/null 2>&1; then bad "gzip -d refuses the corrupt file too"; else ok "gzip -d refuses the corrupt file too"; fi
head -c 1000000 "$work/random.gz" >"$work/truncated.gz"
run gzip gunzip "$work/truncated.gz"
expect_error "gunzip: truncated data is a plugin error" "returned error 2: gunzip: member 1 is truncated"
run gzip gunzip "$work/empty"
expect_error "gunzip: an empty input is a plugin error" "returned error 2: gunzip: empty input"
run gzip gunzip "$work/small"
expect_error "gunzip: not gzip at all" "returned error 2: gunzip: member 1: not valid gzip data near byte"
printf 'x' >>"$work/multi.gz"
run gzip gunzip "$work/multi.gz"
expect_error "gunzip: bytes after the last member" "returned error 2: gunzip: member 4"
# A bomb: 16 MiB of zeros in 16 KiB, bounded by the plugin's own bound
# (the second input) and by the host's --output-limit.
head -c 16777216 /dev/zero | gzip -c >"$work/bomb.gz"
printf '1000000\n' >"$work/bound"
run gzip gunzip "$work/bomb.gz" "$work/bound"
if [ "$rc" -eq 1 ] && grep -qF "returned error 3: gunzip: the output would pass its bound of 1000000 bytes" "$work/err" && [ "$(wc -c <"$work/out")" -eq 1000000 ]; then ok "gunzip stops a bomb at its bound, after exactly that many bytes"; else bad "gunzip stops a bomb at its bound" "exit $rc, $(wc -c <"$work/out") bytes: $(cat "$work/err")"; fi
rc=0
"$PLUGHOST" run "$dir/gzip.so" -m gunzip -i "$work/bomb.gz" --output-limit 1M >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 11 ] && grep -qF "wrote more output than allowed" "$work/err"; then ok "the host's --output-limit stops a bomb too"; else bad "the host's --output-limit stops a bomb too" "exit $rc: $(cat "$work/err")"; fi
printf 'lots' >"$work/notnum"
run gzip gunzip "$work/bomb.gz" "$work/notnum"
expect_error "gunzip: a bound that is not a number" "returned error 4: gunzip: input 1 must be the output bound"

# --- png (libpng): gray and thumbnail ------------------------------------
for kind in rgb8 rgba8 gray8 ga8 rgb16 pal8 gray1 graytrns rgb8i; do
	"$PYTHON" "$PNG_REF" make "$kind" 97 61 11 "$work/$kind.png"
	run png gray "$work/$kind.png"
	if [ "$rc" -eq 0 ] && "$PYTHON" "$PNG_REF" check gray "$kind" 97 61 11 "$work/out" 2>"$work/cmp"; then ok "png gray of $kind matches the reference"; else bad "png gray of $kind matches the reference" "exit $rc: $(cat "$work/err" "$work/cmp")"; fi
	run png thumbnail "$work/$kind.png"
	if [ "$rc" -eq 0 ] && "$PYTHON" "$PNG_REF" check thumbnail "$kind" 97 61 11 "$work/out" 2>"$work/cmp"; then ok "png thumbnail of $kind matches the reference"; else bad "png thumbnail of $kind matches the reference" "exit $rc: $(cat "$work/err" "$work/cmp")"; fi
done
# Tall, a given size, and one that already fits (written at its own size).
"$PYTHON" "$PNG_REF" make rgb8 37 300 12 "$work/tall.png"
printf '20\n' >"$work/twenty"
run png thumbnail "$work/tall.png" "$work/twenty"
if [ "$rc" -eq 0 ] && "$PYTHON" "$PNG_REF" check thumbnail rgb8 37 300 12 20 "$work/out" 2>"$work/cmp" && [ "$("$PYTHON" "$PNG_REF" info "$work/out")" = "2 20 2" ]; then ok "png thumbnail of a tall image to fit 20x20"; else bad "png thumbnail to fit 20x20" "exit $rc: $(cat "$work/err" "$work/cmp")"; fi
"$PYTHON" "$PNG_REF" make rgba8 30 20 13 "$work/fits.png"
run png thumbnail "$work/fits.png"
if [ "$rc" -eq 0 ] && [ "$("$PYTHON" "$PNG_REF" info "$work/out")" = "30 20 6" ] && "$PYTHON" "$PNG_REF" check thumbnail rgba8 30 20 13 "$work/out"; then ok "png thumbnail never enlarges"; else bad "png thumbnail never enlarges" "exit $rc: $(cat "$work/err")"; fi
# A few MB: a 1500x1000 RGB image.
"$PYTHON" "$PNG_REF" make rgb8 1500 1000 14 "$work/big.png"
run png gray "$work/big.png"
if [ "$rc" -eq 0 ] && [ "$("$PYTHON" "$PNG_REF" info "$work/out")" = "1500 1000 0" ]; then ok "png gray of a 4.5 MB image ($(wc -c <"$work/big.png") bytes)"; else bad "png gray of a 4.5 MB image" "exit $rc: $(cat "$work/err")"; fi
# Hostile and broken inputs: plugin errors, never a crash.
head -c 3000 "$work/rgb8.png" >"$work/trunc.png"
run png thumbnail "$work/trunc.png"
expect_error "png: a truncated file is a plugin error" "returned error 2: libpng:"
run png gray "$work/empty"
expect_error "png: an empty input" "returned error 1: the input is empty, not a PNG"
run png gray "$work/random"
expect_error "png: random bytes" "returned error 1: the input is not a PNG"
"$PYTHON" -c '
import struct, sys, zlib
def chunk(k, d): return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
ihdr = struct.pack(">IIBBBBB", 16000, 16000, 8, 6, 0, 0, 0)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))' >"$work/huge.png"
run png thumbnail "$work/huge.png"
expect_error "png: huge declared dimensions, refused before allocating" "returned error 3: the image is too large: 16000x16000"
# A metadata bomb: 2,000 zTXt chunks of 1 MiB each once inflated, which
# the plugin skips unread (under a 32 MiB memory limit).
"$PYTHON" -c '
import struct, sys, zlib
def chunk(k, d): return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
png = open(sys.argv[1], "rb").read()
z = chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (1 << 20), 9))
sys.stdout.buffer.write(png[:33] + z * 2000 + png[33:])' "$work/rgb8.png" >"$work/ztxt.png"
rc=0
"$PLUGHOST" run "$dir/png.so" -m thumbnail -i "$work/ztxt.png" --memory 32M >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ] && "$PYTHON" "$PNG_REF" check thumbnail rgb8 97 61 11 "$work/out" 2>"$work/cmp"; then ok "png: 2,000 MiB of zTXt metadata skipped, within 32 MiB"; else bad "png: zTXt metadata skipped" "exit $rc: $(cat "$work/err" "$work/cmp")"; fi
printf '0' >"$work/zero"
run png thumbnail "$work/rgb8.png" "$work/zero"
expect_error "png: a thumbnail size of 0" "returned error 4: thumbnail: input 1 must be the size to fit"

# --- grep (PCRE2) against grep -P ----------------------------------------
cat >"$work/grep.txt" <<'EOF'
alpha beta
Gamma 555-1234 delta
  indented line
phone: 555-9876
ÉCOLE, café
tab	separated	words
last line without newline
EOF
printf 'no newline at the end: 42' >>"$work/grep.txt"
seq 1 200000 >"$work/numbers" # about 1.2 MB
greptest() { # NAME PATTERN FILE
	printf '%s\n' "$2" >"$work/pattern"
	run grep grep "$work/pattern" "$3"
	grc=0
	grep -P -- "$2" "$3" >"$work/want" 2>/dev/null || grc=$?
	if [ "$grc" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s "$work/out" "$work/want"; then
		ok "grep $1: the lines grep -P prints"
	elif [ "$grc" -eq 1 ] && [ "$rc" -eq 1 ] && [ ! -s "$work/out" ] && grep -qF "returned error 1: grep: no line matched" "$work/err"; then
		ok "grep $1: no match, as grep -P's exit 1"
	else
		bad "grep $1" "plugin exit $rc, grep -P exit $grc; plugin: $(cat "$work/out" "$work/err"); grep: $(cat "$work/want")"
	fi
}
greptest "a word" 'beta' "$work/grep.txt"
greptest "a class and a repeat" '\d{3}-\d{4}' "$work/grep.txt"
greptest "anchors" '^\s+\w+' "$work/grep.txt"
greptest "case-insensitive" '(?i)gamma|PHONE' "$work/grep.txt"
greptest "lookahead" '\w+(?=\t)' "$work/grep.txt"
greptest "the last line, which has no newline" '42$' "$work/grep.txt"
greptest "UTF-8 bytes in the C locale" 'caf.' "$work/grep.txt"
greptest "the empty pattern matches every line" '' "$work/grep.txt"
greptest "no match" 'zebra' "$work/grep.txt"
greptest "an empty text" 'x' "$work/empty"
greptest "1.2 MB of numbers" '^(1|7)\d*3$' "$work/numbers"
printf '(unclosed\n' >"$work/pattern"
run grep grep "$work/pattern" "$work/grep.txt"
grc=0
grep -P '(unclosed' "$work/grep.txt" >/dev/null 2>&1 || grc=$?
if [ "$rc" -eq 1 ] && [ "$grc" -eq 2 ] && grep -qF "returned error 2: grep: bad pattern at offset 9: missing closing parenthesis" "$work/err"; then ok "grep: a bad pattern is error 2, as grep -P's exit 2"; else bad "grep: a bad pattern" "exit $rc, grep $grc: $(cat "$work/err")"; fi
# Catastrophic backtracking stops at PCRE2's match limit, an error.
"$PYTHON" -c 'print("a" * 40 + "!")' >"$work/aaa"
printf '(a+)+$\n' >"$work/pattern"
run grep grep "$work/pattern" "$work/aaa"
expect_error "grep: catastrophic backtracking hits the match limit" "returned error 2: grep: matching the line at byte 0: match limit exceeded"

# --- json (jansson) against python3 -m json.tool -------------------------
jsontest() { # NAME FILE
	run json pretty "$2"
	prc=0
	"$PYTHON" -m json.tool "$2" >"$work/want" 2>/dev/null || prc=$?
	if [ "$prc" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s "$work/out" "$work/want"; then ok "json $1: byte for byte as python3 -m json.tool"; else bad "json $1" "plugin exit $rc, python $prc; $(diff "$work/out" "$work/want" | head -20) $(cat "$work/err")"; fi
}
printf '{"name":"plughost","tags":["sandbox","seccomp"],"nested":{"a":{"b":{"c":[1,[2,[3]]]}}},"empty_list":[],"empty_obj":{},"t":true,"f":false,"n":null}' >"$work/j1.json"
printf '{"z":1,"a":2,"m":{"y":1,"b":2},"z":3}' >"$work/j2.json"
printf '["caf\\u00e9","\\u00e9t\\u00e9","emoji \\ud83d\\ude00","raw \303\251 and \360\237\230\200","ctl \\u0001\\u001f\\u007f","esc \\" \\\\ \\/ \\b\\f\\n\\r\\t","nul \\u0000 inside"]' >"$work/j3.json"
printf '[0, -0, 1, -1, 9223372036854775807, -9223372036854775808, 0.1, 1.5, 100.0, 1e5, 1E-7, 2.5e-5, 1e16, 1e15, 123456789.125, 0.0001, 0.00001, -0.0, 3.141592653589793, 1.7976931348623157e308, 5e-324]' >"$work/j4.json"
printf '  \n "just a string" \n' >"$work/j5.json"
printf '42' >"$work/j6.json"
"$PYTHON" -c '
import json, random
r = random.Random(5)
def v(d):
    k = r.randrange(6 if d < 4 else 3)
    if k == 0: return r.randrange(-10**9, 10**9)
    if k == 1: return "".join(chr(r.choice([r.randrange(32, 127), r.randrange(160, 0x3000)])) for _ in range(r.randrange(12)))
    if k == 2: return r.choice([True, False, None, 0.5, -2.25])
    if k == 3: return [v(d + 1) for _ in range(r.randrange(8))]
    return {f"k{r.randrange(1000)}": v(d + 1) for _ in range(r.randrange(8))}
print(json.dumps([v(0) for _ in range(1500)], ensure_ascii=False))' >"$work/j7.json"
jsontest "containers, nesting and literals" "$work/j1.json"
jsontest "a repeated key keeps its first place, its last value" "$work/j2.json"
jsontest "escapes and UTF-8 as ensure_ascii writes them" "$work/j3.json"
jsontest "integers and reals as Python's repr" "$work/j4.json"
jsontest "a bare string" "$work/j5.json"
jsontest "a bare number" "$work/j6.json"
jsontest "a document of $(wc -c <"$work/j7.json") bytes" "$work/j7.json"
printf '{"a": [1, 2,\n  3,, 4]}' >"$work/bad.json"
run json pretty "$work/bad.json"
expect_error "json: invalid JSON names line and column" "returned error 1: invalid JSON at line 2, column 5:"
if "$PYTHON" -m json.tool "$work/bad.json" >/dev/null 2>&1; then bad "python3 refuses it too"; else ok "python3 refuses it too"; fi
run json pretty "$work/empty"
expect_error "json: an empty input" "returned error 1: invalid JSON at line 1"
run json pretty "$work/random"
expect_error "json: random bytes" "returned error 1: invalid JSON"
"$PYTHON" -c 'print("[" * 5000 + "]" * 5000)' >"$work/deep.json"
run json pretty "$work/deep.json"
expect_error "json: nesting past jansson's depth limit" "returned error 1: invalid JSON at line 1"

[ "$n" -eq 78 ] || echo "# ran $n checks, planned 78" >&2
