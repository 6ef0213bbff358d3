#!/usr/bin/env bash
# test_cli.sh POLYPLUG EXAMPLES_DIR — the polyplug command-line tool end to
# end: help, list and check on the examples, failures and exit statuses,
# scaffolding C and JS bundles that build and load, and watch reloading.
set -uo pipefail
cli=$1
examples=$2
work=$(mktemp -d /tmp/pp-cli-XXXXXX)
trap 'kill $watch_pid 2>/dev/null; rm -rf "$work"' EXIT
watch_pid=
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
js_bundle() { # FILE: a JS bundle of cid() (a contract's id) and stdin
	{
		cat <<'JS'
function cid(s) {
  var h = 0xcbf29ce484222325n;
  for (var i = 0; i < s.length; i++) { h ^= BigInt(s.charCodeAt(i)); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }
  return [Number(h & 0xffffffffn), Number(h >> 32n)];
}
JS
		cat
	} >"$1"
}
expect_status() { # want, description, command...
	local want=$1 what=$2; shift 2
	"$@" >"$work/out" 2>&1
	local got=$?
	[ "$got" = "$want" ] || { fail "$what: exit $got, want $want"; cat "$work/out" >&2; }
}
expect_output() { # pattern, description
	grep -qE -- "$1" "$work/out" || { fail "$2: no '$1' in:"; cat "$work/out" >&2; }
}

# help and usage
expect_status 0 "--help" "$cli" --help
expect_output "list DIR" "--help lists commands"
for c in list check watch new call; do
	expect_status 0 "$c --help" "$cli" $c --help
	expect_output "usage: polyplug $c" "$c --help"
done
expect_status 2 "no command" "$cli"
expect_status 2 "unknown command" "$cli" frobnicate
expect_output "unknown command 'frobnicate'" "unknown command"
expect_status 2 "check without DIR" "$cli" check
expect_status 2 "check on a file" "$cli" check "$0"

# the repo's own examples
expect_status 0 "check examples" "$cli" check "$examples"
expect_output "5 bundles loaded, 0 failed" "check examples"
expect_status 0 "check --strict examples" "$cli" check --strict "$examples"

# an unknown manifest key: a warning, an error with --strict
mkdir -p "$work/keys/odd"
cat >"$work/keys/odd/bundle.js" <<'JS'
function polyplug_init() {
  return [[{ contractLo: 1930144460, contractHi: 2389194174, contractName: 'odd.Thing@1', version: 0x00010000,
             fnCount: 0, interface: { factory: () => ({}), functions: [] } }],
          { code: 0, message: '' }];
}
JS
printf 'name = "odd"\nflavour = "strange"\n' >"$work/keys/odd/manifest.toml"
expect_status 0 "check with an unknown key" "$cli" check "$work/keys"
expect_output "unknown key 'flavour' ignored" "the unknown key is a warning"
expect_output "keys/odd/manifest.toml:2:[0-9]+: unknown key 'flavour' ignored" "the warning names the file, line and column"
[ "$(grep -c "unknown key 'flavour'" "$work/out")" = 1 ] || fail "the unknown key is warned about once"
expect_status 1 "check --strict with an unknown key" "$cli" check -q --strict "$work/keys"
expect_output "1 unknown manifest key: an error with --strict" "--strict says why"
expect_status 2 "check with an unknown flag" "$cli" check --frobnicate "$work/keys"
expect_status 0 "list examples" "$cli" list "$examples"
! grep -q "loaded bundle" "$work/out" || fail "info records are quiet by default"
POLYPLUG_LOG=info expect_status 0 "list examples, POLYPLUG_LOG=info" "$cli" list "$examples"
expect_output "polyplug: info \[runtime\] loaded bundle 'headline'" "POLYPLUG_LOG=info shows loads"
POLYPLUG_LOG=loud expect_status 0 "list examples, POLYPLUG_LOG=loud" "$cli" list "$examples"
expect_output "POLYPLUG_LOG='loud' is none of error, warn" "a bad POLYPLUG_LOG is named"
expect_status 0 "list examples" "$cli" list "$examples"
expect_output "#[0-9] +headline +1.0.0 +js-quickjs" "list shows headline"
expect_output "provides demo.Score@1 +version 1.0.0, 2 functions, VM dispatch" "list contracts"
# what a bundle names itself reaches the terminal as one line, without escapes
mkdir -p "$work/esc/odd"
cp "$work/keys/odd/bundle.js" "$work/esc/odd/"
printf 'name = "odd"\nversion = "1.0\\u001b[2J\\nFAKE ok line"\n' >"$work/esc/odd/manifest.toml"
expect_status 0 "list a bundle with escapes in its version" "$cli" list "$work/esc"
! grep -q "$(printf '\033')" "$work/out" || fail "an escape reached the terminal"
! grep -q "^FAKE" "$work/out" || fail "a version made a line of its own"
expect_output "1.0\?\[2J\?FAKE" "the version is shown, its controls as '?'"

# a plugins directory with problems: exit 1, each failure named
mkdir -p "$work/bad/fine" "$work/bad/broken" "$work/bad/needy"
cat >"$work/bad/fine/bundle.js" <<'JS'
function polyplug_init(hl, hh, cl, ch, b) {
  return [[{ contractLo: 1822434217, contractHi: 886099779, contractName: 'x.Fine@1', version: 0x10000,
             fnCount: 1, interface: { factory: () => ({}), functions: [() => 0] } }],
          { code: 0, message: '' }];
}
JS
printf 'name = "broken"\nprovides = ["x.B@1"\n' >"$work/bad/broken/manifest.toml"
printf 'name = "needy"\n[[dependency]]\ncontract = "x.Missing@1"\n' >"$work/bad/needy/manifest.toml"
cp "$work/bad/fine/bundle.js" "$work/bad/needy/"
mkdir -p "$work/bad/misnamed" # an id that is not its name's
sed 's/contractLo: 1822434217/contractLo: 1822434218/' "$work/bad/fine/bundle.js" \
	>"$work/bad/misnamed/bundle.js"
expect_status 1 "check a bad directory" "$cli" check "$work/bad"
expect_output "FAIL broken +PP_ERR_[A-Z_]+: .*manifest.toml:3:1: unterminated array" "manifest error named"
expect_output "FAIL needy +PP_ERR_[A-Z_]+: bundle 'needy' needs contract 'x.Missing@1'" "missing dependency named"
expect_output "FAIL misnamed +PP_ERR_INIT_FAILED: .*registering contract 'x.Fine@1' failed \(PP_ERR_INVALID_ARGUMENT\): .* has id 0x34d0cf436ca023aa, but its name gives 0x34d0cf436ca023a9" "an id that is not its name's is refused"
expect_output "ok +fine" "the good one still loads"
expect_status 1 "check -q" "$cli" check -q "$work/bad"
grep -q "ok   fine" "$work/out" && fail "check -q printed a success line"
# list says why a bundle did not load, and exits 1 as check does
expect_status 1 "list a bad directory" "$cli" list "$work/bad"
expect_output "FAIL broken +PP_ERR_[A-Z_]+: .*manifest.toml:3:1: unterminated array" "list names the manifest error"
expect_output "FAIL needy +PP_ERR_[A-Z_]+: bundle 'needy' needs contract 'x.Missing@1'" "list names the missing dependency"

# scaffolds that build and load
(cd "$work" && "$cli" new c hello_c >/dev/null && "$cli" new js hello_js >/dev/null) ||
	fail "new c / new js"
expect_status 2 "new refuses an existing directory" sh -c "cd '$work' && '$cli' new js hello_js"
# its Makefile compiles against the writer's headers unless told otherwise
expect_status 0 "new c's Makefile takes POLYPLUG_INCLUDE" make -n -C "$work/hello_c" POLYPLUG_INCLUDE=/opt/pp-include
expect_output "-I/opt/pp-include" "the include directory given is used"
# docs/debugging.md: the C scaffold builds with -g, and CFLAGS replaces the
# optimisation but keeps -fvisibility=hidden
expect_status 0 "new c's Makefile builds with -O2 -g" make -n -B -C "$work/hello_c"
expect_output "-O2 -g .*-fvisibility=hidden" "-O2 -g by default"
expect_status 0 "new c's Makefile takes CFLAGS" make -n -B -C "$work/hello_c" CFLAGS="-O0 -g"
expect_output "-O0 -g .*-fvisibility=hidden" "CFLAGS given, visibility kept"
expect_status 2 "new refuses a bad name" sh -c "cd '$work' && '$cli' new c 'bad name'"
expect_status 2 "new refuses a name that reads as an option" sh -c "cd '$work' && '$cli' new c -x"
expect_status 2 "new ts refuses a name that is no identifier" sh -c "cd '$work' && '$cli' new ts my-plug"
expect_status 2 "new js refuses a name its contract could not carry" sh -c "cd '$work' && '$cli' new js my-plug"
expect_status 2 "new c refuses a name starting with a digit" sh -c "cd '$work' && '$cli' new c 1abc"
expect_output "it names the contract 1abc.Hello: letters, digits and _" "the rule is said"
long=$(printf 'n%.0s' $(seq 64))
expect_status 2 "new refuses a name over 63 bytes" sh -c "cd '$work' && '$cli' new js $long"
expect_output "is not a name for \`new\` .*at most 63\)" "the limit is said"
[ -e "$work/$long" ] && fail "a refused name made a directory"
# the longest name `new` takes makes a scaffold that answers at once
long=$(printf 'n%.0s' $(seq 63))
expect_status 0 "new takes a 63-byte name" sh -c "cd '$work' && '$cli' new js $long"
expect_status 0 "its scaffold answers" "$cli" call "$work/$long" "$long.Hello@1" hello world
expect_output "^Hello, world$" "the 63-byte scaffold answers"
rm -rf "${work:?}/$long"
expect_status 0 "the C scaffold builds" make -C "$work/hello_c"
mkdir -p "$work/scaffolds" && mv "$work/hello_c" "$work/hello_js" "$work/scaffolds/"
expect_status 0 "the scaffolds load" "$cli" check "$work/scaffolds"
expect_output "2 bundles loaded, 0 failed" "both scaffolds load"
expect_status 0 "list the scaffolds" "$cli" list "$work/scaffolds"
expect_output "provides hello_c.Hello@1" "C scaffold contract"
expect_output "provides hello_js.Hello@1" "JS scaffold contract"

