// The pre-runtime stage of hako's container init.
//
// The kernel refuses setns(2) into a user or mount namespace, and
// unshare(CLONE_NEWUSER), from a multithreaded process, and the Go runtime
// starts threads before main. So the namespace work that needs a
// single-threaded process runs here, in a constructor that the dynamic
// loader (or the static start-up code) calls before the Go runtime. It only
// acts when the parent marked the process with _HAKO_SYNC_FD.
//
// Protocol on the sync socket (a stream socket; every frame is a 4-byte
// big-endian length and a payload):
//   parent -> here: one text frame, one directive a line:
//       join <nstype> <path>   setns into an existing namespace (user first)
//       joinpid <fd> <flags>   setns into the namespaces of the process
//                              behind pidfd fd, all at once (exec)
//       unshare <flags>        namespaces to create (CLONE_NEW*, decimal)
//       timens <line>          a line for /proc/self/timens_offsets
//       fork                   fork once more (a new or joined pid namespace,
//                              or a time namespace, only applies to children)
//       plan                   after the pid message, read an exec plan frame
//                              and run it (execplan.c) instead of returning
//   here -> parent: JSON frames {"type":"map","pid":N} (then wait for any
//   frame back: the parent has written the id maps), {"type":"pid","pid":N}
//   (the init's pid, as the parent sees it) or {"type":"error","error":"..."}.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include "nsexec.h"
#define fail hako_fail
#define read_frame hako_read_frame

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define MAX_JOINS 16
#define MAX_BOOTSTRAP (4 * 1024 * 1024) // maxBootstrap in plan.go: exec plans carry argv and env

static int sync_fd = -1;

// The RLIMIT_NOFILE the init was started with, before the Go runtime
// raises its soft limit: the container's process must get this one.
struct rlimit hako_orig_nofile;
int hako_orig_nofile_ok;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(const char *payload, size_t len)
{
	unsigned char hdr[4] = {len >> 24, len >> 16, len >> 8, len};
	if (write_all(sync_fd, hdr, 4) < 0)
		return -1;
	return write_all(sync_fd, payload, len);
}

// read_frame reads one frame into a malloc'd, NUL-terminated buffer.
char *read_frame(size_t *lenp)
{
	unsigned char hdr[4];
	if (read_all(sync_fd, hdr, 4) < 0)
		return NULL;
	size_t len = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
	if (len > MAX_BOOTSTRAP) {
		errno = EMSGSIZE;
		return NULL;
	}
	char *buf = malloc(len + 1);
	if (!buf)
		return NULL;
	if (read_all(sync_fd, buf, len) < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

// fail reports a formatted error to the parent and exits. The message is
// JSON-escaped by hand: it holds paths, which may contain quotes.
void fail(const char *fmt, ...)
{
	int saved = errno;
	char msg[1024], out[2300];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 64, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (saved && (size_t)n < sizeof(msg) - 64) {
		// Lower case, as Go spells errno texts.
		size_t at = strlen(msg) + 2;
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s", strerror(saved));
		msg[at] = (char)tolower((unsigned char)msg[at]);
	}
	size_t o = 0;
	o += (size_t)snprintf(out, sizeof(out), "{\"type\":\"error\",\"error\":\"");
	for (const char *p = msg; *p && o < sizeof(out) - 8; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\"}");
	send_frame(out, o);
	_exit(1);
}

static void send_pid(const char *type, pid_t pid)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"pid\":%d}", type, (int)pid);
	if (send_frame(buf, (size_t)n) < 0)
		fail("send %s message to parent", type);
}

