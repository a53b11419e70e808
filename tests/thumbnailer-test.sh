#!/bin/sh
# samples/thumbnailer.c over many images, 20 of them malformed or hostile
# (tests/png-ref.py many: truncated, bad CRCs, wrong signature, huge
# declared dimensions, a decompression bomb, zero size, garbage, ...):
# one line per file in order, every good one a valid thumbnail of the
# right size (a sample of them decoded and compared pixel for pixel with
# png-ref.py's own), every bad one a failure with its reason, the exit
# status as documented, and no process left behind.
#
# Usage: thumbnailer-test.sh THUMBNAILER PNG_PLUGIN PNG_REF. The number of
# images is $PH_THUMB_IMAGES, 1,000 by default; tests/meson.build sets it
# to 200 in sanitizer builds (tests/run-all.sh, pass 3), where every
# spawn costs more. There are 20 bad images whatever the number.
# Speaks TAP, like tests/cli-test.sh.
set -eu
THUMB=$1
PLUGIN=$2
PNG_REF=$3
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
count=${PH_THUMB_IMAGES:-1000}
good=$((count - 20))
. "${0%/*}/tap.sh" # $work, ok, bad, check

echo "1..16"
echo "# $count images ($good good, 20 bad; PH_THUMB_IMAGES)"


# Run "$@" as a child subreaper's child (PR_SET_CHILD_SUBREAPER): every
# process the thumbnailer started and left behind is then reparented to
# it, and counted. Writes its stdout to $work/out, stderr to $work/err,
# the exit status to $work/rc and the leftover processes to $work/left.
reaped() {
	"$PYTHON" - "$work" "$@" <<'EOF'
import ctypes, os, subprocess, sys, time
work, cmd = sys.argv[1], sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER): errno %d" % ctypes.get_errno())
with open(f"{work}/out", "wb") as out, open(f"{work}/err", "wb") as err:
    rc = subprocess.call(cmd, stdout=out, stderr=err)
open(f"{work}/rc", "w").write(str(rc))
# Anything left is now our child: give it a moment to exit, then list it.
left = []
for _ in range(20):
    left = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            left.append(f"{pid} {stat[:stat.rindex(')') + 1]}")
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    if not left:
        break
    time.sleep(0.1)
open(f"{work}/left", "w").write("".join(line + "\n" for line in left))
EOF
}

mkdir "$work/in" "$work/thumbs"
t0=$(date +%s)
"$PYTHON" "$PNG_REF" many "$work/in" "$count" >"$work/list"
t1=$(date +%s)
reaped "$THUMB" -j 2 -p "$PLUGIN" -o "$work/thumbs" "$work/in"
t2=$(date +%s)
echo "# generated in $((t1 - t0)) s, thumbnailed in $((t2 - t1)) s"
rc=$(cat "$work/rc")
out=$work/out

if [ "$rc" -eq 1 ]; then ok "exit status 1: some files failed"; else bad "exit status 1" "exit $rc; stderr: $(cat "$work/err")"; fi
if [ "$(wc -l <"$out")" -eq "$count" ]; then ok "one line per file"; else bad "one line per file" "$(wc -l <"$out") lines"; fi
# The lines in the order of the files (the directory's, sorted by name).
sed 's/^ok \([^ ]*\) .*/\1/; s/^FAILED \([^ ]*\) .*/\1/; s|.*/||' "$out" >"$work/order"
cut -d' ' -f1 "$work/list" | sort >"$work/want-order"
if cmp -s "$work/order" "$work/want-order"; then ok "the lines are in the files' order"; else bad "the lines are in the files' order" "$(diff "$work/order" "$work/want-order" | head)"; fi
nok=$(grep -c '^ok .*/img-[0-9]*\.png -> .*/thumbs/img-[0-9]*\.png ([0-9]*x[0-9]*, [0-9]* bytes)$' "$out" || true)
if [ "$nok" -eq "$good" ]; then ok "$good good images: ok, with output path and size"; else bad "$good good images ok" "$nok ok lines: $(grep -v '^ok' "$out" | grep -v '/bad-' | head)"; fi
nbad=$(grep -c '^FAILED .*/bad-[0-9]*\.png ([a-z-]*): .' "$out" || true)
if [ "$nbad" -eq 20 ]; then ok "20 bad images: FAILED, with a kind and a reason"; else bad "20 bad images FAILED" "$nbad lines: $(grep '/bad-' "$out" | head -30)"; fi
# Each hostile kind got the reason it should.
reasons_ok=1
while read -r name what; do
	case $what in
	truncated | truncated-header | no-iend) want="the file ends early" ;;
	bad-crc-ihdr) want="CRC error" ;;
	wrong-signature | garbage | text | gif-in-disguise) want="not a PNG" ;;
	zero-size) want="the input is empty" ;;
	huge-pixels) want="the image is too large: 16000x16000" ;;
	decompression-bomb) want="Too much image data" ;;
	*) want="(plugin-error): plugin returned error 2: libpng: " ;;
	esac
	if ! grep -F "/$name (plugin-error): " "$out" | grep -qF "$want"; then
		reasons_ok=0
		echo "# $name ($what): wanted '$want': $(grep -F "/$name " "$out")"
	fi
