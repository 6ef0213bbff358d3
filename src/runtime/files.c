/*
 * files.c — reading the files a bundle is made of.
 *
 * A bundle loaded from a directory may read only files of that directory:
 * its code, its manifest, its modules, its source map, its library. They are
 * opened so that no step of the path leaves the directory: a '..' above it,
 * an absolute link or a link out is refused at the step that would leave,
 * whatever it leads to — by openat2's RESOLVE_BENEATH where the kernel has
 * it, else by the same walk done here a step at a time. They are read only
 * if regular and no larger than the reader's bound. What a refusal says
 * never tells whether something outside exists, or where a link leads — a
 * bundle's own code may read the message.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "internal.h"

char *pp__read_fd(int fd, size_t max, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n > max) { /* what grows while read is refused too */
			free(buf);
			close(fd);
			errno = EFBIG;
			return NULL;
		}
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			char *bigger = realloc(buf, cap);
			if (!bigger) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = bigger;
		}
		ssize_t got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

char *pp__read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat sb;
	if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
		close(fd);
		errno = EINVAL; /* a FIFO or a device would block or never end */
		return NULL;
	}
	return fd < 0 ? NULL : pp__read_fd(fd, max, len);
}

/* How many links walk_beneath follows (the kernel's own limit). */
enum { WALK_LINKS = 40 };

/* A directory walk_beneath went down from, as fstat tells it: a '..' must
 * come back to it. */
struct walk_dir {
	dev_t dev;
	ino_t ino;
};

/* walk_beneath's '..': *cur becomes its parent, which must be `to`, else
 * something was renamed since the walk went down (EAGAIN, as openat2
 * says). 0, or an errno. */
static int walk_up(int *cur, int at, struct walk_dir to)
{
	int up = openat(*cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat sb;
	int err = 0;
	if (up < 0 || fstat(up, &sb) != 0)
		err = errno;
	else if (sb.st_dev != to.dev || sb.st_ino != to.ino)
		err = EAGAIN;
	if (err) {
		if (up >= 0)
			close(up);
		return err;
	}
	if (*cur != at)
		close(*cur);
	*cur = up;
	return 0;
}

/* Room for twice as many directories above (16 at first); false if out
 * of memory (*above kept). */
static bool walk_grow(struct walk_dir **above, size_t *cap)
{
	size_t more = *cap ? 2 * *cap : 16;
	struct walk_dir *bigger = realloc(*above, more * sizeof *bigger);
	if (!bigger)
		return false;
	*above = bigger;
	*cap = more;
	return true;
}

/* openat2's RESOLVE_BENEATH done by hand, for where there is no openat2:
 * opens rel below the directory at, one step at a time, no step followed
 * by the kernel. A link is read and its target walked in its place; a '..'
 * goes up to the directory the walk came down from (EAGAIN if it is no
 * longer the parent). A '..' above at or an absolute link fails with EXDEV
 * before anything it names is looked up, so what is refused says nothing
 * of what lies outside, as with openat2. Only the directory reached is
 * held open, whatever the depth: the ones above are known by device and
 * inode. */
static int walk_beneath(int at, const char *rel, int flags)
{
	struct walk_dir *above = NULL, cur_id;
	size_t depth = 0, cap = 0;
	int cur = at, links = 0, fd = -1, err = 0;
	struct stat sb;
	if (strlen(rel) >= PATH_MAX) {
		errno = ENAMETOOLONG; /* as the kernel says */
		return -1;
	}
	char *todo = pp__strdup(rel), *p = todo;
	if (!todo || fstat(at, &sb) != 0) {
		err = todo ? errno : ENOMEM;
		free(todo);
		errno = err;
		return -1;
	}
	cur_id = (struct walk_dir){sb.st_dev, sb.st_ino};
	while (!err) {
		while (*p == '/')
			p++;
		char *step = p;
		p += strcspn(p, "/");
		bool last = *p == '\0';
		if (!last)
			*p++ = '\0';
		if (last && (*step == '\0' || strcmp(step, ".") == 0)) {
			fd = openat(cur, ".", flags); /* the directory reached */
			err = fd < 0 ? errno : 0;
			break;
		}
		if (*step == '\0' || strcmp(step, ".") == 0)
			continue;
		if (strcmp(step, "..") == 0) { /* last: "" is next, the directory */
			err = depth == 0 ? EXDEV : walk_up(&cur, at, above[depth - 1]);
			if (!err)
				cur_id = above[--depth];
			continue;
		}
		int here = openat(cur, step, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (here < 0 || fstat(here, &sb) != 0) {
			err = errno;
		} else if (S_ISLNK(sb.st_mode)) {
			char to[PATH_MAX];
			ssize_t n = readlinkat(here, "", to, sizeof to - 1);
			if (n < 0)
				err = errno;
			else if (++links > WALK_LINKS)
				err = ELOOP;
			else if (n == 0)
				err = ENOENT;
			else if (to[0] == '/')
				err = EXDEV;
			/* walked on: the link's target, then what was left after it */
			size_t len = err ? 0 : (size_t)n + strlen(p) + 2;
			char *next = len ? malloc(len) : NULL;
			if (next) {
				snprintf(next, len, "%.*s%s%s", (int)n, to, last ? "" : "/", p);
				free(todo);
				todo = p = next;
			} else if (!err) {
				err = ENOMEM;
			}
		} else if (last) {
			/* by name again, not followed: a link put in its place
			 * since is refused (ELOOP), not opened */
			fd = openat(cur, step, flags | O_NOFOLLOW);
			err = fd < 0 ? errno : 0;
			close(here);
			break;
		} else if (!S_ISDIR(sb.st_mode)) {
			err = ENOTDIR; /* as the kernel says of "lib.js/../x.js" */
		} else if (depth == cap && !walk_grow(&above, &cap)) {
			err = ENOMEM;
		} else {
			above[depth++] = cur_id;
			cur_id = (struct walk_dir){sb.st_dev, sb.st_ino};
			if (cur != at)
				close(cur);
			cur = here;
			here = -1;
		}
		if (here >= 0)
			close(here);
	}
	if (cur != at)
		close(cur);
	free(above);
	free(todo);
	errno = err;
	return err ? -1 : fd;
}

/* Opens path, which names a file of dir, with every step of its resolution
 * kept beneath dir: openat2's RESOLVE_BENEATH refuses a '..' above dir, an
 * absolute link and a link out, at the step that would leave, so nothing
 * outside is looked up; where openat2 is missing or refused (an old
 * kernel, a seccomp filter: ENOSYS or EPERM), walk_beneath does the same.
 * -1 with errno: EXDEV when the way leaves dir; ENOSYS when path is not
 * written under dir. */
static int open_beneath(const char *dir, const char *path, int flags)
{
	size_t dn = strlen(dir);
	while (dn > 1 && dir[dn - 1] == '/') /* "b//" names b, as "b/bundle.js" writes it */
		dn--;
	if (strncmp(path, dir, dn) != 0 || (path[dn] != '/' && dir[dn - 1] != '/')) {
		errno = ENOSYS;
		return -1;
	}
	const char *rel = path + dn;
	while (*rel == '/')
		rel++;
	int at = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (at < 0)
		return -1;
	long fd = -1;
	int tries = 0;
	errno = ENOSYS;
#ifdef SYS_openat2
	struct open_how how = {.flags = (uint64_t)flags,
	                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	do /* EAGAIN: a rename raced the walk */
		fd = syscall(SYS_openat2, at, *rel ? rel : ".", &how, sizeof how);
	while (fd < 0 && errno == EAGAIN && ++tries < 8);
#endif
	if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == EAGAIN)) {
		tries = 0;
		do
			fd = walk_beneath(at, rel, flags);
		while (fd < 0 && errno == EAGAIN && ++tries < 8);
	}
	int saved = errno;
	close(at);
	errno = saved;
	return (int)fd;
}

/* Opens path (O_PATH: a device or FIFO is not opened yet) and says whether
 * the file is inside src's directory: the check made for a path not
 * written under it (which open_beneath cannot walk). */
static int open_checked(pp_runtime *rt, const pp_bundle_source *src, const char *path, bool *inside,
                        pp_status *st)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char link[32], file[PATH_MAX], *dir = realpath(src->dir, NULL);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, file, sizeof file - 1);
	if (!dir || n < 0) {
		*st = pp__error(rt, PP_ERR_IO, "bundle '%s': cannot resolve '%s': %s", src->name,
		                dir ? path : src->dir, strerror(errno));
		free(dir);
		close(fd);
		return -2;
	}
	file[n] = '\0';
	size_t dn = strlen(dir);
	*inside = strncmp(file, dir, dn) == 0 && (file[dn] == '/' || (dn == 1 && *dir == '/'));
	free(dir);
	return fd;
}

