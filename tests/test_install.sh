#!/usr/bin/env bash
# test_install.sh BUILD_DIR HOST_C BUNDLE_JS — installs the build into a
# scratch prefix the way `make install PREFIX=...` does, then builds the
# README's host against the installed copy with pkg-config (shared library)
# and with find_package(polyplug) (shared and static), runs each on a JS
# bundle, and runs the installed polyplug tool.
set -euo pipefail
build=$1 host_c=$2 bundle=$3
work=$(mktemp -d /tmp/pp-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'echo "test_install.sh: failed at line $LINENO" >&2' ERR
# (no `cmd | grep -q` below: with pipefail, grep quitting early can fail cmd
# with SIGPIPE; outputs are captured first)
has() { grep -q -- "$2" <<<"$1"; }
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/polyplug/polyplug.h include/polyplug/abi.h lib/libpolyplug.so \
	lib/libpolyplug.a lib/pkgconfig/polyplug.pc lib/cmake/polyplug/polyplugConfig.cmake \
	bin/polyplug bin/ppc; do
	[ -e "$prefix/$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
"$prefix/bin/polyplug" --help >/dev/null

# pkg-config, shared
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -Wall -Werror -Wno-unused-parameter "$host_c" -o "$work/host_pc" \
	$(pkg-config --cflags --libs polyplug) -Wl,-rpath,"$prefix/lib"
has "$("$work/host_pc" "$bundle")" "40 + 2 = 42"
has "$(ldd "$work/host_pc")" "$prefix/lib/libpolyplug.so"

# pkg-config, static: nothing of polyplug is loaded at run time
cc -std=c11 -Wall -Werror -Wno-unused-parameter "$host_c" -o "$work/host_pc_static" \
	$(pkg-config --static --cflags --libs polyplug-static)
has "$("$work/host_pc_static" "$bundle")" "40 + 2 = 42"
if has "$(ldd "$work/host_pc_static")" libpolyplug; then
	echo "host_pc_static is linked to the shared library" >&2
	exit 1
fi

# the docs are installed
for f in README.md js.md runtime.md cli.md contracts.md; do
	[ -e "$prefix/share/doc/polyplug-c/$f" ] || { echo "not installed: doc $f" >&2; exit 1; }
done

# the installed tool scaffolds a C bundle against the installed headers
(cd "$work" && "$prefix/bin/polyplug" new c scaf >/dev/null)
grep -q "^POLYPLUG_INCLUDE ?= $prefix/include\$" "$work/scaf/Makefile" ||
	{ echo "the scaffold's Makefile does not use $prefix/include" >&2; exit 1; }
make -C "$work/scaf" >/dev/null
has "$("$prefix/bin/polyplug" call "$work/scaf" scaf.Hello@1 hello installed 2>&1)" "Hello, installed"

# find_package, shared and static
mkdir -p "$work/proj"
cp "$host_c" "$work/proj/host.c"
cat >"$work/proj/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(tiny_host C)
find_package(polyplug 0.1 REQUIRED)
add_executable(host_shared host.c)
target_link_libraries(host_shared PRIVATE polyplug::polyplug)
add_executable(host_static host.c)
target_link_libraries(host_static PRIVATE polyplug::polyplug_static)
CMAKE
cmake -S "$work/proj" -B "$work/proj/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/proj/build" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 1; }
has "$("$work/proj/build/host_shared" "$bundle")" "40 + 2 = 42"
has "$("$work/proj/build/host_static" "$bundle")" "40 + 2 = 42"
if has "$(ldd "$work/proj/build/host_static")" libpolyplug; then
	echo "host_static is linked to the shared library" >&2
	exit 1
fi
echo "install: pkg-config and find_package hosts built and ran"