# check --strict: a native bundle exporting more than its entry points
mkdir -p "$work/leaky" && cp -r "$work/scaffolds/hello_c" "$work/leaky/"
echo '__attribute__((visibility("default"))) int leaky_helper(void) { return 1; }' >>"$work/leaky/hello_c/hello_c.c"
rm -f "$work/leaky/hello_c/hello_c.so"
make -C "$work/leaky/hello_c" >/dev/null 2>&1 || fail "the leaky build"
expect_status 0 "check without --strict ignores exports" "$cli" check "$work/leaky"
expect_status 1 "check --strict flags exports" "$cli" check --strict "$work/leaky"
expect_output "WARN hello_c +exports 'leaky_helper' besides polyplug's entry points: build it with -fvisibility=hidden" "the export is named"
expect_status 0 "check --strict passes the scaffolds" "$cli" check --strict "$work/scaffolds"
# a library loads without section headers: --strict reads its dynamic
# symbols through PT_DYNAMIC then, and says so when it finds none
strip_sections() { # e_shoff, e_shnum and e_shstrndx to 0
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[0x28:0x30] = bytes(8); b[0x3c:0x40] = bytes(4); open(p, "wb").write(b)' "$1"
}
retype_segments() { # FILE FROM TO: each program header of type FROM becomes TO
	python3 -c 'import sys, struct; p, f, t = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3], 0)
b = bytearray(open(p, "rb").read()); off, = struct.unpack_from("<Q", b, 0x20); n, = struct.unpack_from("<H", b, 0x38)
for i in range(n):
	if struct.unpack_from("<I", b, off + 56 * i)[0] == f: struct.pack_into("<I", b, off + 56 * i, t)
open(p, "wb").write(b)' "$@"
}
if command -v python3 >/dev/null; then
	strip_sections "$work/leaky/hello_c/hello_c.so"
	expect_status 0 "a library without section headers loads" "$cli" check "$work/leaky"
	expect_status 1 "check --strict reads exports without section headers" "$cli" check --strict "$work/leaky"
	expect_output "WARN hello_c +exports 'leaky_helper' besides" "the export is found through PT_DYNAMIC"
	# a second library in the bundle with no dynamic table to be found
	cp "$work/leaky/hello_c/hello_c.so" "$work/leaky/hello_c/extra.so"
	retype_segments "$work/leaky/hello_c/extra.so" 2 0
	expect_status 1 "check --strict on a library with no dynamic symbol table" "$cli" check --strict "$work/leaky"
	expect_output "WARN hello_c +no dynamic symbol table found in extra.so to check what it exports" \
		"an unreadable library is named, not passed"
	expect_output "1 native bundle with a library whose exports could not be read: an error with --strict" \
		"the count says why --strict fails"
	# one claiming more program headers than a library has is not walked
	# (each word of its hash table would be looked up through all of them)
	cp "$work/leaky/hello_c/hello_c.so" "$work/leaky/hello_c/extra.so"
	python3 -c 'import sys, struct; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); struct.pack_into("<H", b, 0x38, 257); open(p, "wb").write(b)' "$work/leaky/hello_c/extra.so"
	expect_status 1 "check --strict on a library of 257 program headers" "$cli" check --strict "$work/leaky"
	expect_output "WARN hello_c +no dynamic symbol table found in extra.so" "its table is not read"
	# the dynamic linker reads the last PT_DYNAMIC of a library that has
	# several (here GNU_STACK made one, empty): so does --strict, reading one
	# table once, not each a file claims (255 each pointing at a hash chain
	# to the end of the file took seconds)
	cp "$work/leaky/hello_c/hello_c.so" "$work/leaky/hello_c/extra.so"
	retype_segments "$work/leaky/hello_c/extra.so" 0x6474e551 2
	expect_status 1 "check --strict on a library with a second, empty PT_DYNAMIC" "$cli" check --strict "$work/leaky"
	expect_output "WARN hello_c +no dynamic symbol table found in extra.so" "only the last PT_DYNAMIC is read"
	rm "$work/leaky/hello_c/extra.so"
	# a file whose 255 segments all map it whole, with a hash table as long
	# as they reach: each word is read once from the file, not looked up
	# through every segment (that took 24 s for these 4 MiB)
	python3 - "$work/leaky/hello_c/extra.bin" 4194304 <<'PY'
import struct, sys
out, size = sys.argv[1], int(sys.argv[2])
b = bytearray(size)
b[0:7] = b'\x7fELF\x02\x01\x01'
struct.pack_into('<HHIQQQIHHHHHH', b, 16, 3, 62, 1, 0, 64, 0, 0, 64, 56, 256, 64, 0, 0)
for k in range(255):
    struct.pack_into('<IIQQQQQQ', b, 64 + 56 * k, 1, 5, 0, k * size, k * size, size, size, 4096)
struct.pack_into('<IIQQQQQQ', b, 64 + 56 * 255, 2, 6, 16384, 16384, 16384, 96, 96, 8)
for i, (tag, val) in enumerate([(6, 8192), (5, 12288), (10, 16), (0x6ffffef5, 20480), (0, 0)]):
    struct.pack_into('<qQ', b, 16384 + 16 * i, tag, val)
