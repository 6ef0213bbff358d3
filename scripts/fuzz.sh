#!/usr/bin/env bash
# Builds the fuzz targets with clang and runs each for a bounded time over a
# working copy of its seed corpus (fuzz/corpus/NAME). A crash fails the run;
# its input is left in build/fuzz/crashes/ to be fixed and then kept in
# fuzz/regressions/NAME, which the test suite replays.
#
#   scripts/fuzz.sh [SECONDS]      (default 30 per target)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
out=$root/build/fuzz

command -v clang >/dev/null || { echo "fuzz: clang is missing (scripts/deps.sh installs it)" >&2; exit 1; }
cmake -S "$root/fuzz" -B "$out" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >"$out.log" 2>&1 ||
	{ cat "$out.log" >&2; exit 1; }
cmake --build "$out" -j"$(nproc)" >>"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }

mkdir -p "$out/crashes"
for target in toml ppc js_init js_call srcmap manifest elf; do
	max_len=4096
	[ "$target" = elf ] && max_len=16384 # its seeds are small shared libraries
	work=$out/corpus-$target
	mkdir -p "$work"
	cp "$root/fuzz/corpus/$target/"* "$work/"
	echo "fuzz: $target for ${seconds}s"
	"$out/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
		-artifact_prefix="$out/crashes/$target-" -print_final_stats=1 \
		"$work" "$root/fuzz/regressions/$target" 2>"$out/$target.log" ||
		{ tail -40 "$out/$target.log" >&2; echo "fuzz: $target found a crash (see $out/crashes)" >&2; exit 1; }
	grep -E '^stat::number_of_executed_units|^stat::peak_rss' "$out/$target.log" | sed 's/^/  /'
done