int pp__open_bundle_file(pp_runtime *rt, const pp_bundle_source *src, const char *path,
                         pp_status *st)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: a
	 * terminal a link leads to never becomes the process's */
	enum { FLAGS = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY };
	bool confined = src->dir && *src->dir;
	int fd = confined ? open_beneath(src->dir, path, FLAGS) : open(path, FLAGS);
	/* EXDEV: the way leaves the directory ('..' above it, an absolute link,
	 * a link out). Refused, whatever it leads to: following it would look
	 * up paths outside, and a bundle's message may reach its own code. */
	bool left = confined && fd < 0 && errno == EXDEV;
	if (confined && fd < 0 && errno == ENOSYS) {
		/* a path not written under the directory: checked on the opened
		 * file, before anything is said about it */
		bool inside = false;
		int at = open_checked(rt, src, path, &inside, st);
		if (at == -2)
			return -1;
		left = at >= 0 && !inside;
		if (left)
			close(at);
		if (at >= 0 && inside) {
			char link[32];
			snprintf(link, sizeof link, "/proc/self/fd/%d", at);
			fd = open(link, FLAGS); /* the file checked, not the path again */
			int saved = errno;
			close(at);
			errno = saved;
		}
	}
	if (left) {
		*st = pp__error(rt, PP_ERR_LOAD_FAILED,
		                "bundle '%s': '%s' leads outside the bundle directory '%s'",
		                src->name, path, src->dir);
		return -1;
	}
	if (fd < 0) {
		*st = pp__error(rt, errno == ENOMEM ? PP_ERR_OUT_OF_MEMORY : PP_ERR_IO,
		                "bundle '%s': cannot open '%s': %s", src->name, path,
		                strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		*st = pp__error(rt, PP_ERR_LOAD_FAILED, "bundle '%s': '%s' is not a regular file",
		                src->name, path);
		close(fd);
		return -1;
	}
	return fd;
}

bool pp__dir_may_hold(const char *dir, const char *name, bool regular)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int r = fd >= 0 ? fstatat(fd, name, &st, regular ? 0 : AT_SYMLINK_NOFOLLOW) : -1;
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (r == 0)
		return !regular || S_ISREG(st.st_mode);
	return err != ENOENT && err != ENOTDIR && err != EACCES;
}

char *pp__path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}
