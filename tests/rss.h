/* rss.h — the process's resident set, for tests and the soak that check
 * memory stays bounded. */
#ifndef PP_TEST_RSS_H
#define PP_TEST_RSS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Resident set in KiB (0 if /proc cannot be read). */
static inline long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	char line[128] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	char *rest;
	strtol(line, &rest, 10); /* total pages, then resident pages */
	return strtol(rest, NULL, 10) * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
