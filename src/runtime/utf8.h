/*
 * utf8.h — the one UTF-8 check, shared by the runtime, its TOML reader and
 * the tools that write what the reader takes back.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates, nothing beyond
 * U+10FFFF, no sequence cut short by the end of the text.
 */
#ifndef PP_UTF8_H
#define PP_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The length of the valid sequence at p (avail > 0 bytes there), or 0 if
 * p does not start one; the code point goes to *cp_out. */
static inline size_t pp_utf8_seq(const uint8_t *p, size_t avail, uint32_t *cp_out)
{
	uint8_t c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80) {
		*cp_out = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	*cp_out = cp;
	return n;
}

/* The length of s's longest valid UTF-8 prefix: n if all of s is valid,
 * else the offset of the first bad byte. */
static inline size_t pp_utf8_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;
	while (i < n) {
		uint64_t word;
		if (n - i >= 8 && (memcpy(&word, s + i, 8), !(word & 0x8080808080808080u))) {
			i += 8; /* ASCII, eight at a time */
			continue;
		}
		size_t len = pp_utf8_seq(s + i, n - i, &cp);
		if (!len)
			return i;
		i += len;
	}
	return n;
}

/* How much of len bytes of UTF-8 at s fit in max bytes without splitting a
 * character: len if all of it fits. Backs up over at most three bytes (a
 * character's most), so bytes that are not UTF-8 are still cut near max. */
static inline size_t pp_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	for (size_t i = 0; i < 3 && max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80; i++)
		max--; /* s[max] continues a character begun before the cut */
	return max;
}

#endif
