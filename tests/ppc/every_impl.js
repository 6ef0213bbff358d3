// every_impl.js — the JS side of ppc's test contracts: plain classes; the
// generated glue (ppc js) registers them. EveryJs mirrors the C bundle's
// test.EveryC; RelayJs drives test.EveryC through the generated peer callers.

class EveryJs {
  constructor(ctx) { this.ctx = ctx; }
  scalars(b, s8, u8v, s16, u16v, s32, u32v, s64, u64v, f, d) {
    return [b, s8, u8v, s16, u16v, s32, u32v, s64, u64v, f, d].join(',');
  }
  echo(text) { return text + '!'; }
  reverse(data) { return data.slice().reverse(); }
  next_mood(m) { return m === 0 ? 1 : m === 1 ? -2 : 0; }
  // y - x modulo 2^64 (QuickJS 2025-04-26's BigInt.asUintN(64, …) answers signed)
  wide(x, y) { const m = 1n << 64n; return (((y - x) % m) + m) % m; }
  ping() {}
  fail(code) {
    if (code !== 0) { const e = new Error('asked to fail'); e.code = code; throw e; }
    return true;
  }
  shout(line) {
    this.ctx.host.log.log(1, line);
    return line.toUpperCase();
  }
  midpoint(s) {
    return { tag: s.from.tag + s.to.tag, x: (s.from.x + s.to.x) / 2, y: (s.from.y + s.to.y) / 2,
             mood: s.from.mood === s.to.mood ? s.from.mood : -2 };
  }
}

class RelayJs {
  constructor(ctx) {
    this.every = ctx.peers.everyC;
    this.geometry = ctx.peers.geometry;
    this.log = ctx.host.log;
  }
  check() {
    const e = this.every;
    const expect = (got, want, what) => {
      if (got !== want) throw new Error(what + ': got ' + String(got) + ', want ' + String(want));
    };
    expect(e.scalars(true, -128, 255, -32768, 65535, -2147483648, 4294967295,
                     -9223372036854775808n, 18446744073709551615n, 1.5, -0.25),
           'true,-128,255,-32768,65535,-2147483648,4294967295,' +
           '-9223372036854775808,18446744073709551615,1.5,-0.25', 'scalars');
    // arguments are checked before anything is called, never wrapped
    const refused = (call, want) => {
      let err = null;
      try { call(); } catch (x) { err = x; }
      if (!(err instanceof TypeError) || !err.message.includes(want))
        throw new Error('want a TypeError with ' + want + ', got ' + (err ? err.message : 'none'));
    };
    const ok = [true, -128, 255, -32768, 65535, -2147483648, 4294967295, 0n, 0n, 1.5, -0.25];
    const scalars = (i, v) => () => e.scalars(...ok.map((x, j) => (j === i ? v : x)));
    refused(scalars(1, 128), "test.EveryC.scalars: param 's8' (i8): 128 is not a value");
    refused(scalars(2, 256), "param 'u8v' (u8): 256");
    refused(scalars(2, -1), "param 'u8v' (u8): -1");
    refused(scalars(4, 65536), "param 'u16v' (u16): 65536");
    refused(scalars(5, 2 ** 31), "param 's32' (i32): 2147483648");
    refused(scalars(6, 2 ** 32 + 9), "param 'u32v' (u32): 4294967305");
    refused(scalars(6, NaN), "param 'u32v' (u32): NaN");
    refused(scalars(6, 1.5), "param 'u32v' (u32): 1.5");
    refused(scalars(6, '7'), "param 'u32v' (u32): \"7\"");
    refused(scalars(7, 2n ** 63n), "param 's64' (i64): 9223372036854775808n");
    refused(scalars(8, 2n ** 64n + 5n), "param 'u64v' (u64)");
    refused(scalars(8, -1n), "param 'u64v' (u64): -1n");
    refused(scalars(8, 2 ** 53), "param 'u64v' (u64): 9007199254740992");
    refused(scalars(0, 1), "param 'b' (bool): 1");
    refused(scalars(9, '1.5'), "param 'f' (f32)");
    refused(() => e.echo(7), "param 'text' (StringView): 7");
    refused(() => e.reverse([1, 2, 300]), "param 'data' (Buffer): a object");
    refused(() => e.next_mood(70000), "param 'm' (Mood)");
    refused(() => e.midpoint({ from: null, to: {} }), "param 's.from' (Point)");
    expect(e.scalars(...ok.map((x, j) => (j === 7 ? -5 : x))).split(',')[7], '-5',
           'a safe Number for an i64');
    expect(e.echo('h\u00e9'), 'h\u00e9!', 'echo');
    expect(e.echo(''), '!', 'empty echo');
    const big = 'y'.repeat(200000);
    expect(e.echo(big), big + '!', 'big echo');
    expect(Array.from(e.reverse(new Uint8Array([1, 2, 3]))).join(), '3,2,1', 'reverse');
    expect(e.reverse(new Uint8Array(0)).length, 0, 'empty reverse');
    const dv = new DataView(new Uint8Array([9, 1, 2, 3, 9]).buffer, 1, 3);
    expect(Array.from(e.reverse(dv)).join(), '3,2,1', 'a DataView is a Buffer');
    expect(Array.from(e.reverse(new Uint16Array([0x0201]))).join(), '2,1', 'any typed array');
    const large = new Uint8Array(1 << 20); /* filled natively: valgrind runs this too */
    large[0] = 7;
    large[large.length - 1] = 9;
    const back = e.reverse(large);
    expect(back.length, large.length, 'large reverse length');
    expect(back[0] === large[large.length - 1] && back[large.length - 1] === large[0], true,
           'large reverse ends');
    expect(e.next_mood(1), -2, 'next_mood');
    expect(e.wide(-1n, 1n), 2n, 'wide');
    expect(e.ping(), undefined, 'ping');
    expect(e.fail(0), true, 'fail(0)');
    let code = 0;
    try { e.fail(42); } catch (err) { code = err.code; }
    expect(code, 42, 'fail(42)');
    let msg = '';
    try { e.fail(18); } catch (err) { msg = err.message; }
    expect(msg.endsWith('failed with code 18 (PP_ERR_TIMEOUT)'), true, 'a status by name');
    try { e.fail(300); } catch (err) { msg = err.message; }
    expect(msg.endsWith('failed with code 300'), true, 'a plugin code, unnamed');
    expect(e.shout('from js'), 'FROM JS', 'shout');
    const mid = e.midpoint({ from: { tag: 1, x: 2, y: 4, mood: 1 }, to: { tag: 2, x: 4, y: -4, mood: 1 } });
    expect(JSON.stringify(mid), '{"tag":3,"x":3,"y":0,"mood":1}', 'midpoint');
    const g = this.geometry.midpoint({ from: { tag: 5, x: 0.5, y: 1, mood: 0 },
                                       to: { tag: 250, x: 1.5, y: 3, mood: 1 } });
    expect(JSON.stringify(g), '{"tag":255,"x":1,"y":2,"mood":-2}', 'geometry');
    const before = this.log.count();
    this.log.log(0, 'relay checked');
    expect(this.log.count(), before + 1, 'host log count');
    return 'ok';
  }
}
