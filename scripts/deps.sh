#!/usr/bin/env bash
# Installs what building and testing polyplug-c needs on Debian 12, and fetches
# the QuickJS sources into the build tree. Idempotent; silent when all is there.
#
#   scripts/deps.sh [--for run|ts|test|lint|fuzz|all] [DEPS_DIR]
#
# --for says what the packages are for, so that each make target installs
# only what it needs: run (compiler, cmake, pkg-config: the library, the
# tools and the demo), ts (+ esbuild, for TypeScript bundles), test (+
# cmocka, valgrind, and esbuild and tsc, which the suite's TypeScript
# checks use), lint (+ clang-format, clang-tidy), fuzz (+ clang), all (the
# default: everything).
# DEPS_DIR defaults to build/_deps.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
purpose=all
if [ "${1:-}" = --for ]; then
	purpose=${2:?--for needs run, test, lint, fuzz or all}
	shift 2
fi
deps_dir=${1:-$root/build/_deps}
mkdir -p "$deps_dir"
deps_dir=$(cd "$deps_dir" && pwd)

QJS_VERSION=2025.04.26
QJS_TARBALL=quickjs_${QJS_VERSION}.orig.tar.xz
QJS_SHA256=ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe

say() { printf 'deps: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Debian packages ---------------------------------------------------------
packages=(build-essential patch cmake pkg-config xz-utils)
case $purpose in
run) ;;
ts) packages+=(esbuild) ;;
test) packages+=(libcmocka-dev valgrind esbuild node-typescript) ;;
lint) packages+=(libcmocka-dev clang-format clang-tidy) ;;
fuzz) packages+=(clang) ;;
all) packages+=(libcmocka-dev valgrind esbuild node-typescript clang-format clang-tidy clang) ;;
*) say "--for $purpose: expected run, ts, test, lint, fuzz or all"; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# --- QuickJS -----------------------------------------------------------------
# Always built from source with our patches (scripts/quickjs/*.patch): the CPU
# limit inside builtins depends on them, so a system copy is not used. The
# unpacked tree records which patches it carries; a change re-unpacks it.
src_dir=$deps_dir/quickjs-$QJS_VERSION
tarball=$deps_dir/$QJS_TARBALL
patches=("$root"/scripts/quickjs/*.patch)
stamp=$(cat "${patches[@]}" | sha256sum | cut -c1-16)
[ -f "$src_dir/.polyplug-patches-$stamp" ] && exit 0

# Debian 12 has no QuickJS package; Debian 13 ships its source. Ask apt for it
# through a private state directory so the machine's apt set-up stays untouched.
# The mirror is the one this machine already uses.
fetch_tarball() {
	uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { say "cannot find a Debian mirror in /etc/apt"; exit 1; }

	apt_dir=$deps_dir/apt
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/fetch"
	echo "deb-src $uri trixie main" >"$apt_dir/sources.list"
	apt_opts=(-q -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
		-o APT::Sandbox::User=root)
	say "fetching QuickJS $QJS_VERSION sources"
	apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
		{ cat "$apt_dir/update.log" >&2; exit 1; }
	(cd "$apt_dir/fetch" && apt-get "${apt_opts[@]}" source --download-only quickjs) \
		>"$apt_dir/source.log" 2>&1 || { cat "$apt_dir/source.log" >&2; exit 1; }

	fetched=$apt_dir/fetch/$QJS_TARBALL
	[ -f "$fetched" ] || { say "apt did not deliver $QJS_TARBALL (got: $(ls "$apt_dir/fetch"))"; exit 1; }
	echo "$QJS_SHA256  $fetched" | sha256sum --check --quiet ||
		{ say "checksum mismatch for $QJS_TARBALL"; exit 1; }
	mv "$fetched" "$tarball"
	rm -rf "$apt_dir/fetch"
}

if ! { [ -f "$tarball" ] && echo "$QJS_SHA256  $tarball" | sha256sum --check --quiet; }; then
	fetch_tarball
fi

tmp=$(mktemp -d "$deps_dir/unpack.XXXXXX")
tar -xJf "$tarball" -C "$tmp"
[ -f "$tmp/quickjs-$QJS_VERSION/quickjs.c" ] || { say "unexpected tarball layout"; exit 1; }
for p in "${patches[@]}"; do
	patch -d "$tmp/quickjs-$QJS_VERSION" -p1 --quiet --forward <"$p" ||
		{ say "patch $(basename "$p") does not apply"; exit 1; }
done
touch "$tmp/quickjs-$QJS_VERSION/.polyplug-patches-$stamp"
rm -rf "$src_dir"
mv "$tmp/quickjs-$QJS_VERSION" "$src_dir"
rm -rf "$tmp"
