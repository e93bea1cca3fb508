// SPDX-License-Identifier: MIT
/*
 * mtty_walk: runs inside the harness guest (Linux 6.12, mtty built in) and
 * prints a JSON transcript of what the real mtty driver does: every
 * (current, target) migration-state request, the debugfs state file after
 * each, the migration data of STOP_COPY and PRE_COPY, and resuming (intact,
 * corrupt header, wrong port count). Schema: harness/TRANSCRIPT.md.
 *
 * Build: gcc -static -O2 -I<6.12 headers_install>/include mtty_walk.c
 * Every ioctl result is recorded as "0" or the errno name; nothing is assumed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#ifndef VFIO_MIG_GET_PRECOPY_INFO
#error "linux/vfio.h lacks PRE_COPY: compile against the 6.12 headers_install tree"
#endif

#define NSTATES 8
static const char *const state_name[NSTATES] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
	[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

#define UUID_MAIN   "83b8f4f2-509f-482f-9c1e-e6bfe0fa1001"
#define UUID_RESUME "83b8f4f2-509f-482f-9c1e-e6bfe0fa1002"
#define UUID_ONE    "83b8f4f2-509f-482f-9c1e-e6bfe0fa1003"

static const char *const type_roots[] = {
	"/sys/class/mdev_bus/mtty/mdev_supported_types",
	"/sys/devices/virtual/mtty/mtty/mdev_supported_types",
};

/* ------------------------------------------------------------------ utils */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mtty_walk: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ENOTSUPP (524) is kernel-internal but can leak to userspace */
#define ENOTSUPP_LINUX 524

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG);
	E(EBADF); E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY);
	E(EEXIST); E(ENODEV); E(ENOTDIR); E(EISDIR); E(EINVAL); E(ENFILE);
	E(EMFILE); E(ENOTTY); E(EFBIG); E(ENOSPC); E(ESPIPE); E(EROFS);
	E(EPIPE); E(ERANGE); E(EDEADLK); E(ENOSYS); E(ENOMSG); E(ENODATA);
	E(ETIME); E(EOVERFLOW); E(EOPNOTSUPP); E(ETIMEDOUT); E(ENOTSUPP_LINUX);
#undef E
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* ------------------------------------------------------------------ JSON */

static FILE *J;
static char jstack[64];
static int jfirst[64];
static int jdepth;

static void jraw_str(const char *s, size_t n)
{
	fputc('"', J);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': fputs("\\\"", J); break;
		case '\\': fputs("\\\\", J); break;
		case '\n': fputs("\\n", J); break;
		case '\r': fputs("\\r", J); break;
		case '\t': fputs("\\t", J); break;
		default:
			if (c < 0x20 || c >= 0x7f)
				fprintf(J, "\\u%04x", c);
			else
				fputc(c, J);
		}
	}
	fputc('"', J);
}

static void jsep(const char *key)
{
	if (!jfirst[jdepth])
		fputc(',', J);
	jfirst[jdepth] = 0;
	if (jdepth)
		fputs("\n", J);
	if (key && jstack[jdepth] == '{') {
		jraw_str(key, strlen(key));
		fputc(':', J);
	}
}

static void jopen(const char *key, char kind)
{
	jsep(key);
	fputc(kind, J);
	jstack[++jdepth] = kind;
	jfirst[jdepth] = 1;
}

static void jobj(const char *key) { jopen(key, '{'); }
static void jarr(const char *key) { jopen(key, '['); }

static void jclose(void)
{
	fputc(jstack[jdepth] == '{' ? '}' : ']', J);
	jdepth--;
}

static void jstr(const char *key, const char *v)
{
	jsep(key);
	if (v)
		jraw_str(v, strlen(v));
	else
		fputs("null", J);
}

static void jbytes(const char *key, const char *v, size_t n)
{
	jsep(key);
	jraw_str(v, n);
}

static void jint(const char *key, long long v)
{
	jsep(key);
	fprintf(J, "%lld", v);
}

static void jnum(const char *key, double v)
{
	jsep(key);
	fprintf(J, "%.3f", v);
}

static void jbool(const char *key, int v)
{
	jsep(key);
	fputs(v ? "true" : "false", J);
}

static void jhex(const char *key, const unsigned char *b, size_t n)
{
	jsep(key);
	fputc('"', J);
	for (size_t i = 0; i < n; i++)
		fprintf(J, "%02x", b[i]);
	fputc('"', J);
}

