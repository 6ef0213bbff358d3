// validator — pipeline.Validator in JS: "DECODED:a|b|42" -> "VALID:a|b|42"
// or "INVALID:reason". The glue (ppc js) does everything else.
class Validator {
  validate(input) {
    if (!input.startsWith('DECODED:')) return 'INVALID:not a decoded record';
    const [name, value, count] = input.slice(8).split('|');
    if (!name) return 'INVALID:empty name';
    if (!/^[0-9]+$/.test(count)) return `INVALID:count '${count}' is not a number`;
    return `VALID:${name}|${value}|${count}`;
  }
}