struct.pack_into('<IIII', b, 20480, (255 * size - 20496) // 4 - 1, 0x7fffffff, 0, 0)
open(out, 'wb').write(b)
PY
	expect_status 1 "check --strict on a library whose segments all map it" \
		timeout 20 "$cli" check --strict "$work/leaky"
	expect_output "WARN hello_c +no dynamic symbol table found in extra.bin" "read in time, and said"
	rm "$work/leaky/hello_c/extra.bin"
fi
# a library larger than the tool reads (64 MiB) is flagged and named, not
# passed unchecked
cp "$work/scaffolds/hello_c/hello_c.so" "$work/scaffolds/hello_c/big.so"
truncate -s 65M "$work/scaffolds/hello_c/big.so"
expect_status 1 "check --strict on a library too large to read" "$cli" check --strict "$work/scaffolds"
expect_output "WARN hello_c +no dynamic symbol table found in big.so to check" "the large library is named"
rm "$work/scaffolds/hello_c/big.so"
# the elf fuzz target's seeds and regressions (fuzz/corpus/elf,
# fuzz/regressions/elf) beside the leaky library: read without a crash, and
# one whose exports cannot be read is named
for f in "$examples"/../fuzz/corpus/elf/* "$examples"/../fuzz/regressions/elf/*; do
	cp "$f" "$work/leaky/hello_c/extra.so"
	expect_status 1 "check --strict beside ${f#"$examples"/../}" timeout 20 "$cli" check --strict "$work/leaky"
	if grep -q "no dynamic symbol table found" "$work/out"; then
		expect_output "found in extra.so to check" "${f#"$examples"/../} is named"
	fi
done
rm -f "$work/leaky/hello_c/extra.so"
printf 'name = "odd"\nfunction_cuont = {}\n' >"$work/keys/odd/manifest.toml"
expect_status 1 "a misspelt key" "$cli" check --strict "$work/keys"
expect_output "unknown key 'function_cuont' ignored \(did you mean 'function_count'\?\)" "did you mean"

# call: one function, typed by the contract file the scaffold's manifest lists
expect_status 0 "call the JS scaffold" "$cli" call "$work/scaffolds/hello_js" hello_js.Hello@1 hello world
expect_output "^Hello, world$" "the JS scaffold answers"
expect_status 0 "call the C scaffold by index" "$cli" call "$work/scaffolds/hello_c" hello_c.Hello@1 0 'C & you'
expect_output "^Hello, C & you$" "the C scaffold answers"
expect_status 0 "call into a plugins directory" "$cli" call "$work/scaffolds" hello_c.Hello@1 hello x
expect_output "^Hello, x$" "a plugins directory finds the provider"
expect_status 1 "call a contract nobody provides" "$cli" call "$work/scaffolds" hello_js.Helo@1 hello x
expect_output "PP_ERR_NOT_FOUND: no bundle provides hello_js.Helo@1 \(loaded: .*\); did you mean hello_js.Hello@1\?" "the miss says what is loaded"
# a text result: the plugin's bytes when piped, its control characters as
# '?' on a terminal (where an escape could retitle or rewrite it)
title=$(printf 'x\033]0;pwned\007y')
expect_status 0 "a text result with escapes, piped" "$cli" call "$work/scaffolds/hello_js" hello_js.Hello@1 hello "$title"
grep -q "^Hello, $title\$" "$work/out" || fail "a piped text result is the plugin's bytes"
if command -v script >/dev/null; then
	expect_status 0 "a text result with escapes, on a terminal" \
		script -qec "'$cli' call '$work/scaffolds/hello_js' hello_js.Hello@1 hello \"\$(printf 'x\\033]0;pwned\\007y')\"" /dev/null
	! grep -q "$(printf '\033')" "$work/out" || fail "an escape in a result reached the terminal"
	expect_output "^Hello, x\?\]0;pwned\?y" "a result's escapes show as '?' on a terminal"
fi
expect_status 2 "call a function the contract lacks" "$cli" call "$work/scaffolds/hello_js" hello_js.Hello@1 greet x
expect_output "has no function 'greet' \(it has: hello\)" "the functions are listed"
expect_status 2 "call with too few arguments" "$cli" call "$work/scaffolds/hello_js" hello_js.Hello@1 hello
expect_output "hello takes 1 argument \(StringView who\), not 0" "the params are listed"
expect_status 2 "call without CONTRACT@MAJOR" "$cli" call "$work/scaffolds/hello_js" hello_js.Hello hello x
mkdir -p "$work/calls/calc"
cat >"$work/calls/calc/bundle.js" <<'JS'
function polyplug_init() {
  return [[{ contractLo: 893571648, contractHi: 2420000412, contractName: 'calc.Ops@1',
             version: 0x10000, fnCount: 3, interface: { factory: () => ({}),
             functions: [(i, a, b) => a + b, (i, x) => { console.log('halving', x); return x / 2; },
                         (i, a) => { throw new Error('no way'); }],
             signatures: [{ params: ['i32', 'i32'], result: 'i32' },
                          { params: ['f64'], result: 'f64' }, { params: ['u8'], result: 'u8' }] } }],
          { code: 0, message: '' }];
}
JS
cat >"$work/calls/calc.toml" <<'TOML'
[[guest_contract]]
name = "calc.Ops"
version = "1.0.0"
[[guest_contract.functions]]
name = "add"
params = [{ name = "a", type = "i32" }, { name = "b", type = "i32" }]
return = "i32"
[[guest_contract.functions]]
name = "half"
params = [{ name = "x", type = "f64" }]
return = "f64"
[[guest_contract.functions]]
name = "boom"
params = [{ name = "a", type = "u8" }]
return = "u8"
TOML
expect_status 0 "call with --contracts" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 add -5 7
expect_output "^2$" "typed ints"
expect_status 0 "call a logging function" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 half 5
expect_output "^2.5$" "typed floats"
expect_output "^\[calc\] halving 5$" "the plugin's log is shown"
# the result goes to stdout, what the plugin logs to stderr
"$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 half 5 \
	>"$work/stdout" 2>"$work/stderr" || fail "call a logging function, split"
grep -qx "2.5" "$work/stdout" && ! grep -q halving "$work/stdout" ||
	fail "the result alone is on stdout: $(cat "$work/stdout")"
grep -qx "\[calc\] halving 5" "$work/stderr" || fail "the plugin's log is on stderr: $(cat "$work/stderr")"
# DIR may be a bundle's file rather than its directory
expect_status 0 "call a bundle file" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc/bundle.js" calc.Ops@1 add 2 3
expect_output "^5$" "the file is loaded and called"
expect_status 2 "an argument out of range" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 boom 300
expect_output "param 'a' \(u8\): '300' is not a value of that type" "the bad argument is named"
expect_status 1 "a call that throws" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 boom 3
expect_output "PP_ERR_GENERIC: bundle 'calc', contract 'calc.Ops@1', function 2: .*Error: no way" "the cause is printed"
expect_status 0 "call with raw bytes" "$cli" call --out-size 4 "$work/calls/calc" calc.Ops@1 0 02000000 03000000
expect_output "^05000000$" "raw args in, raw result out"
expect_status 2 "raw args that are not hex" "$cli" call --out-size 4 "$work/calls/calc" calc.Ops@1 0 zz
# sizes from the command line are padded: the plugin reads zeros, not the heap
expect_status 0 "raw args shorter than the function's" "$cli" call --out-size 1 "$work/calls/calc" calc.Ops@1 0 05
expect_output "^05$" "the missing bytes read as zero"
# a JS bundle's own signature never decides how much of the buffers is read
# or written: the call declares their sizes first, so a larger signature is
# refused at load (a struct of 31 structs of 64 f64: 15,872 bytes)
mkdir -p "$work/calls/huge"
js_bundle "$work/calls/huge/bundle.js" <<'JS'
var Inner = { struct: Array.from({ length: 64 }, (_, i) => ['f' + i, 'f64']) };
var Big = { struct: Array.from({ length: 31 }, (_, i) => ['s' + i, Inner]) };
function big() {
  var o = {};
  for (var i = 0; i < 31; i++) { var s = {}; for (var j = 0; j < 64; j++) s['f' + j] = 1.5; o['s' + i] = s; }
  return o;
}
function polyplug_init() {
  var id = cid('guest_contract:huge.H@1');
  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'huge.H@1', version: 0x10000, fnCount: 2,
             interface: { factory: () => ({}), functions: [(i) => big(), (i, b) => b.s30.f63],
                          signatures: [{ params: [], result: Big }, { params: [Big], result: 'f64' }] } }],
          { code: 0, message: '' }];
}
JS
expect_status 1 "a raw call of a function writing more than --out-size" "$cli" call --out-size 8 "$work/calls/huge" huge.H@1 0
expect_output "PP_ERR_LOAD_FAILED: .*function 0 declares args of 0 and out of 15872 bytes; the host's callers pass 4096 and 4096" \
	"a result larger than the out buffer is refused at load"
expect_status 1 "a raw call of a function reading more than the args given" "$cli" call --out-size 8 "$work/calls/huge" huge.H@1 1 00
expect_output "PP_ERR_LOAD_FAILED: .*function 1 declares args of 15872 and out of 8 bytes; the host's callers pass 4096 and 4096" \
	"params larger than the args buffer are refused at load"
# with a contract file saying so, the buffers are as big as its layout
{
	printf '[[struct]]\nname = "In"\nfields = ['
	for j in $(seq 0 63); do printf '%s{ name = "f%d", type = "f64" }' "$([ "$j" = 0 ] || echo ', ')" "$j"; done
	printf ']\n[[struct]]\nname = "Big"\nfields = ['
	for i in $(seq 0 30); do printf '%s{ name = "s%d", type = "In" }' "$([ "$i" = 0 ] || echo ', ')" "$i"; done
	printf ']\n[[guest_contract]]\nname = "huge.H"\nversion = "1.0.0"\n'
	printf '[[guest_contract.functions]]\nname = "big"\nparams = []\nreturn = "Big"\n'
	printf '[[guest_contract.functions]]\nname = "last"\nparams = [{ name = "b", type = "Big" }]\nreturn = "f64"\n'
} >"$work/calls/huge.toml"
expect_status 0 "a raw call typed by a contract file with a large result" "$cli" call --contracts "$work/calls/huge.toml" --out-size 8 "$work/calls/huge" huge.H@1 0
expect_output "^000000000000f83f$" "the out buffer holds the contract's result"
# the name is looked up as written: a major spelt "01" would find a
# contract other than the @1 whose sizes were declared
expect_status 2 "a major with a leading zero" "$cli" call --out-size 8 "$work/calls/huge" huge.H@01 0
expect_output "is not CONTRACT@MAJOR" "it is refused"
# a JS bundle's bridge is checked from its init on, whatever it asks for
js_probe() { # dir, manifest lines, init's statement, function 0's statement
	mkdir -p "$1"
	printf '%b' "$2" >"$1/manifest.toml"
	js_bundle "$1/bundle.js" <<JS
function polyplug_init(hostLo, hostHi, ctxLo, ctxHi, bridge) {
  var host = hostLo + hostHi * 4294967296;
  $3;
  var id = cid('guest_contract:p.P@1');
  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'p.P@1', version: 0x10000, fnCount: 2,
             interface: { factory: () => ({}),
                          functions: [(impl, a, out, arena, bridge) => { $4; return 0; }, () => 0],
                          layouts: [{ args: 0, out: 8 }] } }],
          { code: 0, message: '' }];
}
JS
}
js_probe "$work/probe/init" 'name = "init"\n' "bridge.writeU32(host + 0x100000, 1)" ""
expect_status 1 "an init writing host memory" "$cli" call --out-size 8 "$work/probe/init" p.P@1 0
expect_output "PP_ERR_INIT_FAILED: .*writeU32 at address .*outside the memory this bundle was given" "it is refused"
js_probe "$work/probe/compat" 'name = "compat"\nmemory = "compat"\n' "" "bridge.writeU32(out + 4160, 1)"
expect_status 1 "a bundle asking for compat memory" "$cli" call --out-size 8 "$work/probe/compat" p.P@1 0
expect_output "compat" "it is refused, saying why"
js_probe "$work/probe/extra" 'name = "extra"\n' "" "bridge.writeU32(out + 4160, 1)"
expect_status 1 "a bundle with an unsized function" "$cli" call --out-size 8 "$work/probe/extra" p.P@1 0
expect_output "guarded memory is required, but function 1 of contract 'p.P@1' has neither" "it is refused, not run unchecked"
# a result's text must lie in the memory the call gave: a bundle whose own
# signature returns numbers where the contract file says text is caught
mkdir -p "$work/probe/sv"
js_bundle "$work/probe/sv/bundle.js" <<'JS'
var H = [0, 0];
var Four = { struct: [['a', 'u32'], ['b', 'u32'], ['c', 'u32'], ['d', 'u32']] };
function polyplug_init(hostLo, hostHi) {
  H = [hostLo, hostHi];
  var id = cid('guest_contract:sv.S@1');
  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'sv.S@1', version: 0x10000, fnCount: 1,
             interface: { factory: () => ({}), functions: [() => ({ a: H[0], b: H[1], c: 100000, d: 0 })],
                          signatures: [{ params: [], result: Four }] } }],
          { code: 0, message: '' }];
}
JS
printf '[[guest_contract]]\nname = "sv.S"\nversion = "1.0.0"\n[[guest_contract.functions]]\nname = "get"\nparams = []\nreturn = "StringView"\n' >"$work/probe/sv/c.toml"
printf 'name = "sv"\ncontracts = ["c.toml"]\n' >"$work/probe/sv/manifest.toml"
expect_status 1 "a text result pointing outside the call's memory" "$cli" call "$work/probe/sv" sv.S@1 get
expect_output "get's result holds text or bytes outside the memory the call was given" "it is not read"
# a plugins directory: a bundle that does not load is said and passed over
js_probe "$work/probe/dir/bad" 'name = "bad"\nmemory = "compat"\n' "" ""
mkdir -p "$work/probe/dir/calc" && cp "$work/calls/calc/"* "$work/probe/dir/calc/"
expect_status 0 "a call past a neighbour that does not load" "$cli" call --contracts "$work/calls/calc.toml" "$work/probe/dir" calc.Ops@1 add 2 3
expect_output "^5$" "the call is made"
expect_output "bundle 'bad' not loaded: PP_ERR_" "the neighbour is named"
expect_status 0 "a typed call with a large result" "$cli" call --contracts "$work/calls/huge.toml" "$work/calls/huge" huge.H@1 big
expect_output "s30: \{ f0: 1.5, .* f63: 1.5 \} \}$" "a result larger than 4096 bytes prints whole"
# a contract file that disagrees with the bundle: declared first, so refused at load
sed 's/{ name = "a", type = "i32" }, { name = "b", type = "i32" }/{ name = "a", type = "u8" }/' \
	"$work/calls/calc.toml" >"$work/calls/small.toml"
expect_status 1 "a contract file smaller than the bundle" "$cli" call --contracts "$work/calls/small.toml" "$work/calls/calc" calc.Ops@1 add 1
expect_output "PP_ERR_" "the refusal is named"
# a contract file that is a FIFO is refused, not waited on
mkfifo "$work/calls/fifo.toml"
expect_status 2 "a contract file that is a FIFO" timeout 20 "$cli" call --contracts "$work/calls/fifo.toml" "$work/calls/calc" calc.Ops@1 add 1 2
# a contract file the manifest lists is read from the bundle's directory only
mkdir -p "$work/outside/calc"
cp "$work/calls/calc/bundle.js" "$work/outside/calc/"
printf 'name = "calc"\ncontracts = ["calc.toml"]\n' >"$work/outside/calc/manifest.toml"
ln -s "$work/calls/calc.toml" "$work/outside/calc/calc.toml"
expect_status 2 "a listed contract file linked from elsewhere" "$cli" call "$work/outside/calc" calc.Ops@1 add 1 2
expect_output "'calc.toml' is missing or leads out of the bundle directory" "the link is refused"
rm "$work/outside/calc/calc.toml"
cp "$work/calls/calc.toml" "$work/outside/calc/"
expect_status 0 "the same file inside the bundle" "$cli" call "$work/outside/calc" calc.Ops@1 add 1 2
expect_output "^3$" "typed by the listed file"
# what a plugin logs reaches the terminal without its control characters
mkdir -p "$work/calls/noisy"
cat >"$work/calls/noisy/bundle.js" <<'JS'
function polyplug_init() {
  return [[{ contractLo: 893571648, contractHi: 2420000412, contractName: 'calc.Ops@1',
             version: 0x10000, fnCount: 1, interface: { factory: () => ({}),
             functions: [() => { console.log('bell\u0007 and \u001b[31mred \u009b32mgreen \u00e9'); return 0; }] } }],
          { code: 0, message: '' }];
}
JS
expect_status 0 "a plugin logging escapes" "$cli" call --out-size 0 "$work/calls/noisy" calc.Ops@1 0
expect_output "^\[noisy\] bell\? and \?\[31mred \?32mgreen é$" "escapes, C1's too, are shown as '?'; other text stays"

# call: each argument form docs/cli.md names, typed by a contract file: 0x…
# integers (range-checked), true/false, an enum variant's name or value, text
# or hex: for a Buffer; results as their type reads, a struct as { field: … }
mkdir -p "$work/calls/kinds"
js_bundle "$work/calls/kinds/bundle.js" <<'JS'
var Pt = { struct: [['x', 'i32'], ['y', 'f64']] };
function polyplug_init() {
  var id = cid('guest_contract:kinds.K@1');
  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'kinds.K@1', version: 0x10000, fnCount: 6,
             interface: { factory: () => ({}),
               functions: [(i, x) => x, (i, b) => !b, (i, c) => c + 1,
                           (i, b) => b.slice().reverse(), (i, x, y) => ({ x: x, y: y }), (i, p) => p.x],
               signatures: [{ params: ['u32'], result: 'u32' }, { params: ['bool'], result: 'bool' },
                            { params: ['u8'], result: 'u8' }, { params: ['Buffer', 'Arena'], result: 'Buffer' },
                            { params: ['i32', 'f64'], result: Pt }, { params: [Pt], result: 'i32' }] } }],
          { code: 0, message: '' }];
}
JS
cat >"$work/calls/kinds.toml" <<'TOML'
[[enum]]
name = "Color"
repr = "u8"
variants = [{ name = "Red", value = 1 }, { name = "Green", value = 2 }, { name = "Blue", value = 3 }]
[[struct]]
name = "Pt"
fields = [{ name = "x", type = "i32" }, { name = "y", type = "f64" }]
[[guest_contract]]
name = "kinds.K"
version = "1.0.0"
[[guest_contract.functions]]
name = "same"
params = [{ name = "x", type = "u32" }]
return = "u32"
[[guest_contract.functions]]
name = "flip"
params = [{ name = "b", type = "bool" }]
return = "bool"
[[guest_contract.functions]]
name = "next"
params = [{ name = "c", type = "Color" }]
return = "Color"
[[guest_contract.functions]]
name = "rev"
params = [{ name = "b", type = "Buffer" }]
return = "Buffer"
[[guest_contract.functions]]
name = "pt"
params = [{ name = "x", type = "i32" }, { name = "y", type = "f64" }]
return = "Pt"
[[guest_contract.functions]]
name = "px"
params = [{ name = "p", type = "Pt" }]
return = "i32"
TOML
kinds() { "$cli" call --contracts "$work/calls/kinds.toml" "$@"; }
expect_status 0 "a 0x integer" kinds "$work/calls/kinds" kinds.K@1 same 0xff
expect_output "^255$" "0x… reads as hex"
expect_status 0 "the largest u32 in hex" kinds "$work/calls/kinds" kinds.K@1 same 0xffffffff
expect_output "^4294967295$" "0xffffffff is a u32"
expect_status 2 "a 0x integer out of range" kinds "$work/calls/kinds" kinds.K@1 same 0x100000000
expect_output "param 'x' \(u32\): '0x100000000' is not a value of that type" "hex is range-checked"
expect_status 0 "true" kinds "$work/calls/kinds" kinds.K@1 flip true
expect_output "^false$" "a bool in, a bool out"
expect_status 0 "false" kinds "$work/calls/kinds" kinds.K@1 flip false
expect_output "^true$" "false reads as false"
expect_status 2 "a bool that is not true/false" kinds "$work/calls/kinds" kinds.K@1 flip yes
expect_output "param 'b' \(bool\): 'yes' is not a value of that type" "only true/false"
expect_status 0 "an enum variant by name" kinds "$work/calls/kinds" kinds.K@1 next Red
expect_output "^Green$" "the result prints as a variant name"
expect_status 0 "an enum variant by value" kinds "$work/calls/kinds" kinds.K@1 next 2
expect_output "^Blue$" "a variant's value is accepted"
expect_status 0 "an enum result that is no variant" kinds "$work/calls/kinds" kinds.K@1 next Blue
expect_output "^4 \(not a Color variant\)$" "a value outside the enum is shown as such"
expect_status 2 "an unknown variant" kinds "$work/calls/kinds" kinds.K@1 next Purple
expect_output "param 'c' \(Color\): 'Purple' is not a value of that type" "the unknown variant is named"
expect_status 0 "a hex: Buffer" kinds "$work/calls/kinds" kinds.K@1 rev hex:0a0B0c
expect_output "^hex:0c0b0a$" "hex: bytes in, a Buffer prints as hex:"
expect_status 0 "a text Buffer" kinds "$work/calls/kinds" kinds.K@1 rev ab
expect_output "^hex:6261$" "text is a Buffer's bytes"
expect_status 2 "a hex: Buffer that is not hex" kinds "$work/calls/kinds" kinds.K@1 rev hex:0g
expect_output "param 'b' \(Buffer\): 'hex:0g' is not a value of that type" "bad hex is refused"
expect_status 0 "a struct result" kinds "$work/calls/kinds" kinds.K@1 pt 3 2.5
expect_output "^\{ x: 3, y: 2.5 \}$" "a struct prints as { field: value, … }"
expect_status 2 "a struct param" kinds "$work/calls/kinds" kinds.K@1 px 1
expect_output "param 'p' is a struct \(Pt\): struct params cannot be given on the command line" \
	"struct params are refused"
# integers are decimal or 0x…, never octal; leading spaces are refused for
# floats as for integers; a float the type cannot hold is refused, not
# turned into inf or 0
expect_status 0 "a decimal integer with a leading 0" kinds "$work/calls/kinds" kinds.K@1 same 010
expect_output "^10$" "010 is ten, not octal eight"
expect_status 0 "08" kinds "$work/calls/kinds" kinds.K@1 same 08
expect_output "^8$" "08 is eight"
expect_status 2 "0x without digits" kinds "$work/calls/kinds" kinds.K@1 same 0x
expect_status 2 "an integer with a leading space" kinds "$work/calls/kinds" kinds.K@1 same " 5"
expect_status 0 "a negative decimal with a leading 0" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 add -010 0
expect_output "^-10$" "-010 is minus ten"
expect_status 0 "a negative hex integer" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 add -0x10 0
expect_output "^-16$" "-0x10 is minus sixteen"
expect_status 2 "a float with a leading space" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 half " 2.5"
expect_output "param 'x' \(f64\): ' 2.5' is not a value of that type" "the spaced float is refused"
expect_status 2 "a float with a '+'" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 half +2.5
expect_status 2 "an f64 that underflows to 0" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 half 1e-400
expect_status 2 "an f64 that overflows" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/calc" calc.Ops@1 half 1e999
mkdir -p "$work/calls/f32"
js_bundle "$work/calls/f32/bundle.js" <<'JS'
function polyplug_init() {
  var id = cid('guest_contract:f32.F@1');
  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'f32.F@1', version: 0x10000, fnCount: 1,
             interface: { factory: () => ({}), functions: [(i, x) => x],
                          signatures: [{ params: ['f32'], result: 'f32' }] } }],
          { code: 0, message: '' }];
}
JS
printf '[[guest_contract]]\nname = "f32.F"\nversion = "1.0.0"\n[[guest_contract.functions]]\nname = "same"\nparams = [{ name = "x", type = "f32" }]\nreturn = "f32"\n' \
	>"$work/calls/f32.toml"
f32() { "$cli" call --contracts "$work/calls/f32.toml" "$work/calls/f32" f32.F@1 same "$@"; }
expect_status 0 "an f32" f32 2.5
expect_output "^2.5$" "an f32 in, an f32 out"
expect_status 2 "an f32 beyond its range" f32 1e39
expect_output "param 'x' \(f32\): '1e39' is not a value of that type" "1e39 is no f32"
expect_status 2 "an f32 that underflows to 0" f32 1e-50
expect_status 0 "inf as an f32" f32 inf
expect_output "^inf$" "inf given is inf"
# --bundle NAME: the provider from that bundle rather than the first
mkdir -p "$work/twins/one" "$work/twins/two"
cp "$work/calls/kinds/bundle.js" "$work/twins/one/"
sed 's/(i, x) => x,/(i, x) => x + 1,/' "$work/calls/kinds/bundle.js" >"$work/twins/two/bundle.js"
expect_status 0 "--bundle one" kinds --bundle one "$work/twins" kinds.K@1 same 7
expect_output "^7$" "--bundle one calls one's"
expect_status 0 "--bundle two" kinds --bundle two "$work/twins" kinds.K@1 same 7
expect_output "^8$" "--bundle two calls two's"
expect_status 1 "--bundle naming no provider" kinds --bundle three "$work/twins" kinds.K@1 same 7
expect_output "no bundle named 'three' provides kinds.K@1 \(loaded: .*from bundle 'one'.*from bundle 'two'\)" \
	"the providers are listed"

# in a plugins directory, the contract files of the bundle that provides the
# contract type the call: another bundle's file for the same contract does
# not decide it (the twins' files name function 0 differently)
mkdir -p "$work/sides/one" "$work/sides/two"
cp "$work/twins/one/bundle.js" "$work/sides/one/"
cp "$work/twins/two/bundle.js" "$work/sides/two/"
cp "$work/calls/kinds.toml" "$work/sides/one/contracts.toml"
sed 's/name = "same"/name = "ident"/' "$work/calls/kinds.toml" >"$work/sides/two/contracts.toml"
printf 'name = "%s"\ncontracts = ["contracts.toml"]\n' one >"$work/sides/one/manifest.toml"
printf 'name = "%s"\ncontracts = ["contracts.toml"]\n' two >"$work/sides/two/manifest.toml"
expect_status 0 "the provider's own contract file (one)" "$cli" call --bundle one "$work/sides" kinds.K@1 same 7
expect_output "^7$" "one's file names function 0 'same'"
expect_status 0 "the provider's own contract file (two)" "$cli" call --bundle two "$work/sides" kinds.K@1 ident 7
expect_output "^8$" "two's file names function 0 'ident'"
expect_status 2 "a name only another bundle's file gives" "$cli" call --bundle two "$work/sides" kinds.K@1 same 7
expect_output "has no function 'same' \(it has: ident, " "two's own functions are listed"
# a neighbour whose contract files cannot be read does not block the others;
# it is named when it is the provider
mkdir -p "$work/sides/broken"
cp "$work/calls/calc/bundle.js" "$work/sides/broken/"
printf 'name = "broken"\ncontracts = ["contracts.toml"]\n' >"$work/sides/broken/manifest.toml"
printf '[[guest_contract]]\nname = \n' >"$work/sides/broken/contracts.toml"
expect_status 0 "call past a neighbour with a broken contract file" "$cli" call --bundle one "$work/sides" kinds.K@1 same 7
expect_output "^7$" "the broken neighbour is not read for the call"
expect_status 2 "call the bundle with the broken contract file" "$cli" call "$work/sides" calc.Ops@1 add 1 2
expect_output "polyplug: .*broken/contracts.toml:" "the provider's broken file is named"
# any number of bundles, each listing its contract file
mkdir -p "$work/many"
for i in $(seq 0 16); do
	(cd "$work/many" && "$cli" new js "m$i" >/dev/null) || fail "new js m$i"
done
expect_status 0 "call into 17 bundles with contract files" "$cli" call "$work/many" m16.Hello@1 hello x
expect_output "^Hello, x$" "the 17th bundle is called by name"
# without a file typing it, a function is called by index, and the message says why
expect_status 2 "a name with --contracts that lack the contract" "$cli" call --contracts "$work/calls/calc.toml" "$work/calls/kinds" kinds.K@1 same 1
expect_output "no --contracts file defines kinds.K@1, so 'same' cannot be called by name: give a file that does, or its index" \
	"the --contracts files are said to lack it"
expect_status 2 "a name without contract files" "$cli" call "$work/calls/calc" calc.Ops@1 add 1 2
expect_output "bundle 'calc' lists no contract file defining calc.Ops@1 \(\`contracts\` in its manifest\), so 'add' cannot be called by name: give --contracts FILE, or its index" \
	"the bundle is said to list none"

# ppc's JS glue: enums are frozen values at run time, unless the
# implementation brings its own
ppc_js_kinds() { # dir, the implementation's text
	mkdir -p "$1"
	printf '%s\n' "$2" >"$1/impl.js"
	"$(dirname "$cli")/ppc" js "$work/calls/kinds.toml" --implement kinds.K --impl "$1/impl.js" \
		-o "$1/bundle.js" || fail "ppc js $1"
}
kinds_class='class K {
  same(x) { return Object.isFrozen(Color) && Color.Green === 2 ? x : 0; }
  flip(b) { try { Color.Red = 9; return false; } catch (e) { return Color.Red === 1 && e instanceof TypeError; } }
  next(c) { return c === Color.Red ? Color.Green : Color.Red; }
  rev(b) { return b; }
  pt(x, y) { return { x: x, y: y }; }
  px(p) { return p.x; }
}'
ppc_js_kinds "$work/glue/frozen" "$kinds_class"
expect_status 0 "glue enums are frozen" kinds "$work/glue/frozen" kinds.K@1 same 5
expect_output "^5$" "Color is a frozen object with the contract's values"
expect_status 0 "glue enums refuse assignment" kinds "$work/glue/frozen" kinds.K@1 flip true
expect_output "^true$" "assigning a variant throws in a class body"
expect_status 0 "glue enums by name" kinds "$work/glue/frozen" kinds.K@1 next Red
expect_output "^Green$" "Color.Red and Color.Green are the variants"
ppc_js_kinds "$work/glue/own" "var Color = { Red: 1, Green: 3, Blue: 2 };
$kinds_class"
expect_status 0 "an implementation's own enum" kinds "$work/glue/own" kinds.K@1 next Red
expect_output "^Blue$" "the implementation's Color is kept (its Green is 3)"
# an enum of a 64-bit repr holds BigInts, as its params arrive (1n, not 1),
# exact up to 2^64-1
cat >"$work/calls/wide.toml" <<'TOML'
[[enum]]
name = "Wide"
repr = "u64"
variants = [{ name = "Small", value = 1 }, { name = "Top", value = "18446744073709551615" }]
[[guest_contract]]
name = "wide.W"
version = "1.0.0"
[[guest_contract.functions]]
name = "next"
params = [{ name = "w", type = "Wide" }]
return = "Wide"
TOML
mkdir -p "$work/glue/wide"
printf 'class W { next(w) { return w === Wide.Small ? Wide.Top : Wide.Small; } }\n' >"$work/glue/wide/impl.js"
"$(dirname "$cli")/ppc" js "$work/calls/wide.toml" --implement wide.W --impl "$work/glue/wide/impl.js" \
	-o "$work/glue/wide/bundle.js" || fail "ppc js wide"
expect_status 0 "a u64 enum's variant compared with its param" "$cli" call --contracts "$work/calls/wide.toml" "$work/glue/wide" wide.W@1 next Small
expect_output "^Top$" "the variant is the param's BigInt"
expect_status 0 "a u64 enum's top variant" "$cli" call --contracts "$work/calls/wide.toml" "$work/glue/wide" wide.W@1 next Top
expect_output "^Small$" "2^64-1 is exact"

# TypeScript: ppc's declarations make tsc --strict catch a missing method and
# a wrong return type; `polyplug new ts` builds a bundle that calls at once
ppc=$(dirname "$cli")/ppc
if command -v tsc >/dev/null; then
	mkdir -p "$work/ts"
	"$ppc" dts "$work/calls/calc.toml" -o "$work/ts/contracts.d.ts" || fail "ppc dts"
	write_ts() { # name, the class body
		printf "import type { OpsContract } from './contracts';\nexport class Ops implements OpsContract {\n%s\n}\n" "$2" >"$work/ts/$1.ts"
	}
	write_ts good "  add(a: number, b: number): number { return a + b; }
  half(x: number): number { return x / 2; }
  boom(a: number): number { return a; }"
	write_ts missing "  add(a: number, b: number): number { return a + b; }
  half(x: number): number { return x / 2; }"
	write_ts wrongtype "  add(a: number, b: number): string { return 'no'; }
  half(x: number): number { return x / 2; }
  boom(a: number): number { return a; }"
	tsc_run() { (cd "$work/ts" && tsc --strict --noEmit --target es2020 --moduleResolution node "$1.ts"); }
	expect_status 0 "tsc accepts a class that implements the contract" tsc_run good
	expect_status 2 "tsc refuses a missing method" tsc_run missing
	expect_output "Property 'boom' is missing" "the missing method is named"
	expect_status 2 "tsc refuses a wrong return type" tsc_run wrongtype
	expect_output "Type 'string' is not assignable to type 'number'" "the wrong type is named"
	# enums are the glue's global objects: a 64-bit one holds BigInts, so
	# comparing its param with a number is caught
	cat >"$work/ts/enums.toml" <<'TOML'
[[enum]]
name = "Color"
repr = "i32"
variants = [{ name = "Red", value = -1 }, { name = "Green", value = 2 }]
[[enum]]
name = "Wide"
repr = "u64"
variants = [{ name = "Small", value = 1 }, { name = "Top", value = "18446744073709551615" }]
[[guest_contract]]
name = "en.E"
version = "1.0.0"
[[guest_contract.functions]]
name = "next"
params = [{ name = "w", type = "Wide" }]
return = "Wide"
[[guest_contract.functions]]
name = "col"
params = [{ name = "c", type = "Color" }]
return = "Color"
TOML
	"$ppc" dts "$work/ts/enums.toml" -o "$work/ts/enums.d.ts" || fail "ppc dts enums"
	write_en() { # name, the class body
		printf "import type { EContract, Color, Wide } from './enums';\nexport class E implements EContract {\n%s\n}\n" "$2" >"$work/ts/$1.ts"
	}
	write_en en_good "  next(w: Wide): Wide { return w === Wide.Small ? Wide.Top : Wide.Small; }
  col(c: Color): Color { return c === Color.Red ? Color.Green : Color.Red; }"
	write_en en_number "  next(w: Wide): Wide { return w === 1 ? Wide.Top : Wide.Small; }
  col(c: Color): Color { return c; }"
	write_en en_outside "  next(w: Wide): Wide { return w; }
  col(c: Color): Color { return 1; }"
	expect_status 0 "tsc accepts enums used as the glue's globals" tsc_run en_good
	expect_status 2 "tsc refuses a 64-bit enum compared with a number" tsc_run en_number
	expect_output "types 'bigint' and 'number' have no overlap" "the BigInt is named"
	expect_status 2 "tsc refuses a value that is no variant" tsc_run en_outside
	expect_output "Type '1' is not assignable to type 'Color'" "the value is named"
	# two bundles' declarations of one enum in one program (an IDE's project)
	mkdir -p "$work/ts/other"
	"$ppc" dts "$work/ts/enums.toml" -o "$work/ts/other/enums.d.ts" || fail "ppc dts again"
	printf "import type { EContract as Other } from './other/enums';\nimport { E } from './en_good';\nexport class F extends E implements Other {}\n" >"$work/ts/both.ts"
	expect_status 0 "tsc takes two declarations of one enum" tsc_run both
	if command -v esbuild >/dev/null; then
		"$ppc" js "$work/ts/enums.toml" --implement en.E --glue-only -o "$work/ts/enums_glue.js" || fail "ppc js enums"
		mkdir -p "$work/ts/en"
		expect_status 0 "esbuild builds a class using the enums" esbuild "$work/ts/en_good.ts" --bundle \
			--format=iife --global-name=__polyplug_impl --target=es2020 --log-level=warning \
			--footer:js="var E = __polyplug_impl.E;$(cat "$work/ts/enums_glue.js")" --outfile="$work/ts/en/bundle.js"
		expect_status 0 "a TypeScript 64-bit enum compared with its param" "$cli" call --contracts "$work/ts/enums.toml" "$work/ts/en" en.E@1 next Small
		expect_output "^Top$" "Wide.Small is the param's BigInt"
		expect_status 0 "a TypeScript enum compared with its param" "$cli" call --contracts "$work/ts/enums.toml" "$work/ts/en" en.E@1 col Red
		expect_output "^Green$" "Color.Red is the param's Number"
	fi
fi
if command -v esbuild >/dev/null; then
	# without esbuild, the files are written and the message says how to get it
	mkdir -p "$work/noesbuild/bin"
	for tool in make sh mkdir cat; do ln -sf "$(command -v $tool)" "$work/noesbuild/bin/$tool"; done
	expect_status 1 "new ts without esbuild" sh -c "cd '$work/noesbuild' && PATH='$work/noesbuild/bin' '$cli' new ts hello_ts"
	expect_output "it needs Debian's esbuild \(apt install esbuild, or scripts/deps.sh --for ts\)" "how to install esbuild is said"
	[ -f "$work/noesbuild/hello_ts/hello_ts.ts" ] || fail "new ts without esbuild wrote no files"
	expect_status 0 "new ts builds at once" sh -c "cd '$work' && '$cli' new ts hello_ts"
	expect_output "built hello_ts/bundle.js" "the TypeScript scaffold is built"
	expect_status 0 "call the TypeScript scaffold" "$cli" call "$work/hello_ts" hello_ts.Hello@1 hello world
	expect_output "^Hello, world$" "the TypeScript scaffold answers"
	expect_output "^\[hello_ts\] greeting world$" "its console.log reaches the terminal"
	if command -v tsc >/dev/null; then
		expect_status 0 "the TypeScript scaffold type-checks" make -s -C "$work/hello_ts" check
	fi
	# its source map names the .ts file and line in a thrown error's frames
	sed -i 's/^    return `Hello, \${who}`;/    if (who === "boom") throw new Error("boom in ts");\n&/' \
		"$work/hello_ts/hello_ts.ts"
	expect_status 0 "rebuild the TypeScript scaffold" make -s -C "$work/hello_ts"
	expect_status 1 "call a throwing TypeScript function" "$cli" call "$work/hello_ts" hello_ts.Hello@1 hello boom
	expect_output "in hello\(\): Error: boom in ts" "the error reaches the caller"
	expect_output "at hello \(hello_ts.ts:12:[0-9]+\)" "the frame names the .ts file and line"
fi


# ppc manifest: what the command line gives is checked before it is written;
# a manifest it writes loads
expect_status 2 "ppc manifest refuses a control character" "$ppc" manifest "$work/calls/calc.toml" \
	--implement calc.Ops --name calc --version "$(printf '1.0\177')" -o "$work/m.toml"
expect_output "ppc: --version holds a control character" "the control character is named"
expect_status 2 "ppc manifest refuses invalid UTF-8" "$ppc" manifest "$work/calls/calc.toml" \
	--implement calc.Ops --name "$(printf 'ca\351lc')" -o "$work/m.toml"
expect_output "ppc: --name is not valid UTF-8" "the invalid name is named"
expect_status 2 "ppc manifest refuses a file outside the bundle" "$ppc" manifest "$work/calls/calc.toml" \
	--implement calc.Ops --name calc --file ../x.js -o "$work/m.toml"
expect_output "not a file name inside the bundle directory" "the file is refused"
[ -e "$work/m.toml" ] && fail "a refused manifest was written"
# a file ppc cannot write whole is not left, and the failure is said
# (the process may write 1 KiB: the glue is longer)
expect_status 2 "ppc js past the file size limit" bash -c \
	'trap "" XFSZ; ulimit -f 1; exec "$1" js "$2" --implement calc.Ops --glue-only -o "$3"' \
	_ "$ppc" "$work/calls/calc.toml" "$work/big.js"
expect_output "ppc: cannot write $work/big.js: File too large" "the write's failure is named"
[ -e "$work/big.js" ] || [ -e "$work/big.js.tmp" ] && fail "a half-written glue was left"
# --implement is read one way by both commands: an empty or repeated name is
# refused, never skipped or written twice
for cmd in manifest js; do
	extra="--name calc"
	[ $cmd = js ] && extra="--glue-only"
	expect_status 1 "ppc $cmd refuses a contract named twice" "$ppc" $cmd "$work/calls/calc.toml" \
		--implement calc.Ops,calc.Ops $extra -o "$work/m.toml"
	expect_output "ppc: --implement names 'calc.Ops' twice" "ppc $cmd names the repeated contract"
	expect_status 1 "ppc $cmd refuses an empty name" "$ppc" $cmd "$work/calls/calc.toml" \
		--implement calc.Ops,,calc.Ops $extra -o "$work/m.toml"
	expect_output "declares no guest contract ''" "ppc $cmd names the empty name"
done
expect_status 0 "ppc manifest with a non-ASCII version" "$ppc" manifest "$work/calls/calc.toml" \
	--implement calc.Ops --name calc --version "1.0-é" -o "$work/calls/calc/manifest.toml"
expect_status 0 "its manifest loads" "$cli" list "$work/calls"
expect_output "1.0-é" "the version reads back"
# ppc manifest: the loader follows the file (default bundle.js), each
# contract's function_count is written, and the contract file is listed
# when it sits next to the manifest
expect_status 0 "ppc manifest for a native file" "$ppc" manifest "$work/calls/calc.toml" \
	--implement calc.Ops --name calc --file calc.so -o "$work/calls/native.toml"
grep -qx 'loader = "native"' "$work/calls/native.toml" || fail "a .so implies the native loader"
grep -qx 'function_count = { "calc.Ops@1" = 3 }' "$work/calls/native.toml" || fail "function_count is written"
grep -qx 'contracts = \["calc.toml"\]' "$work/calls/native.toml" || fail "a contract file beside the manifest is listed"
mkdir -p "$work/calls/apart"
expect_status 0 "ppc manifest away from its contract file" "$ppc" manifest "$work/calls/calc.toml" \
	--implement calc.Ops --name calc -o "$work/calls/apart/manifest.toml"
grep -qx 'loader = "js-quickjs"' "$work/calls/apart/manifest.toml" &&
	grep -qx 'file = "bundle.js"' "$work/calls/apart/manifest.toml" || fail "the file defaults to bundle.js, a JS bundle"
grep -q '^contracts' "$work/calls/apart/manifest.toml" && fail "a contract file elsewhere is not listed"
# docs/debugging.md: a bundle ppc writes is a one-line header, then the
# implementation unchanged, so a frame's line N is the source's line N-1
mkdir -p "$work/lines"
printf '[[guest_contract]]\nname = "lines.L"\nversion = "1.0.0"\n[[guest_contract.functions]]\nname = "go"\nreturn = "i32"\n' \
	>"$work/lines/contracts.toml"
printf 'class L {\n  go() {\n    throw new Error("on line three");\n  }\n}\n' >"$work/lines/impl.js"
expect_status 0 "ppc js with an implementation" "$ppc" js "$work/lines/contracts.toml" --implement lines.L \
	--impl "$work/lines/impl.js" -o "$work/lines/bundle.js"
[ "$(sed -n 2,6p "$work/lines/bundle.js")" = "$(cat "$work/lines/impl.js")" ] ||
	fail "the implementation follows one header line, unchanged"
expect_status 0 "ppc manifest for it" "$ppc" manifest "$work/lines/contracts.toml" --implement lines.L \
	--name lines -o "$work/lines/manifest.toml"
expect_status 1 "call a function throwing on its line 3" "$cli" call "$work/lines" lines.L@1 go
expect_output "at go \(.*bundle\.js:4:[0-9]+\)" "the frame is the source's line plus one"

# ppc check: ids and layouts, and --against holds a kept major to its layout
expect_status 0 "ppc check" "$ppc" check "$work/calls/calc.toml"
expect_output "calc\.Ops@1" "ppc check names the contract"
expect_output "^contract calc\.Ops@1 \(1\.0\.0\) id 0x903e469c3542d240$" "ppc check prints the contract's id"
expect_output "fn 0 add\(i32 a @0, i32 b @4\) -> i32; args 8 bytes" "ppc check prints each args layout"
expect_status 0 "ppc check against itself" "$ppc" check "$work/calls/calc.toml" --against "$work/calls/calc.toml"
sed 's/name = "b", type = "i32"/name = "b", type = "i64"/' "$work/calls/calc.toml" >"$work/changed.toml"
expect_status 1 "ppc check --against: a changed layout under the same major" \
	"$ppc" check "$work/changed.toml" --against "$work/calls/calc.toml"
expect_output "calc\.Ops.*add" "the changed contract and function are named"
sed 's/version = "1.0.0"/version = "2.0.0"/' "$work/changed.toml" >"$work/major.toml"
expect_status 0 "ppc check --against: a new major may change it" \
	"$ppc" check "$work/major.toml" --against "$work/calls/calc.toml"
{ cat "$work/calls/calc.toml"; printf '[[guest_contract.functions]]\nname = "more"\nreturn = "u8"\n'; } >"$work/grown.toml"
expect_status 1 "ppc check --against: functions added without a new minor" \
	"$ppc" check "$work/grown.toml" --against "$work/calls/calc.toml"
sed 's/version = "1.0.0"/version = "1.1.0"/' "$work/grown.toml" >"$work/minor.toml"
expect_status 0 "ppc check --against: functions added with a new minor" \
	"$ppc" check "$work/minor.toml" --against "$work/calls/calc.toml"
expect_status 2 "ppc check --against a missing file" "$ppc" check "$work/calls/calc.toml" --against "$work/nope.toml"

# watch fails rather than watch less: with one inotify watch allowed (a
# user namespace's own limit; skipped where user namespaces are not allowed)
if unshare -U -r sh -c 'echo 1 >/proc/sys/user/max_inotify_watches' 2>/dev/null; then
	expect_status 2 "watch with too few inotify watches" unshare -U -r sh -c \
		'echo 1 >/proc/sys/user/max_inotify_watches && exec timeout 60 "$0" watch "$1"' "$cli" "$work/scaffolds"
	expect_output "cannot watch '.*': No space left on device \(the limit of inotify watches" \
		"the watch limit is named"
else
	echo "cli: skipped the inotify limit check (no user namespaces here)"
fi

# watch: a rewrite is reloaded and reported; Ctrl-C ends it with status 0
"$cli" watch --debounce 50 "$work/scaffolds" >"$work/watch.out" 2>&1 &
watch_pid=$!
# "watching" is printed once the bundles are watched; waits are long (a
# loaded machine) and end as soon as the line appears
for _ in $(seq 600); do grep -q "^watching" "$work/watch.out" && break; sleep 0.05; done
grep -q "^watching" "$work/watch.out" || { fail "watch did not start"; cat "$work/watch.out" >&2; }
sed -i "s/'Hello, '/'Hi, '/" "$work/scaffolds/hello_js/bundle.js" # sed -i renames: one event
for _ in $(seq 600); do grep -q "\[hello_js\] reloaded" "$work/watch.out" && break; sleep 0.05; done
grep -q "\[hello_js\] reloaded" "$work/watch.out" || { fail "watch did not report a reload"; cat "$work/watch.out" >&2; }
echo "function polyplug_init( {" >"$work/scaffolds/hello_js/.bundle.js.tmp"
mv "$work/scaffolds/hello_js/.bundle.js.tmp" "$work/scaffolds/hello_js/bundle.js"
for _ in $(seq 600); do grep -q "\[hello_js\] reload FAILED" "$work/watch.out" && break; sleep 0.05; done
grep -q "\[hello_js\] reload FAILED: .*SyntaxError" "$work/watch.out" ||
	{ fail "watch did not report the failed reload"; cat "$work/watch.out" >&2; }
# a bundle directory added under the watched directory is loaded and said
mkdir -p "$work/later"
(cd "$work/later" && "$cli" new js late >/dev/null) || fail "new js late"
mv "$work/later/late" "$work/scaffolds/late"
for _ in $(seq 600); do grep -q "\[late\] loaded" "$work/watch.out" && break; sleep 0.05; done
grep -q "\[late\] loaded" "$work/watch.out" || { fail "watch did not report a new bundle loaded"; cat "$work/watch.out" >&2; }
kill -INT $watch_pid
wait $watch_pid
status=$?
watch_pid=
[ $status = 0 ] || fail "watch exited $status after SIGINT"

# SIGTERM stops watch as cleanly as Ctrl-C does
"$cli" watch --debounce 50 "$work/scaffolds" >"$work/watch.out" 2>&1 &
watch_pid=$!
for _ in $(seq 600); do grep -q "^watching" "$work/watch.out" && break; sleep 0.05; done
grep -q "^watching" "$work/watch.out" || { fail "watch did not start again"; cat "$work/watch.out" >&2; }
kill -TERM $watch_pid # at once: the stop signals are held from before the load
for _ in $(seq 600); do kill -0 $watch_pid 2>/dev/null || break; sleep 0.05; done
kill -0 $watch_pid 2>/dev/null && { fail "watch still runs 30 s after SIGTERM"; kill -KILL $watch_pid; }
wait $watch_pid
status=$?
watch_pid=
[ $status = 0 ] || fail "watch exited $status after SIGTERM"

# ppc: a file `ppc check` accepts generates a header that compiles, as C11
# and as GNU C, whatever its names; refused names are refused by check. And a
# path is never code in what ppc writes (a directory `a*` in `a*/int evil =
# 42;/*` once defined `evil` in the header; a line break, live JS).
if command -v "${CC:-cc}" >/dev/null; then
	inc=$(cd "$(dirname "$0")/../include" && pwd)
	mkdir -p "$work/names"
	compiles() { # header [contract]: compiled as C11 and GNU C, the contract implemented
		printf '#define PPC_HOST\n#define PPC_IMPLEMENT_%s\n#include "%s"\n' \
			"$(echo "${2:-demo.Hello}" | tr 'a-z.' 'A-Z_')" "$1" >"$1.c"
		for std in c11 gnu11; do
			"${CC:-cc}" -std=$std -fsyntax-only -Wall -Wextra -Werror -Wno-unused-function \
				-I"$inc" "$1.c" || return 1
		done
	}
	accepted=0
	for spec in p:asm p:linux p:unix p:i386 p:_Float64 p:_Complex p:_Imaginary p:constexpr \
		p:nullptr p:thread_local p:typeof p:bool p:self p:number p:INT8_MAX p:DEMO_HELLO_ID \
		f:__LINE__ f:INT8_MAX f:DEMO_HELLO_ID f:unix f:x f:string s:unix s:asm s:_Float32 \
		s:number s:Vec c:Double c:Int c:Unix c:Linux c:_Bool.x c:demo.class c:demo.context c:a.b.C; do
		kind=${spec%%:*} n=${spec#*:} f="$work/names/$kind-$n.toml"
		contract=demo.Hello param=p struct=S field=x
		case $kind in p) param=$n ;; f) field=$n ;; s) struct=$n ;; c) contract=$n ;; esac
		printf '[[struct]]\nname = "%s"\nfields = [{ name = "%s", type = "i32" }]\n[[guest_contract]]\nname = "%s"\nversion = "1.0.0"\n[[guest_contract.functions]]\nname = "go"\nparams = [{ name = "%s", type = "%s" }]\n' \
			"$struct" "$field" "$contract" "$param" "$struct" >"$f"
		"$ppc" check "$f" >/dev/null 2>&1 || continue
		accepted=$((accepted + 1))
		"$ppc" c "$f" -o "$f.h" || { fail "ppc c $spec"; continue; }
		compiles "$f.h" "$contract" 2>"$work/out" || { fail "ppc check accepts $spec, its header does not compile"; cat "$work/out" >&2; }
	done
	[ $accepted -ge 5 ] || fail "only $accepted of the names were accepted: the check above checks nothing"
	# the extreme enum values are C literals of their own (-9223372036854775808
	# is the negation of an unsigned constant: an error under -Werror)
	printf '[[enum]]\nname = "Lo"\nrepr = "i64"\nvariants = [{ name = "Min", value = -9223372036854775808 }, { name = "Max", value = 9223372036854775807 }]\n[[enum]]\nname = "Hi"\nrepr = "u64"\nvariants = [{ name = "Max", value = "18446744073709551615" }, { name = "Zero", value = 0 }]\n[[guest_contract]]\nname = "demo.Hello"\nversion = "1.0.0"\n[[guest_contract.functions]]\nname = "go"\nparams = [{ name = "lo", type = "Lo" }, { name = "hi", type = "Hi" }]\n' >"$work/names/extremes.toml"
	expect_status 0 "ppc c with extreme enum values" "$ppc" c "$work/names/extremes.toml" -o "$work/names/extremes.h"
	printf '_Static_assert(Lo_Min == INT64_MIN && Hi_Max == UINT64_MAX, "exact");\n' >>"$work/names/extremes.h"
	compiles "$work/names/extremes.h" 2>"$work/out" || { fail "extreme enum values do not compile"; cat "$work/out" >&2; }
	# a host contract's major past 32767: (MAJOR << 16) once overflowed an int
	printf '[[host_contract]]\nname = "host.Log"\nversion = "65535.0.0"\n[[host_contract.functions]]\nname = "log"\n' >>"$work/names/extremes.toml"
	expect_status 0 "ppc c with a host major of 65535" "$ppc" c "$work/names/extremes.toml" -o "$work/names/major.h"
	if "${CC:-cc}" -Werror -Wshift-overflow=2 -x c -fsyntax-only /dev/null 2>/dev/null; then
		printf '#define PPC_HOST\n#include "%s"\n' "$work/names/major.h" >"$work/names/major.c"
		"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -Wshift-overflow=2 -fsyntax-only -I"$inc" \
			"$work/names/major.c" 2>"$work/out" || { fail "a host major of 65535 overflows"; cat "$work/out" >&2; }
	fi
	d="$work/paths/a*/int evil = 42;/*"
	mkdir -p "$d" "$work/paths/n