/* record a fatal error, close every open JSON container, exit */
static void fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	progress("FATAL: %s", msg);
	while (jdepth > 1)
		jclose();
	if (jdepth == 1) {
		jstr("fatal", msg);
		jclose();
	}
	fputc('\n', J);
	fflush(J);
	exit(2);
}

/* ------------------------------------------------------------------ files */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t r;

	if (fd < 0)
		return errno;
	r = write(fd, s, strlen(s));
	if (r < 0) {
		int e = errno;

		close(fd);
		return e;
	}
	close(fd);
	return 0;
}

/* read a small file; returns bytes read or -errno */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	ssize_t r, tot = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)tot < n - 1) {
		r = read(fd, buf + tot, n - 1 - tot);
		if (r < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		tot += r;
	}
	buf[tot] = 0;
	close(fd);
	return tot;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* JSON array of the sorted entries of dir (without . and ..), or errno name */
static void jdir(const char *key, const char *dir)
{
	DIR *d = opendir(dir);
	char *names[256];
	int n = 0;
	struct dirent *e;

	if (!d) {
		jstr(key, errname(errno));
		return;
	}
	while ((e = readdir(d)) && n < 256) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmpstr);
	jarr(key);
	for (int i = 0; i < n; i++) {
		jstr(NULL, names[i]);
		free(names[i]);
	}
	jclose();
}

/* ------------------------------------------------------------------ devices */

struct dev {
	const char *uuid;
	const char *type;	/* "mtty-1" / "mtty-2" */
	int group;
	int group_fd;
	int fd;
};

static int container = -1;
static const char *iommu_used;

static void dbg_dir(const struct dev *d, char *out, size_t n)
{
	snprintf(out, n, "/sys/kernel/debug/vfio/%s/migration", d->uuid);
}

/* exact bytes of debugfs .../migration/state as JSON string, or errno name */
static void jdebugfs_state(const char *key, const struct dev *d)
{
	char path[256], buf[128];
	ssize_t r;

	snprintf(path, sizeof(path), "/sys/kernel/debug/vfio/%s/migration/state", d->uuid);
	r = read_small(path, buf, sizeof(buf));
	if (r < 0)
		jstr(key, errname(-r));
	else
		jbytes(key, buf, r);
}

static const char *type_root;

static int mdev_create(struct dev *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/create", type_root, d->type);
	return write_str(path, d->uuid);
}

static int mdev_remove(struct dev *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", d->uuid);
	return write_str(path, "1");
}

/* group + container + device fd; returns 0 or errno, *what = failing step */
static int dev_open(struct dev *d, const char **what)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	ssize_t n;

	if (d->group_fd < 0) {
		*what = "readlink iommu_group";
		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", d->uuid);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			return errno;
		link[n] = 0;
		base = strrchr(link, '/');
		d->group = atoi(base ? base + 1 : link);
		snprintf(path, sizeof(path), "/dev/vfio/%d", d->group);
		*what = "open /dev/vfio/<group>";
		for (int i = 0; i < 50; i++) {
			d->group_fd = open(path, O_RDWR);
			if (d->group_fd >= 0 || errno != ENOENT)
				break;
			usleep(20000);
		}
		if (d->group_fd < 0)
			return errno;
		*what = "VFIO_GROUP_GET_STATUS";
		if (ioctl(d->group_fd, VFIO_GROUP_GET_STATUS, &st))
			return errno;
		if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
			return EPERM;
		*what = "VFIO_GROUP_SET_CONTAINER";
		if (!(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) &&
		    ioctl(d->group_fd, VFIO_GROUP_SET_CONTAINER, &container))
			return errno;
		if (!iommu_used) {
			*what = "VFIO_SET_IOMMU";
			if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == 0)
				iommu_used = "VFIO_TYPE1_IOMMU";
			else if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0)
				iommu_used = "VFIO_TYPE1v2_IOMMU";
			else
				return errno;
		}
	}
	*what = "VFIO_GROUP_GET_DEVICE_FD";
	d->fd = ioctl(d->group_fd, VFIO_GROUP_GET_DEVICE_FD, d->uuid);
	if (d->fd < 0)
		return errno;
	return 0;
}