done <<EOF
$(grep ' bad ' "$work/list" | cut -d' ' -f1,3)
EOF
if [ "$reasons_ok" -eq 1 ]; then ok "each bad image's line names what was wrong with it"; else bad "each bad image's line names what was wrong with it"; fi
if "$PYTHON" "$PNG_REF" check-many "$work/list" "$work/thumbs" 50 >"$work/checked" 2>"$work/cmp"; then ok "every thumbnail is a valid PNG of the right size; $(cat "$work/checked")"; else bad "every thumbnail is valid" "$(cat "$work/cmp")"; fi
nfiles=$(find "$work/thumbs" -type f | wc -l)
if [ "$nfiles" -eq "$good" ] && ! ls "$work/thumbs" | grep -q -e '^bad-' -e '\.tmp-'; then ok "no thumbnail and no temporary file for a bad image"; else bad "no output for bad images" "$nfiles files: $(ls "$work/thumbs" | grep -v '^img-' | head)"; fi
if [ ! -s "$work/left" ]; then ok "no process left behind"; else bad "no process left behind" "$(cat "$work/left")"; fi
if [ ! -s "$work/err" ]; then ok "nothing on stderr"; else bad "nothing on stderr" "$(head -5 "$work/err")"; fi

# Files named one by one: a good one, a missing one, a directory given
# as a file's name is listed; all good exits 0; usage errors exit 2.
cp "$work/in/img-0000.png" "$work/one.png"
reaped "$THUMB" -p "$PLUGIN" -o "$work/o2" -j 1 -s 16 "$work/one.png" "$work/missing.png"
if [ "$(cat "$work/rc")" -eq 1 ] && grep -q "^ok $work/one.png -> $work/o2/one.png (16x[0-9]*, " "$work/out" &&
	grep -qF "FAILED $work/missing.png (input): cannot read it: No such file or directory" "$work/out"; then
	ok "a missing file is a failed line, the others go on (-s 16)"
else
	bad "a missing file is a failed line" "exit $(cat "$work/rc"): $(cat "$work/out" "$work/err")"
fi
reaped "$THUMB" -p "$PLUGIN" -o "$work/o3" "$work/one.png"
if [ "$(cat "$work/rc")" -eq 0 ] && [ "$(wc -l <"$work/out")" -eq 1 ] && [ ! -s "$work/left" ]; then ok "all good: exit status 0"; else bad "all good: exit status 0" "exit $(cat "$work/rc"): $(cat "$work/out" "$work/err" "$work/left")"; fi
# Limits hit for real: a valid 4000x4000 image (46 KB of zeros) needs
# 64 MiB decoded, over a 32 MiB memory limit, and longer than 5 ms.
"$PYTHON" -c '
import struct, sys, zlib
def chunk(k, d): return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
w = h = 4000
ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * ((w * 3 + 1) * h), 9)) + chunk(b"IEND", b""))' >"$work/big.png"
reaped "$THUMB" -p "$PLUGIN" -o "$work/o5" -M 32 "$work/big.png" "$work/one.png"
if [ "$(cat "$work/rc")" -eq 1 ] && grep -q "^FAILED $work/big.png (memory-limit): plugin went over its memory limit: .*(limit 32768 KiB)" "$work/out" &&
	grep -q "^ok $work/one.png " "$work/out" && [ ! -s "$work/left" ]; then
	ok "a memory limit hit is that file's failure (-M 32)"
else
	bad "a memory limit hit is that file's failure" "exit $(cat "$work/rc"): $(cat "$work/out" "$work/err" "$work/left")"
fi
reaped "$THUMB" -p "$PLUGIN" -o "$work/o6" -t 5 "$work/big.png"
if [ "$(cat "$work/rc")" -eq 1 ] && grep -qF "FAILED $work/big.png (timeout): plugin ran past its deadline (5 ms)" "$work/out" && [ ! -s "$work/left" ]; then
	ok "a timeout is that file's failure (-t 5)"
else
	bad "a timeout is that file's failure" "exit $(cat "$work/rc"): $(cat "$work/out" "$work/err" "$work/left")"
fi
rc=0
"$THUMB" -j 0 "$work/one.png" >/dev/null 2>"$work/err" || rc=$?
if [ "$rc" -eq 2 ] && grep -qF -- "-j wants a number from 1 to 64, not '0'" "$work/err"; then ok "a bad -j is a usage error, exit 2"; else bad "a bad -j is a usage error" "exit $rc: $(cat "$work/err")"; fi
rc=0
"$THUMB" -p "$work/none.so" -o "$work/o4" "$work/one.png" >/dev/null 2>"$work/err" || rc=$?
if [ "$rc" -eq 3 ] && grep -qF "cannot start the plugin '$work/none.so'" "$work/err"; then ok "a missing plugin: exit status 3, named"; else bad "a missing plugin: exit 3" "exit $rc: $(cat "$work/err")"; fi

[ "$n" -eq 16 ] || echo "# ran $n checks, planned 16" >&2
