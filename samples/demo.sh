#!/bin/sh
# Install what is missing, build plughost, and run the demo: a sample host
# application pushes a sealed input through three sandboxed plugins, the
# CLI does the same from the shell, and a second host drives six plugin
# instances at once from one epoll loop; last, three samples that load a
# real library (zlib, PCRE2, jansson) inside the sandbox.
set -eu
cd "$(dirname "$0")/.."
./tests/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
echo
echo "== samples/host-demo.c: one input, three sandboxed plugins =="
./build/samples/plughost-demo build/samples
echo
echo "== the same from the shell =="
echo '$ echo "hello, sandbox" | plughost run upper.so --input -'
echo "hello, sandbox" | ./build/host/plughost run build/samples/upper.so --input -
echo '$ plughost run sha256.so --input README.md'
./build/host/plughost run build/samples/sha256.so --input README.md
echo
echo "== event loop: several plugins at once =="
echo '$ plughost-epoll-demo samples   # six instances, one epoll loop (samples/epoll-demo.c)'
./build/samples/plughost-epoll-demo build/samples
echo
echo "== real libraries inside the sandbox: zlib, PCRE2, jansson =="
echo '$ plughost run gzip.so -m gzip --input README.md | gzip -d | head -n 1'
./build/host/plughost run build/samples/gzip.so -m gzip --input README.md | gzip -d | head -n 1
echo '$ echo "sand\w+" > pattern; plughost run grep.so -i pattern -i README.md | head -n 2'
demo_tmp=$(mktemp -d)
trap 'rm -rf "$demo_tmp"' EXIT
echo 'sand\w+' >"$demo_tmp/pattern"
./build/host/plughost run build/samples/grep.so -i "$demo_tmp/pattern" -i README.md | head -n 2
echo "\$ echo '{\"plugin\":\"json\",\"libs\":[\"jansson\"]}' | plughost run json.so --input -"
echo '{"plugin":"json","libs":["jansson"]}' | ./build/host/plughost run build/samples/json.so --input -
