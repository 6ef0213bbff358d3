// reporter — pipeline.Reporter in JS: puts a transformed record into words,
// asking the C encoder (a peer) how many records it has encoded so far.
class Reporter {
  constructor(ctx) { this.encoder = ctx.peers.encoder; }
  report(input) {
    const [name, value, count] = input.slice(input.indexOf(':') + 1).split('|');
    return `Report: ${name} has value '${value}' with count ${count}` +
           ` (${this.encoder.encoded()} encoded so far)`;
  }
}
