#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The reference side of the PNG sample's tests (python3 stdlib only).

It writes PNGs of known pixels with its own encoder, and checks what
samples/png.so made of them with its own decoder against the result it
computes itself from those pixels: nothing here shares code with libpng
or with the plugin.

  png-ref.py make KIND W H SEED OUT.png
      a W x H image of kind KIND (below), pixels from SEED.
  png-ref.py check METHOD KIND W H SEED [N] RESULT.png
      METHOD gray or thumbnail (fit in N x N, default 64): decode RESULT
      and compare it, pixel for pixel, with METHOD applied to the image
      "make KIND W H SEED" writes. Exit 0 if equal, 1 with the first
      difference on stderr.
  png-ref.py many DIR N
      N small PNGs for the thumbnailer's test: DIR/img-0000.png ... of
      assorted kinds and sizes, 20 of them malformed or hostile; one line
      per file on stdout: "img-I.png KIND W H SEED" (check it as above)
      or "bad-I.png bad WHAT".
  png-ref.py check-many LIST OUTDIR EVERY
      for each "img-I.png KIND W H SEED" line of LIST (what many wrote):
      OUTDIR/img-I.png is a valid PNG of the thumbnail's size (fit in
      64 x 64), and every EVERY-th one matches the reference pixel for
      pixel. Prints how many it checked; exit 1 at the first failure.
  png-ref.py info RESULT.png
      prints "W H COLORTYPE" of a valid 8-bit PNG (exit 1 if invalid):
      every chunk's CRC, the zlib stream and its length are checked, the
      filters are not undone (that is check's job).

Kinds: rgb8, rgba8, gray8, ga8, rgb16, pal8 (with tRNS), gray1,
graytrns (gray8 with a tRNS value), rgb8i (Adam7-interlaced).
"""
import random
import struct
import sys
import zlib

SIG = b"\x89PNG\r\n\x1a\n"


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, depth, color, raw, extra=b"", interlace=0):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    return SIG + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def rows(lines):
    """Filter type 0 on each scanline."""
    return b"".join(b"\0" + line for line in lines)


class Image:
    """An image as encoded, and as RGBA8 the way libpng's transforms in the
    plugin (expand, strip_16, gray_to_rgb, add_alpha) must present it."""

    def __init__(self, kind, w, h, seed):
        rnd = random.Random(seed)
        self.w, self.h, self.alpha = w, h, False
        extra = b""
        interlace = 0
        if kind in ("rgb8", "rgb8i"):
            data = rnd.randbytes(w * h * 3)
            px = lambda: [(data[i], data[i + 1], data[i + 2], 255) for i in range(0, len(data), 3)]
            depth, color = 8, 2
            lines = [data[y * w * 3:(y + 1) * w * 3] for y in range(h)]
            interlace = 1 if kind == "rgb8i" else 0
        elif kind == "rgba8":
            data = rnd.randbytes(w * h * 4)
            px = lambda: [tuple(data[i:i + 4]) for i in range(0, len(data), 4)]
            depth, color, self.alpha = 8, 6, True
            lines = [data[y * w * 4:(y + 1) * w * 4] for y in range(h)]
        elif kind in ("gray8", "graytrns"):
            data = rnd.randbytes(w * h)
            depth, color = 8, 0
            lines = [data[y * w:(y + 1) * w] for y in range(h)]
            if kind == "graytrns":
                key = data[0]
                extra = chunk(b"tRNS", struct.pack(">H", key))
                self.alpha = True
                px = lambda: [(g, g, g, 0 if g == key else 255) for g in data]
            else:
                px = lambda: [(g, g, g, 255) for g in data]
        elif kind == "ga8":
            data = rnd.randbytes(w * h * 2)
            px = lambda: [(data[i], data[i], data[i], data[i + 1]) for i in range(0, len(data), 2)]
            depth, color, self.alpha = 8, 4, True
            lines = [data[y * w * 2:(y + 1) * w * 2] for y in range(h)]
        elif kind == "rgb16":
            data = rnd.randbytes(w * h * 6)
            px = lambda: [(data[i], data[i + 2], data[i + 4], 255) for i in range(0, len(data), 6)]
            depth, color = 16, 2
            lines = [data[y * w * 6:(y + 1) * w * 6] for y in range(h)]
        elif kind == "pal8":
            pal = rnd.randbytes(3 * 16)
            trns = bytes(rnd.randrange(256) for _ in range(8))  # the first 8 entries
            idx = rnd.randbytes(w * h).translate(bytes(i & 15 for i in range(256)))
            extra = chunk(b"PLTE", pal) + chunk(b"tRNS", trns)
            px = lambda: [(pal[3 * i], pal[3 * i + 1], pal[3 * i + 2], trns[i] if i < 8 else 255) for i in idx]
            depth, color, self.alpha = 8, 3, True
            lines = [idx[y * w:(y + 1) * w] for y in range(h)]
        elif kind == "gray1":
            lines = [rnd.randbytes((w + 7) // 8) for _ in range(h)]
            px = lambda: [(255,) * 4 if lines[y][x // 8] & (0x80 >> (x % 8)) else (0, 0, 0, 255)
                          for y in range(h) for x in range(w)]
            depth, color = 1, 0
        else:
            raise SystemExit(f"png-ref: unknown kind {kind!r}")
        self._px = px  # RGBA tuples, row-major, made when first asked for
        if interlace:
            raw = self.adam7(lines, 3)
        else:
            raw = rows(lines)
        self.data = png(w, h, depth, color, raw, extra, interlace)

    @property
    def px(self):
        if callable(self._px):
            self._px = self._px()
        return self._px

    def adam7(self, lines, bpp):
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        out = []
        for x0, y0, dx, dy in passes:
            sub = []
            for y in range(y0, self.h, dy):
                sub.append(b"".join(lines[y][x * bpp:(x + 1) * bpp] for x in range(x0, self.w, dx)))
            if sub and sub[0]:
                out.append(rows(sub))
        return b"".join(out)


def gray_of(img):
    out = []
    for r, g, b, a in img.px:
        y = (299 * r + 587 * g + 114 * b + 500) // 1000
        out.append((y, a) if img.alpha else (y,))
    return img.w, img.h, (4 if img.alpha else 0), out


def thumb_size(w, h, n):
    if w <= n and h <= n:
        return w, h
    if w >= h:
        return n, max(1, (h * n + w // 2) // w)
    return max(1, (w * n + h // 2) // h), n


def thumbnail_of(img, n):
    w, h = img.w, img.h
    tw, th = thumb_size(w, h, n)
    ch = 4 if img.alpha else 3
    out = []
    for y in range(th):
        y0, y1 = y * h // th, (y + 1) * h // th
        for x in range(tw):
            x0, x1 = x * w // tw, (x + 1) * w // tw
            cnt = (x1 - x0) * (y1 - y0)
            s = [0, 0, 0, 0]
            for sy in range(y0, y1):
                for sx in range(x0, x1):
                    p = img.px[sy * w + sx]
                    for c in range(4):
                        s[c] += p[c]
            out.append(tuple((s[c] + cnt // 2) // cnt for c in range(ch)))
    return tw, th, (6 if img.alpha else 2), out


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(data, pixels=True):
    """An 8-bit, non-interlaced PNG (what the plugin writes): w, h, color
    type, pixels as tuples. Raises ValueError on anything else."""
    if data[:8] != SIG:
        raise ValueError("no PNG signature")
    pos, idat, ihdr, seen_end = 8, b"", None, False
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated chunk header")
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if len(body) != n or pos + 12 + n > len(data):
            raise ValueError("truncated chunk")
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if crc != zlib.crc32(kind + body):
            raise ValueError(f"bad CRC in {kind!r}")
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            seen_end = True
            break
    if not ihdr or not seen_end:
        raise ValueError("no IHDR or no IEND")
    w, h, depth, color, _, _, interlace = ihdr
    if depth != 8 or interlace or color not in (0, 2, 4, 6):
        raise ValueError(f"unexpected format: depth {depth}, color {color}, interlace {interlace}")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError("wrong amount of image data")
    if not pixels:
        return w, h, color, None
    prev = bytearray(stride)
    px = []
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 0:
                pass
            elif ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
            else:
                raise ValueError(f"bad filter type {ft}")
        px.extend(tuple(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return w, h, color, px


def check(method, kind, w, h, seed, n, result):
    img = Image(kind, w, h, seed)
    want = gray_of(img) if method == "gray" else thumbnail_of(img, n)
    with open(result, "rb") as f:
        try:
            got = decode(f.read())
        except (ValueError, zlib.error) as e:
            print(f"{result}: not a valid PNG: {e}", file=sys.stderr)
            return 1
    if got[:3] != want[:3]:
        print(f"{result}: {got[0]}x{got[1]} color type {got[2]}, want {want[0]}x{want[1]} color type {want[2]}",
              file=sys.stderr)
        return 1
    for i, (g, e) in enumerate(zip(got[3], want[3])):
        if g != e:
            print(f"{result}: pixel ({i % got[0]}, {i // got[0]}) is {g}, want {e}", file=sys.stderr)
            return 1
    return 0


def bomb():
    # Declares 100x100 RGB, but its zlib stream inflates to 64 MiB.
    raw = zlib.compress(b"\0" * (64 << 20), 9)
    ihdr = struct.pack(">IIBBBBB", 100, 100, 8, 2, 0, 0, 0)
    return SIG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def huge(w, h):
    # Declares w x h with almost no data behind it.
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    raw = zlib.compress(b"\0" * 4096)
    return SIG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def many(outdir, n):
    kinds = ["rgb8", "rgba8", "gray8", "ga8", "pal8", "gray1", "rgb16", "graytrns", "rgb8i"]
    good = Image("rgb8", 120, 90, 7).data
    idat_at = good.index(b"IDAT") - 4
    hostile = [
        ("truncated", good[:len(good) // 2]),
        ("truncated-header", good[:20]),
        ("no-iend", good[:-12]),
        ("bad-crc-idat", good[:idat_at + 8] + bytes([good[idat_at + 8] ^ 0xff]) + good[idat_at + 9:]),
        ("bad-crc-ihdr", good[:29] + bytes([good[29] ^ 1]) + good[30:]),
        ("wrong-signature", b"\x89PNX" + good[4:]),
        ("zero-size", b""),
        ("garbage", random.Random(1).randbytes(5000)),
        ("text", b"this is not an image\n" * 50),
        ("huge-dimensions", huge(1 << 30, 1 << 30)),
        ("huge-pixels", huge(16000, 16000)),
        ("zero-width", huge(0, 10)),
        ("decompression-bomb", bomb()),
        ("bad-zlib", good[:idat_at + 8] + b"\xff" * 40 + good[idat_at + 48:]),
        ("bad-color-type", png(10, 10, 8, 7, rows([b"\0" * 30] * 10))),
        ("bad-depth", png(10, 10, 3, 2, rows([b"\0" * 30] * 10))),
        ("no-ihdr", SIG + chunk(b"IEND", b"")),
        ("short-idat", png(64, 64, 8, 2, rows([b"\1" * 192] * 10))),
        ("gif-in-disguise", b"GIF89a" + b"\0" * 100),
        ("chunk-length-overflow", SIG + b"\xff\xff\xff\xffIHDR" + b"\0" * 30),
    ]
    assert len(hostile) == 20
    bad_at = {(i * n) // len(hostile) + 3: h for i, h in enumerate(hostile)}
    for i in range(n):
        if i in bad_at:
            what, data = bad_at[i]
            name = f"bad-{i:04d}.png"
            print(name, "bad", what)
        else:
            kind = kinds[i % len(kinds)]
            w, h = 16 + (i * 37) % 180, 16 + (i * 53) % 140
            data = Image(kind, w, h, i).data
            name = f"img-{i:04d}.png"
            print(name, kind, w, h, i)
        with open(f"{outdir}/{name}", "wb") as f:
            f.write(data)


def check_many(listing, outdir, every):
    sized = full = 0
    with open(listing) as f:
        lines = [line.split() for line in f]
    for i, fields in enumerate(fields for fields in lines if fields[1] != "bad"):
        name, kind, w, h, seed = fields[0], fields[1], int(fields[2]), int(fields[3]), int(fields[4])
        path = f"{outdir}/{name}"
        try:
            with open(path, "rb") as f:
                tw, th, color, _ = decode(f.read(), pixels=False)
        except (ValueError, zlib.error, OSError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 1
        if (tw, th) != thumb_size(w, h, 64):
            print(f"{path}: {tw}x{th}, want {thumb_size(w, h, 64)} for {w}x{h}", file=sys.stderr)
            return 1
        sized += 1
        if i % every == 0:
            if check("thumbnail", kind, w, h, seed, 64, path):
                return 1
            full += 1
    print(f"{sized} thumbnails of the right size, {full} of them checked pixel for pixel")
    return 0


def main(argv):
    if len(argv) >= 7 and argv[1] == "make":
        with open(argv[6], "wb") as f:
            f.write(Image(argv[2], int(argv[3]), int(argv[4]), int(argv[5])).data)
        return 0
    if len(argv) in (8, 9) and argv[1] == "check":
        n = int(argv[7]) if len(argv) == 9 else 64
        return check(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]), n, argv[-1])
    if len(argv) == 4 and argv[1] == "many":
        many(argv[2], int(argv[3]))
        return 0
    if len(argv) == 5 and argv[1] == "check-many":
        return check_many(argv[2], argv[3], int(argv[4]))
    if len(argv) == 3 and argv[1] == "info":
        try:
            with open(argv[2], "rb") as f:
                w, h, color, _ = decode(f.read(), pixels=False)
        except (ValueError, zlib.error, OSError) as e:
            print(f"{argv[2]}: {e}", file=sys.stderr)
            return 1
        print(w, h, color)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