static void dev_close(struct dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static void dev_close_group(struct dev *d)
{
	dev_close(d);
	if (d->group_fd >= 0)
		close(d->group_fd);
	d->group_fd = -1;
}

/* ------------------------------------------------------------------ uAPI */

static int feature(int fd, uint32_t flags, void *data, size_t len)
{
	char buf[sizeof(struct vfio_device_feature) + 64]
		__attribute__((aligned(8)));
	struct vfio_device_feature *f = (void *)buf;

	memset(buf, 0, sizeof(buf));
	f->argsz = sizeof(*f) + len;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	if (ioctl(fd, VFIO_DEVICE_FEATURE, f))
		return errno;
	if (len)
		memcpy(data, f->data, len);
	return 0;
}

/* one SET; returns 0 or errno; *data_fd = returned fd or -1 */
static int mig_set(struct dev *d, int state, int *data_fd)
{
	struct vfio_device_feature_mig_state m = { .device_state = state, .data_fd = -1 };
	int r = feature(d->fd, VFIO_DEVICE_FEATURE_SET |
			VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &m, sizeof(m));

	*data_fd = r ? -1 : m.data_fd;
	return r;
}

/* GET; returns state number or -errno */
static int mig_get(struct dev *d)
{
	struct vfio_device_feature_mig_state m = { .device_state = 99, .data_fd = -1 };
	int r = feature(d->fd, VFIO_DEVICE_FEATURE_GET |
			VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &m, sizeof(m));

	return r ? -r : (int)m.device_state;
}

static const char *sname(int s)
{
	if (s < 0)
		return errname(-s);
	if (s < NSTATES)
		return state_name[s];
	return "UNKNOWN";
}

static int dev_reset(struct dev *d)
{
	return ioctl(d->fd, VFIO_DEVICE_RESET) ? errno : 0;
}

static int precopy_info(int dfd, struct vfio_precopy_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->argsz = sizeof(*pi);
	return ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, pi) ? errno : 0;
}

static void jprecopy_info(const char *key, int dfd)
{
	struct vfio_precopy_info pi;
	int r = precopy_info(dfd, &pi);

	if (r) {
		jstr(key, errname(r));
		return;
	}
	jobj(key);
	jint("initial_bytes", pi.initial_bytes);
	jint("dirty_bytes", pi.dirty_bytes);
	jclose();
}

/*
 * read until read() returns 0 or fails (or cap bytes); returns the byte count,
 * *end = "0" or the errno name of the final read
 */
static size_t read_all(int fd, unsigned char *buf, size_t cap, const char **end)
{
	size_t tot = 0;

	for (;;) {
		ssize_t r = read(fd, buf + tot, cap - tot > 4096 ? 4096 : cap - tot);

		if (r < 0) {
			*end = errname(errno);
			return tot;
		}
		if (r == 0) {
			*end = "0";
			return tot;
		}
		tot += r;
		if (tot >= cap) {
			*end = "buffer full";
			return tot;
		}
	}
}

/* ------------------------------------------------------------------ walk */

/* known-good ways from RUNNING (after reset) to each state, one SET per step */
static const int path_to[NSTATES][3] = {
	[VFIO_DEVICE_STATE_ERROR] = { -1 },
	[VFIO_DEVICE_STATE_STOP] = { VFIO_DEVICE_STATE_STOP, -1 },
	[VFIO_DEVICE_STATE_RUNNING] = { -1 },
	[VFIO_DEVICE_STATE_STOP_COPY] = { VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY, -1 },
	[VFIO_DEVICE_STATE_RESUMING] = { VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RESUMING, -1 },
	[VFIO_DEVICE_STATE_RUNNING_P2P] = { VFIO_DEVICE_STATE_RUNNING_P2P, -1 },
	[VFIO_DEVICE_STATE_PRE_COPY] = { VFIO_DEVICE_STATE_PRE_COPY, -1 },
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = { VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY_P2P, -1 },
};

/*
 * STOP_COPY -> PRE_COPY / PRE_COPY_P2P: vfio_from_fsm_table gives ERROR, and a
 * 6.12 without the loop guard in vfio_mig_get_next_state() spins forever. The
 * host (harness/run) reads the vfio_main.c it built and tells us in
 * /etc/harness/stop_copy_pre_copy: "walk" (guard present: the kernel answers
 * EINVAL) or "skip"; /etc/harness/skip_reason quotes the source lines.
 */
static int walk_sc_pc;
static char skip_reason[2048] =
	"never requested: drivers/vfio/vfio_main.c vfio_from_fsm_table"
	"[VFIO_DEVICE_STATE_STOP_COPY][VFIO_DEVICE_STATE_PRE_COPY(_P2P)] = "
	"VFIO_DEVICE_STATE_ERROR and the unguarded 'while ((state_flags_table"
	"[*next_fsm] & device->migration_flags) != state_flags_table[*next_fsm])' "
	"loop in vfio_mig_get_next_state() never ends";

