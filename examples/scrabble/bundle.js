// scrabble — a JS bundle using polyplug-c's typed signatures: the loader
// reads the args struct and writes the result, so the function takes and
// returns plain JS values. (ppc, the contract compiler, will generate the
// registration; here it is written out.)
//
//   demo.Score@1  fn 0  score(StringView word) -> u32
//                 fn 1  best(StringView a, StringView b) -> StringView

const POINTS = { a: 1, b: 3, c: 3, d: 2, e: 1, f: 4, g: 2, h: 4, i: 1, j: 8, k: 5, l: 1, m: 3,
                 n: 1, o: 1, p: 3, q: 10, r: 1, s: 1, t: 1, u: 1, v: 4, w: 4, x: 8, y: 4, z: 10 };

function score(word) {
  let total = 0;
  for (const c of word.toLowerCase()) total += POINTS[c] || 0;
  return total;
}

function polyplug_init(hostLo, hostHi, ctxLo, ctxHi, bridge) {
  // FNV-1a 64 of "guest_contract:demo.Score@1", as [lo, hi]
  let h = 0xcbf29ce484222325n;
  for (const c of 'guest_contract:demo.Score@1') {
    h = ((h ^ BigInt(c.charCodeAt(0))) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return [[{
    contractLo: Number(h & 0xffffffffn), contractHi: Number(h >> 32n),
    contractName: 'demo.Score@1', version: 0x00010000, fnCount: 2,
    interface: {
      factory: () => ({}),
      functions: [
        (impl, word) => score(word),
        (impl, a, b) => (score(b) > score(a) ? b : a),
      ],
      signatures: [
        { params: ['StringView'], result: 'u32' },
        { params: ['StringView', 'StringView'], result: 'StringView' },
      ],
    },
  }], { code: 0, message: '' }];
}