globalThis.pwned=1;"
	printf '[[guest_contract]]\nname = "demo.Hello"\nversion = "1.0.0"\n[[guest_contract.functions]]\nname = "go"\n' >"$d/c.toml"
	cp "$d/c.toml" "$work/paths/n
globalThis.pwned=1;/c.toml"
	expect_status 0 "ppc c from a directory named like code" "$ppc" c "$d/c.toml" -o "$work/paths/evil.h"
	compiles "$work/paths/evil.h" 2>"$work/out" || { fail "the header from a directory named like code does not compile"; cat "$work/out" >&2; }
	"${CC:-cc}" -E -P -I"$inc" "$work/paths/evil.h" >"$work/paths/evil.i"
	grep -q evil "$work/paths/evil.i" && fail "a directory's name defined code in the header"
	n="$work/paths/n
globalThis.pwned=1;/c.toml"
	expect_status 0 "ppc js from a directory with a line break" "$ppc" js "$n" \
		--implement demo.Hello --glue-only -o "$work/paths/bundle.js"
	expect_status 0 "ppc dts from a directory with a line break" "$ppc" dts "$n" -o "$work/paths/c.d.ts"
	expect_status 0 "ppc manifest from a directory with a line break" "$ppc" manifest "$n" \
		--implement demo.Hello --name x -o "$work/paths/manifest.toml"
	for out in bundle.js c.d.ts manifest.toml; do
		grep -q "^globalThis.pwned" "$work/paths/$out" && fail "a directory's name is code in $out"
	done