static const char *ns_name(int type)
{
	switch (type) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

struct join {
	int type;
	char *path;
	int fd;
};

__attribute__((constructor)) static void hako_nsexec(void)
{
	// A user namespace holder: hako's parent made it in a new user
	// namespace to take an fd of that namespace (idmapped mounts with
	// their own mappings). It waits, without starting the Go runtime,
	// until its stdin closes.
	if (getenv("_HAKO_USERNS_HOLDER")) {
		char c;
		while (read(0, &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	const char *env = getenv("_HAKO_SYNC_FD");
	if (!env)
		return;
	sync_fd = atoi(env);
	hako_orig_nofile_ok = getrlimit(RLIMIT_NOFILE, &hako_orig_nofile) == 0;

	char *boot = read_frame(NULL);
	if (!boot)
		fail("read bootstrap from parent");

	struct join joins[MAX_JOINS];
	int njoins = 0, do_fork = 0, pidfd = -1, plan = 0;
	unsigned long flags = 0, pidfd_flags = 0;
	char timens[512] = "";
	size_t timens_len = 0;

	for (char *line = strtok(boot, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "join ", 5) == 0) {
			if (njoins == MAX_JOINS)
				fail("too many namespaces to join");
			char *sp = strchr(line + 5, ' ');
			if (!sp)
				fail("bad bootstrap line %s", line);
			*sp = '\0';
			joins[njoins].type = atoi(line + 5);
			joins[njoins].path = sp + 1;
			joins[njoins].fd = -1;
			njoins++;
		} else if (strncmp(line, "joinpid ", 8) == 0) {
			char *end;
			pidfd = (int)strtol(line + 8, &end, 10);
			pidfd_flags = strtoul(end, NULL, 10);
		} else if (strncmp(line, "unshare ", 8) == 0) {
			flags = strtoul(line + 8, NULL, 10);
		} else if (strncmp(line, "timens ", 7) == 0) {
			size_t l = strlen(line + 7);
			if (timens_len + l + 2 > sizeof(timens))
				fail("timeOffsets too long");
			memcpy(timens + timens_len, line + 7, l);
			timens_len += l;
			timens[timens_len++] = '\n';
			timens[timens_len] = '\0';
		} else if (strcmp(line, "fork") == 0) {
			do_fork = 1;
		} else if (strcmp(line, "plan") == 0) {
			plan = 1;
		} else {
			errno = 0;
			fail("unknown bootstrap line %s", line);
		}
	}

	// Joining through a pidfd enters all of the process's namespaces in
	// one call; the kernel orders them (user first) and a recycled pid
	// cannot redirect us, since the pidfd pins the process.
	if (pidfd >= 0) {
		if (setns(pidfd, (int)pidfd_flags) < 0)
			fail("join the container's namespaces (flags %#lx)", pidfd_flags);
		close(pidfd);
	}

	// Open every namespace before entering any: after a mount namespace
	// is joined, the paths would resolve in the container's view.
	for (int i = 0; i < njoins; i++) {
		joins[i].fd = open(joins[i].path, O_RDONLY | O_CLOEXEC);
		if (joins[i].fd < 0)
			fail("open %s namespace %s", ns_name(joins[i].type), joins[i].path);
	}
	// The user namespace first: it grants the capabilities the others need.
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < njoins; i++) {
			int is_user = joins[i].type == CLONE_NEWUSER;
			if (pass == 0 ? !is_user : is_user)
				continue;
			if (setns(joins[i].fd, joins[i].type) < 0)
				fail("join %s namespace %s", ns_name(joins[i].type), joins[i].path);
			close(joins[i].fd);
		}
	}

	if (flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			fail("create user namespace");
		// The parent writes uid_map and gid_map (itself, or through
		// newuidmap/newgidmap) and then answers.
		send_pid("map", getpid());
		char *ack = read_frame(NULL);
		if (!ack)
			fail("wait for id mappings");
		free(ack);
		if (setresgid(0, 0, 0) < 0)
			fail("setresgid to the container's root (is gid 0 mapped?)");
		if (setresuid(0, 0, 0) < 0)
			fail("setresuid to the container's root (is uid 0 mapped?)");
		// Changing credentials made us non-dumpable, which hands
		// /proc/self to the host's root: we could no longer write our
		// own timens_offsets or id files.
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			fail("prctl(PR_SET_DUMPABLE)");
	}
	unsigned long rest = flags & ~(unsigned long)CLONE_NEWUSER;
	if (rest && unshare((int)rest) < 0)
		fail("create namespaces (flags %#lx)", rest);
	if (timens_len > 0) {
		int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			fail("open /proc/self/timens_offsets");
		if (write(fd, timens, timens_len) != (ssize_t)timens_len)
			fail("write linux.timeOffsets to /proc/self/timens_offsets");
		close(fd);
	}
	free(boot);

	if (do_fork) {
		// CLONE_PARENT makes the init a child of hako itself, so that
		// `hako run` can wait for it; this process only reports its pid.
		pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (pid < 0)
			fail("fork into the new pid namespace");
		if (pid > 0) {
			send_pid("pid", pid);
			_exit(0);
		}
	} else {
		send_pid("pid", getpid());
	}
	if (plan) {
		// `hako exec` of a plain process: the parent sends its plan
		// next, and this process becomes it without the Go runtime.
		size_t len;
		char *buf = read_frame(&len);
		if (!buf)
			fail("read the exec plan from the parent");
		hako_run_plan(buf, len);
	}
	// The init continues into the Go runtime.
}
