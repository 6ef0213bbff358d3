// The JS side of bench.GenJs: all an author writes.
class GenJs {
  add(a, b) { return (a + b) | 0; }
  echo(text) { return text; }
}