static void load_host_hints(void)
{
	char buf[64];
	ssize_t n = read_small("/etc/harness/stop_copy_pre_copy", buf, sizeof(buf));

	walk_sc_pc = n > 0 && !strncmp(buf, "walk", 4);
	n = read_small("/etc/harness/skip_reason", skip_reason, sizeof(skip_reason));
	if (n > 0 && skip_reason[n - 1] == '\n')
		skip_reason[n - 1] = 0;
}

static int is_skipped(int from, int to)
{
	return !walk_sc_pc && from == VFIO_DEVICE_STATE_STOP_COPY &&
	       (to == VFIO_DEVICE_STATE_PRE_COPY || to == VFIO_DEVICE_STATE_PRE_COPY_P2P);
}

static int walk_pair(struct dev *d, int from, int to)
{
	int fds[4], nfds = 0, dfd = -1, r, s;
	const char *setup_err = NULL;
	static char setup_buf[128];

	r = dev_reset(d);
	if (r) {
		snprintf(setup_buf, sizeof(setup_buf), "VFIO_DEVICE_RESET: %s", errname(r));
		setup_err = setup_buf;
	} else if ((s = mig_get(d)) != VFIO_DEVICE_STATE_RUNNING) {
		snprintf(setup_buf, sizeof(setup_buf), "after reset: %s", sname(s));
		setup_err = setup_buf;
	}
	for (int i = 0; !setup_err && path_to[from][i] >= 0; i++) {
		int f;

		r = mig_set(d, path_to[from][i], &f);
		if (f >= 0)
			fds[nfds++] = f;
		if (r) {
			snprintf(setup_buf, sizeof(setup_buf), "set %s: %s",
				 state_name[path_to[from][i]], errname(r));
			setup_err = setup_buf;
		}
	}
	if (!setup_err && (s = mig_get(d)) != from) {
		snprintf(setup_buf, sizeof(setup_buf), "reached %s", sname(s));
		setup_err = setup_buf;
	}

	jobj(NULL);
	jstr("from", state_name[from]);
	jstr("to", state_name[to]);
	jarr("setup");
	for (int i = 0; path_to[from][i] >= 0; i++)
		jstr(NULL, state_name[path_to[from][i]]);
	jclose();
	if (setup_err) {
		jstr("setup_error", setup_err);
		jclose();
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;
	}
	r = mig_set(d, to, &dfd);
	jstr("result", errname(r));
	jbool("data_fd", dfd >= 0);
	jstr("state_after", sname(mig_get(d)));
	jdebugfs_state("debugfs_state", d);
	if (dfd >= 0) {
		int acc = fcntl(dfd, F_GETFL) & O_ACCMODE;

		jstr("data_fd_mode", acc == O_RDONLY ? "r" : acc == O_WRONLY ? "w" : "rw");
		if (acc == O_RDONLY) {
			unsigned char buf[4096];
			const char *end;
			size_t n = read_all(dfd, buf, sizeof(buf), &end);

			jint("data_fd_bytes", n);
			jstr("data_fd_end_read", end);
		}
		close(dfd);
	}
	jclose();
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

/* ------------------------------------------------------------------ resume */

static void jstep_set(struct dev *d, int state, int *dfd)
{
	char op[64];
	int f, r;

	snprintf(op, sizeof(op), "set %s", state_name[state]);
	r = mig_set(d, state, &f);
	jobj(NULL);
	jstr("op", op);
	jstr("result", errname(r));
	jbool("data_fd", f >= 0);
	jstr("state", sname(mig_get(d)));
	jclose();
	if (dfd)
		*dfd = f;
	else if (f >= 0)
		close(f);
}

/* returns 1 if the write was refused */
static int jstep_write(struct dev *d, int fd, const unsigned char *b, size_t n)
{
	char op[64], res[32];
	ssize_t r;
	int e = 0;

	snprintf(op, sizeof(op), "write %zu", n);
	r = write(fd, b, n);
	if (r < 0) {
		e = errno;
		snprintf(res, sizeof(res), "%s", errname(e));
	} else {
		snprintf(res, sizeof(res), "%zd", r);
	}
	jobj(NULL);
	jstr("op", op);
	jstr("result", res);
	jstr("state", sname(mig_get(d)));
	jclose();
	return r < 0 || (size_t)r != n;
}

/*
 * reset d, RESUMING, write image (one write), then either RUNNING directly
 * (stop_first = 0) or STOP then RUNNING; records refused_at
 */
static void resume_case(const char *key, struct dev *d, const unsigned char *img,
			size_t n, int stop_first, const char *note)
{
	int dfd = -1, f, r;
	const char *refused = "none";

	dev_reset(d);
	jobj(key);
	if (note)
		jstr("note", note);
	jstr("device", d->type);
	jint("image_bytes", n);
	jhex("image_hex", img, n);
	jarr("steps");
	jstep_set(d, VFIO_DEVICE_STATE_RESUMING, &dfd);
	if (dfd < 0) {
		refused = "set RESUMING";
	} else {
		if (jstep_write(d, dfd, img, n))
			refused = "write";
		if (stop_first) {
			char op[32];

			snprintf(op, sizeof(op), "set STOP");
			r = mig_set(d, VFIO_DEVICE_STATE_STOP, &f);
			jobj(NULL);
			jstr("op", op);
			jstr("result", errname(r));
			jstr("state", sname(mig_get(d)));
			jclose();
			if (r && !strcmp(refused, "none"))
				refused = "set STOP (RESUMING->STOP arc)";
			if (f >= 0)
				close(f);
		}
		r = mig_set(d, VFIO_DEVICE_STATE_RUNNING, &f);
		jobj(NULL);
		jstr("op", "set RUNNING");
		jstr("result", errname(r));
		jstr("state", sname(mig_get(d)));
		jclose();
		if (r && !strcmp(refused, "none"))
			refused = "set RUNNING";
		if (f >= 0)
			close(f);
		close(dfd);
	}
	jclose();
	jstr("refused_at", refused);
	jstr("state_after", sname(mig_get(d)));
	jdebugfs_state("debugfs_state", d);
	jclose();
}

/* STOP_COPY image of d (reset first); returns size */
static size_t save_image(struct dev *d, unsigned char *buf, size_t cap)
{
	int dfd;
	const char *end;
	size_t n = 0;

	dev_reset(d);
	if (mig_set(d, VFIO_DEVICE_STATE_STOP_COPY, &dfd) == 0 && dfd >= 0) {
		n = read_all(dfd, buf, cap, &end);
		close(dfd);
	}
	dev_reset(d);
	return n;
}

/* ------------------------------------------------------------------ UART */

/*
 * Give the ports of the main device distinctive contents through the I/O BARs
 * (mtty_write -> handle_bar_write), so that the migration images carry more
 * than zeros and a resume can be seen to load them.
 */
static const struct { int bar, reg, val; } uart_prog[] = {
	{ 0, 7, 0x5a },	/* SCR */
	{ 0, 3, 0x03 },	/* LCR 8N1 */
	{ 0, 0, 'h' },	/* TX -> loopback fifo */
	{ 0, 0, 'i' },
	{ 0, 4, 0x0b },	/* MCR DTR|RTS|OUT2 */
	{ 1, 3, 0x80 },	/* LCR DLAB */
	{ 1, 0, 0x0c },	/* divisor low */
	{ 1, 1, 0x00 },	/* divisor high */
	{ 1, 3, 0x03 },	/* LCR, DLAB off */
	{ 1, 2, 0xc7 },	/* FCR: enable + clear fifos, trigger 14 */
	{ 1, 7, 0xa5 },	/* SCR */
	{ 1, 0, '!' },	/* TX */
};

static void juart_program(const char *key, struct dev *d)
{
	uint64_t off[2] = { 0, 0 };

	jobj(key);
	for (int bar = 0; bar < 2; bar++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = bar };
		char k[32];

		snprintf(k, sizeof(k), "bar%d_region", bar);
		if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri)) {
			jstr(k, errname(errno));
			continue;
		}
		off[bar] = ri.offset;
		jobj(k);
		jint("size", ri.size);
		jint("offset", ri.offset);
		jint("flags", ri.flags);
		jclose();
	}
	jarr("writes");
	for (size_t i = 0; i < sizeof(uart_prog) / sizeof(uart_prog[0]); i++) {
		unsigned char v = uart_prog[i].val;
		ssize_t r = pwrite(d->fd, &v, 1, off[uart_prog[i].bar] + uart_prog[i].reg);

		jobj(NULL);
		jint("bar", uart_prog[i].bar);
		jint("reg", uart_prog[i].reg);
		jint("val", uart_prog[i].val);
		jstr("result", r < 0 ? errname(errno) : r == 1 ? "1" : "short");
		jclose();
	}
	jclose();
	jclose();
}

