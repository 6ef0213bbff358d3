// transformer — pipeline.Transformer in JS. It double-checks each record
// with the validator (a JS peer) and logs through the host.
class Transformer {
  constructor(ctx) {
    this.validator = ctx.peers.validator;
    this.log = ctx.host.logger;
  }
  transform(input) {
    const record = 'DECODED:' + input.slice(input.indexOf(':') + 1);
    if (!this.validator.validate(record).startsWith('VALID:')) {
      const e = new Error('transformer: refusing an invalid record');
      e.code = 256; // a plugin code: 0-255 belong to the runtime
      throw e;
    }
    const [name, value, count] = input.slice(6).split('|');
    this.log.log(3 /* Info, as PP_LOG_INFO */, `transformer: ${name} -> ${name.toUpperCase()}`);
    return `TRANSFORMED:${name.toUpperCase()}|${value} (transformed)|${Number(count) + 1}`;
  }
}
