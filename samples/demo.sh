#!/bin/sh
# Install what is missing, build plughost, and run the demo: a sample host
# application pushes a sealed input through three sandboxed plugins, the
# CLI does the same from the shell, and a second host drives six plugin
# instances at once from one epoll loop.
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