fi

# docs/event-loop.md's libuv sketch compiles, against a stand-in for uv.h
# (libuv is no dependency): what it uses of libuv, and all of polyplug.h
if command -v "${CC:-cc}" >/dev/null; then
	inc=$(cd "$(dirname "$0")/../include" && pwd)
	doc=$(cd "$(dirname "$0")/../docs" && pwd)/event-loop.md
	mkdir -p "$work/uv"
	cat >"$work/uv/uv.h" <<'UV'
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_work_s {
	void *data;
} uv_work_t;
int uv_queue_work(uv_loop_t *loop, uv_work_t *req, void (*work_cb)(uv_work_t *),
                  void (*after_work_cb)(uv_work_t *, int));
UV
	awk '/^A sketch with libuv/ { on = 1 } on && /^```c$/ { in_c = 1; next }
		in_c && /^```$/ { exit } in_c' "$doc" >"$work/uv/sketch.c"
	[ -s "$work/uv/sketch.c" ] || fail "no C sketch found in docs/event-loop.md"
	expect_status 0 "docs/event-loop.md's sketch compiles" "${CC:-cc}" -std=c11 -fsyntax-only \
		-Wall -Wextra -Werror -Wno-unused-function -I"$work/uv" -I"$inc" "$work/uv/sketch.c"
fi

[ $failures = 0 ] && echo "cli: all checks passed"
exit $((failures > 0))
