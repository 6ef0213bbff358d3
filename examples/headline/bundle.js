// headline — a JS bundle written against the bridge the way polyplug's own
// QuickJS bundles are: pointers as Numbers, one bridge call per field.
//
//   demo.Headline@1  fn 0  headline(StringView text) -> StringView
//
// It asks the C bundle behind demo.Transform@1 to upper-case the text, the
// one behind demo.WordCount@1 to count its words, tells the host through its
// demo.Log@1 contract, and returns "TEXT (n words)" in the caller's arena.

// Contract ids: FNV-1a 64 of "guest_contract:Name@major" as [lo, hi].
function contractId(kind, name, major) {
  let h = 0xcbf29ce484222325n;
  for (const c of kind + ':' + name + '@' + major) {
    h = ((h ^ BigInt(c.charCodeAt(0))) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return [Number(h & 0xffffffffn), Number(h >> 32n)];
}

const HEADLINE = contractId('guest_contract', 'demo.Headline', 1);
const TRANSFORM = contractId('guest_contract', 'demo.Transform', 1);
const WORDCOUNT = contractId('guest_contract', 'demo.WordCount', 1);
const LOG = contractId('host_contract', 'demo.Log', 1);
const TWO32 = 4294967296;

// UTF-8 <-> JS strings with what QuickJS has built in.
const toBytes = (s) => unescape(encodeURIComponent(s));
const fromBytes = (b) => decodeURIComponent(escape(b));

function readView(b, at) {
  const ptr = b.readU32(at + 4) * TWO32 + b.readU32(at);
  const len = b.readU32(at + 8);
  return fromBytes(String.fromCharCode.apply(null, b.readMemory(ptr, len)));
}

function writeView(b, at, ptr, len) {
  b.writeU32(at, ptr % TWO32);
  b.writeU32(at + 4, Math.floor(ptr / TWO32));
  b.writeU32(at + 8, len);
  b.writeU32(at + 12, 0);
}

// Bytes of s in memory from arenaAlloc (the host's allocator when arena is 0).
function putString(b, s, arena) {
  const bytes = toBytes(s);
  const [lo, hi] = b.arenaAlloc(Math.max(bytes.length, 1), arena);
  const ptr = hi * TWO32 + lo;
  for (let i = 0; i < bytes.length; i++) b.writeByte(ptr + i, bytes.charCodeAt(i));
  return [ptr, bytes.length];
}

function headline(impl, args, out, arena, b) {
  const text = readView(b, args);
  // peer calls take pointers to an args struct and an out slot
  const [lo, hi] = b.alloc(48);
  const mem = hi * TWO32 + lo;
  const [tp, tl] = putString(b, text, arena);
  writeView(b, mem, tp, tl);
  let rc = b.dispatchPeer(TRANSFORM[0], TRANSFORM[1], 1, 0, mem, mem + 16);
  if (rc !== 0) { b.free(lo, hi, 48, 1); return rc; }
  const loud = readView(b, mem + 16);
  b.free(b.readU32(mem + 16), b.readU32(mem + 20), b.readU32(mem + 24), 1); // shout's memory
  rc = b.dispatchPeer(WORDCOUNT[0], WORDCOUNT[1], 1, 0, mem, mem + 32);
  const words = rc === 0 ? b.readU32(mem + 32) : 0;
  const [mp, ml] = putString(b, 'headline: ' + words + ' words, ' + tl + ' bytes', arena);
  writeView(b, mem, mp, ml);
  b.callHostContract(LOG[0], LOG[1], 0x00010000, 0, mem, 0); // minVer: 1 << 16 | 0
  b.free(lo, hi, 48, 1);
  const [rp, rl] = putString(b, loud + ' (' + words + ' words)', arena);
  writeView(b, out, rp, rl);
  return 0;
}

function polyplug_init(hostLo, hostHi, ctxLo, ctxHi, bridge) {
  return [[{
    contractLo: HEADLINE[0], contractHi: HEADLINE[1], contractName: 'demo.Headline@1',
    version: 0x00010000, fnCount: 1,
    interface: { factory: () => ({}), functions: [headline] },
  }], { code: 0, message: '' }];
}