/* ------------------------------------------------------------------ main */

static void setup_dev(struct dev *d)
{
	const char *what = "";
	int r = mdev_create(d);

	if (r)
		fatal("creating %s %s: %s", d->type, d->uuid, errname(r));
	r = dev_open(d, &what);
	if (r)
		fatal("opening %s (%s): %s", d->uuid, what, errname(r));
}

int main(void)
{
	double t0 = mono_ms();
	struct utsname u;
	struct dev main_dev = { UUID_MAIN, "mtty-2", -1, -1, -1 };
	struct dev res_dev = { UUID_RESUME, "mtty-2", -1, -1, -1 };
	struct dev one_dev = { UUID_ONE, "mtty-1", -1, -1, -1 };
	struct dev *d = &main_dev;
	unsigned char sc[4096];
	size_t sc_len = 0;
	char path[PATH_MAX], buf[256];
	const char *what = "";
	int r, walked = 0, setup_failed = 0;

	J = stdout;
	setvbuf(J, NULL, _IOFBF, 1 << 16);
	jstack[0] = 0;
	jfirst[0] = 1;

	jobj(NULL);
	jint("schema", 1);
	uname(&u);
	jobj("kernel");
	jstr("release", u.release);
	jstr("version", u.version);
	jstr("machine", u.machine);
	jclose();

	progress("start");
	load_host_hints();
	/* ---- parent and type */
	for (size_t i = 0; i < sizeof(type_roots) / sizeof(type_roots[0]); i++) {
		struct stat st;

		if (!type_root && stat(type_roots[i], &st) == 0)
			type_root = type_roots[i];
	}
	if (!type_root)
		fatal("no mtty mdev_supported_types directory (is CONFIG_SAMPLE_VFIO_MDEV_MTTY=y?)");

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		fatal("open /dev/vfio/vfio: %s", errname(errno));

	jobj("device");
	jstr("mdev_type", d->type);
	jstr("uuid", d->uuid);
	jobj("sysfs");
	jstr("types_dir", type_root);
	for (size_t i = 0; i < sizeof(type_roots) / sizeof(type_roots[0]); i++) {
		struct stat st;

		jbool(type_roots[i], stat(type_roots[i], &st) == 0);
	}
	jdir("types", type_root);
	snprintf(path, sizeof(path), "%s/%s", type_root, d->type);
	jdir("type_files", path);
	{
		static const char *const attrs[] = { "name", "device_api", "available_instances" };

		for (size_t i = 0; i < 3; i++) {
			ssize_t n;

			snprintf(path, sizeof(path), "%s/%s/%s", type_root, d->type, attrs[i]);
			n = read_small(path, buf, sizeof(buf));
			if (n < 0)
				jstr(attrs[i], errname(-n));
			else
				jbytes(attrs[i], buf, n);
		}
	}
	jclose();

	r = mdev_create(d);
	jstr("create", errname(r));
	if (r)
		fatal("creating %s %s: %s", d->type, d->uuid, errname(r));
	snprintf(path, sizeof(path), "/sys/kernel/debug/vfio/%s", d->uuid);
	jdir("debugfs_device_dir", path);
	dbg_dir(d, path, sizeof(path));
	jdir("debugfs_files", path);
	jdebugfs_state("state_before_open", d);
	r = dev_open(d, &what);
	if (r)
		fatal("opening %s (%s): %s", d->uuid, what, errname(r));
	jint("iommu_group", d->group);
	jstr("iommu", iommu_used);
	jint("vfio_api_version", ioctl(container, VFIO_GET_API_VERSION));
	jdebugfs_state("state_after_open", d);
	jstr("get_state_after_open", sname(mig_get(d)));
	{
		struct vfio_device_feature_migration mig = { 0 };
		struct vfio_device_feature_mig_data_size ds = { 0 };

		r = feature(d->fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
			    &mig, sizeof(mig));
		if (r)
			jstr("migration_flags", errname(r));
		else
			jint("migration_flags", mig.flags);
		r = feature(d->fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
			    &ds, sizeof(ds));
		if (r)
			jstr("mig_data_size", errname(r));
		else
			jint("mig_data_size", ds.stop_copy_length);
		r = feature(d->fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
			    NULL, 0);
		jstr("dma_logging_probe", errname(r));
	}
	jclose();
	fflush(J);

	progress("uart");
	juart_program("uart_program", d);

	/* ---- every (current, target) pair */
	progress("walking pairs");
	jarr("pairs");
	for (int from = 0; from < NSTATES; from++) {
		if (from == VFIO_DEVICE_STATE_ERROR)
			continue;
		for (int to = 0; to < NSTATES; to++) {
			if (is_skipped(from, to))
				continue;
			if (walk_pair(d, from, to))
				setup_failed++;
			else
				walked++;
		}
	}
	jclose();
	jarr("unreachable");
	jstr(NULL, "ERROR");
	jclose();
	jarr("skipped");
	for (int to = 0; to < NSTATES; to++) {
		if (!is_skipped(VFIO_DEVICE_STATE_STOP_COPY, to) )
			continue;
		jobj(NULL);
		jstr("from", "STOP_COPY");
		jstr("to", state_name[to]);
		jstr("reason", skip_reason);
		jclose();
	}
	jclose();
	jstr("stop_copy_to_pre_copy", walk_sc_pc ? "walked" : "skipped");
	jobj("coverage");
	jint("total_pairs", NSTATES * NSTATES);
	jint("walked", walked);
	jint("setup_failed", setup_failed);
	jint("unreachable", NSTATES);
	jint("skipped", walk_sc_pc ? 0 : 2);
	jclose();
	fflush(J);

	/* ---- data transfers */
	progress("transfers");
	jobj("transfers");
	{
		int dfd;
		const char *end;

		dev_reset(d);
		jobj("stop_copy");
		jstr("path", "RUNNING -> STOP_COPY (one SET)");
		r = mig_set(d, VFIO_DEVICE_STATE_STOP_COPY, &dfd);
		jstr("set_result", errname(r));
		jbool("data_fd", dfd >= 0);
		jdebugfs_state("debugfs_state", d);
		if (dfd >= 0) {
			sc_len = read_all(dfd, sc, sizeof(sc), &end);
			jint("size", sc_len);
			jhex("hex", sc, sc_len);
			jstr("end_read", end);
			jprecopy_info("precopy_info_in_stop_copy", dfd);
			r = mig_set(d, VFIO_DEVICE_STATE_STOP, &(int){ -1 });
			jstr("set_stop_result", errname(r));
			{
				unsigned char b[16];
				ssize_t n = read(dfd, b, sizeof(b));

				jstr("read_after_stop", n < 0 ? errname(errno) : n == 0 ? "0" : "data");
			}
			close(dfd);
		}
		jclose();
	}
	{
		int dfd, dfd2;
		unsigned char pre[4096], rest[4096];
		size_t npre = 0, nrest = 0;
		const char *end;

		dev_reset(d);
		jobj("pre_copy");
		jstr("path", "RUNNING -> PRE_COPY (one SET), then PRE_COPY -> STOP_COPY (one SET)");
		r = mig_set(d, VFIO_DEVICE_STATE_PRE_COPY, &dfd);
		jstr("set_pre_copy_result", errname(r));
		jbool("data_fd", dfd >= 0);
		if (dfd >= 0) {
			jprecopy_info("info_before", dfd);
			npre = read_all(dfd, pre, sizeof(pre), &end);
			jint("pre_copy_size", npre);
			jhex("pre_copy_hex", pre, npre);
			jstr("end_of_precopy_read", end);
			jprecopy_info("info_after", dfd);
			{
				unsigned char b[16];
				ssize_t n = read(dfd, b, sizeof(b));

				jstr("second_read_at_end", n < 0 ? errname(errno) : n == 0 ? "0" : "data");
			}
			r = mig_set(d, VFIO_DEVICE_STATE_STOP_COPY, &dfd2);
			jstr("set_stop_copy_result", errname(r));
			jbool("new_fd_on_stop_copy", dfd2 >= 0);
			jstr("state_after_stop_copy", sname(mig_get(d)));
			jdebugfs_state("debugfs_state_after_stop_copy", d);
			nrest = read_all(dfd2 >= 0 ? dfd2 : dfd, rest, sizeof(rest), &end);
			jstr("stop_copy_read_from", dfd2 >= 0 ? "new fd" : "pre-copy fd");
			jint("stop_copy_size", nrest);
			jhex("stop_copy_hex", rest, nrest);
			jstr("end_of_stop_copy_read", end);
			jprecopy_info("info_in_stop_copy", dfd);
			if (sc_len && npre + nrest == sc_len) {
				unsigned char all[8192];

				memcpy(all, pre, npre);
				memcpy(all + npre, rest, nrest);
				jbool("concat_equals_stop_copy", !memcmp(all, sc, sc_len));
			} else {
				jbool("concat_equals_stop_copy", 0);
			}
			r = dev_reset(d);
			jstr("reset_result", errname(r));
			jstr("state_after_reset", sname(mig_get(d)));
			{
				unsigned char b[16];
				ssize_t n = read(dfd, b, sizeof(b));

				jstr("read_after_reset", n < 0 ? errname(errno) : n == 0 ? "0" : "data");
			}
			jprecopy_info("info_after_reset", dfd);
			if (dfd2 >= 0)
				close(dfd2);
			close(dfd);
		}
		jclose();
	}
	jclose();
	fflush(J);

	/* ---- resume */
	progress("resume");
	setup_dev(&res_dev);
	jobj("resume");
	jstr("source_device", main_dev.uuid);
	jstr("target_device", res_dev.uuid);
	if (sc_len) {
		unsigned char bad[4096], again[4096];
		size_t n;

		resume_case("intact", &res_dev, sc, sc_len, 0,
			    "RUNNING -> RESUMING, write the stop_copy image, RESUMING -> RUNNING");
		n = save_image(&res_dev, again, sizeof(again));
		jbool("intact_reread_equal", n == sc_len && !memcmp(again, sc, sc_len));
		jhex("intact_reread_hex", again, n);

		memcpy(bad, sc, sc_len);
		bad[0] ^= 0xff;
		if (sc_len > 31)
			bad[31] = 0x77;
		resume_case("corrupt_header", &res_dev, bad, sc_len, 1,
			    "magic byte 0 flipped (^0xff) and, as a marker, port 0 SCR "
			    "(byte 31) set to 0x77; RESUMING, write, STOP, RUNNING");
		n = save_image(&res_dev, again, sizeof(again));
		jint("after_corrupt_image_bytes", n);
		jhex("after_corrupt_image_hex", again, n);
		jbool("corrupt_image_ports_loaded", n == sc_len &&
		      !memcmp(again + 24, bad + 24, sc_len - 24));

		setup_dev(&one_dev);
		resume_case("port_count_mismatch", &one_dev, sc, sc_len, 1,
			    "the 2-port (mtty-2) image written to an mtty-1 device in one write");
		resume_case("port_count_mismatch_prefix", &one_dev, sc,
			    sc_len > 60 ? 60 : sc_len, 1,
			    "the first 60 bytes (= mtty-1 data size) of the 2-port image to mtty-1");
		n = save_image(&one_dev, again, sizeof(again));
		jhex("mtty1_image_after_hex", again, n);
	} else {
		jstr("skipped", "no stop_copy image");
	}
	jclose();
	fflush(J);

	/* ---- lifecycle: state across close/reopen, debugfs after remove */
	progress("lifecycle");
	jobj("lifecycle");
	{
		int f;

		dev_reset(d);
		r = mig_set(d, VFIO_DEVICE_STATE_STOP, &f);
		jstr("set_stop_before_close", errname(r));
		dev_close(d);
		jdebugfs_state("debugfs_state_after_close", d);
		r = dev_open(d, &what);
		jstr("reopen", errname(r));
		if (!r) {
			jstr("get_state_after_reopen", sname(mig_get(d)));
			r = dev_reset(d);
			jstr("reset_result", errname(r));
			jstr("get_state_after_reset", sname(mig_get(d)));
			jdebugfs_state("debugfs_state_after_reset", d);
			if (sc_len) {
				unsigned char again[4096];
				size_t n = save_image(d, again, sizeof(again));

				jbool("ports_survive_reset_and_reopen",
				      n == sc_len && !memcmp(again, sc, sc_len));
			}
		}
		dev_close_group(&main_dev);
		dev_close_group(&res_dev);
		dev_close_group(&one_dev);
		jdebugfs_state("debugfs_state_all_closed", d);
		r = mdev_remove(&main_dev);
		jstr("remove", errname(r));
		snprintf(path, sizeof(path), "/sys/kernel/debug/vfio/%s", d->uuid);
		{
			struct stat st;

			jbool("debugfs_dir_exists_after_remove", stat(path, &st) == 0);
		}
		jdebugfs_state("debugfs_state_after_remove", d);
		mdev_remove(&res_dev);
		mdev_remove(&one_dev);
		jdir("debugfs_vfio_dir_at_end", "/sys/kernel/debug/vfio");
	}
	jclose();

	jobj("timing");
	jnum("walk_ms", mono_ms() - t0);
	jclose();
	jclose();
	fputc('\n', J);
	fflush(J);
	progress("done: %d pairs walked, %d setup failures", walked, setup_failed);
	return 0;
}
