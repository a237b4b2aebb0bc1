// The exec plan: `hako exec` of a process without a terminal or a seccomp
// listener, done in the pre-runtime stage. The process has joined the
// container's namespaces; this applies the attributes the parent resolved
// (plan.go encodes them) in the order containerinit's exec uses and
// execs, so that no Go runtime starts in the container: that start was
// most of the time of an exec.
//
// Errors go to the parent with hako_fail, worded as the Go path words
// them. The sync socket is close-on-exec: the parent sees EOF once the
// exec succeeds.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "nsexec.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define fail hako_fail
#define MAX_RLIMITS 32
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct plan {
	char **argv;
	size_t argc;
	char **envp;
	size_t envc;
	char *cwd;
	uint32_t uid, gid;
	gid_t *groups;
	size_t ngroups;
	uint32_t umask_v;
	int has_caps;
	uint64_t bounding, effective, permitted, inheritable, ambient;
	struct {
		int resource;
		struct rlimit lim;
	} rlimits[MAX_RLIMITS];
	size_t nrlimits;
	int nnp;
	int has_oom;
	int32_t oom;
	int has_persona;
	uint32_t persona;
	int has_ioprio;
	uint32_t ioprio;
	const char *sched;
	size_t sched_len;
	const struct sock_filter *filter;
	size_t filter_len;
	uint32_t filter_flags;
	uint32_t preserve_fds;
};

static char *dup_payload(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		fail("exec plan: out of memory");
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void push(char ***list, size_t *n, char *s)
{
	char **l = realloc(*list, (*n + 2) * sizeof(char *));
	if (!l)
		fail("exec plan: out of memory");
	l[(*n)++] = s;
	l[*n] = NULL;
	*list = l;
}

static uint32_t u32_at(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void parse(struct plan *pl, const char *buf, size_t len)
{
	memset(pl, 0, sizeof(*pl));
	pl->umask_v = 022;
	size_t off = 0;
	while (off < len) {
		if (len - off < 5)
			goto bad;
		char tag = buf[off];
		size_t n = ((size_t)(unsigned char)buf[off + 1] << 24) | ((size_t)(unsigned char)buf[off + 2] << 16) |
			   ((size_t)(unsigned char)buf[off + 3] << 8) | (unsigned char)buf[off + 4];
		off += 5;
		if (n > len - off)
			goto bad;
		const char *p = buf + off;
		off += n;
		switch (tag) {
		case 'a':
			push(&pl->argv, &pl->argc, dup_payload(p, n));
			break;
		case 'e':
			push(&pl->envp, &pl->envc, dup_payload(p, n));
			break;
		case 'c':
			pl->cwd = dup_payload(p, n);
			break;
		case 'u':
			if (n != 8)
				goto bad;
			pl->uid = u32_at(p);
			pl->gid = u32_at(p + 4);
			break;
		case 'G': {
			if (n != 4)
				goto bad;
			gid_t *g = realloc(pl->groups, (pl->ngroups + 1) * sizeof(gid_t));
			if (!g)
				fail("exec plan: out of memory");
			g[pl->ngroups++] = u32_at(p);
			pl->groups = g;
			break;
		}
		case 'm':
			if (n != 4)
				goto bad;
			pl->umask_v = u32_at(p);
			break;
		case 'C':
			if (n != 40)
				goto bad;
			pl->has_caps = 1;
			pl->bounding = u64_at(p);
			pl->effective = u64_at(p + 8);
			pl->permitted = u64_at(p + 16);
			pl->inheritable = u64_at(p + 24);
			pl->ambient = u64_at(p + 32);
			break;
		case 'r':
			if (n != 20 || pl->nrlimits == MAX_RLIMITS)
				goto bad;
			pl->rlimits[pl->nrlimits].resource = (int)u32_at(p);
			pl->rlimits[pl->nrlimits].lim.rlim_cur = u64_at(p + 4);
			pl->rlimits[pl->nrlimits].lim.rlim_max = u64_at(p + 12);
			pl->nrlimits++;
			break;
		case 'n':
			pl->nnp = 1;
			break;
		case 'o':
			if (n != 4)
				goto bad;
			pl->has_oom = 1;
			pl->oom = (int32_t)u32_at(p);
			break;
		case 'P':
			if (n != 4)
				goto bad;
			pl->has_persona = 1;
			pl->persona = u32_at(p);
			break;
		case 'i':
			if (n != 4)
				goto bad;
			pl->has_ioprio = 1;
			pl->ioprio = u32_at(p);
			break;
		case 'S':
			pl->sched = p;
			pl->sched_len = n;
			break;
		case 's':
			if (n < 4 + sizeof(struct sock_filter) || (n - 4) % sizeof(struct sock_filter) != 0)
				goto bad;
			pl->filter_flags = u32_at(p);
			pl->filter = (const struct sock_filter *)(p + 4);
			pl->filter_len = (n - 4) / sizeof(struct sock_filter);
			break;
		case 'f':
			if (n != 4)
				goto bad;
			pl->preserve_fds = u32_at(p);
			break;
		default:
			goto bad;
		}
	}
	if (pl->argc == 0)
		goto bad;
	if (!pl->envp && !(pl->envp = calloc(1, sizeof(char *))))
		fail("exec plan: out of memory");
	return;
bad:
	errno = 0;
	fail("exec plan: malformed frame from the parent");
}

static const char *env_value(struct plan *pl, const char *key)
{
	size_t k = strlen(key);
	const char *v = NULL;
	for (size_t i = 0; i < pl->envc; i++)
		if (strncmp(pl->envp[i], key, k) == 0 && pl->envp[i][k] == '=')
			v = pl->envp[i] + k + 1; // the last one wins, as in Go's lookPath
	return v;
}

// check_executable mirrors containerinit's checkExecutable; it returns
// NULL or what is wrong, worded as Go words it.
static const char *check_executable(const char *p)
{
	static char why[PATH_MAX + 128];
	struct stat st;
	if (stat(p, &st) < 0) {
		snprintf(why, sizeof(why), "stat %s: %s", p, strerror(errno));
		why[5 + strlen(p) + 2] = (char)tolower((unsigned char)why[5 + strlen(p) + 2]);
		return why;
	}
	if (S_ISDIR(st.st_mode))
		return "is a directory";
	if (!(st.st_mode & 0111))
		return "permission denied";
	return NULL;
}

// look_path finds argv[0] the way containerinit's lookPath does.
static char *look_path(struct plan *pl)
{
	const char *file = pl->argv[0];
	if (strchr(file, '/')) {
		char *p;
		if (file[0] != '/' && pl->cwd && pl->cwd[0]) {
			if (asprintf(&p, "%s/%s", pl->cwd, file) < 0)
				fail("exec plan: out of memory");
		} else {
			p = strdup(file);
		}
		const char *why = check_executable(p);
		if (why) {
			errno = 0;
			fail("process.args[0] %s: %s", file, why);
		}
		return p;
	}
	const char *path = env_value(pl, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	const char *start = path;
	// An empty PATH has no directories (Go's filepath.SplitList).
	for (; *path;) {
		const char *end = strchr(start, ':');
		size_t n = end ? (size_t)(end - start) : strlen(start);
		char *p;
		if (asprintf(&p, "%.*s/%s", (int)n, n ? start : ".", file) < 0)
			fail("exec plan: out of memory");
		if (!check_executable(p))
			return p;
		free(p);
		if (!end)
			break;
		start = end + 1;
	}
	errno = 0;
	fail("process.args[0] \"%s\": executable file not found in $PATH", file);
}

// add_home gives the process HOME from the container's /etc/passwd when
// its environment has none, as containerinit's homeDir does.
static void add_home(struct plan *pl)
{
	if (env_value(pl, "HOME"))
		return;
	const char *home = "/";
	char line[4096];
	static char found[4096];
	FILE *f = fopen("/etc/passwd", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			char *fields[7] = {0};
			int nf = 0;
			for (char *s = line; nf < 7; nf++) {
				fields[nf] = s;
				char *c = strchr(s, ':');
				if (!c) {
					nf++;
					break;
				}
				*c = '\0';
				s = c + 1;
			}
			if (nf >= 6 && fields[5][0] && strtoul(fields[2], NULL, 10) == pl->uid && fields[2][0] >= '0' &&
			    fields[2][0] <= '9') {
				char want[16];
				snprintf(want, sizeof(want), "%u", pl->uid);
				if (strcmp(fields[2], want) == 0) {
					snprintf(found, sizeof(found), "%s", fields[5]);
					home = found;
					break;
				}
			}
		}
		fclose(f);
	}
	char *e;
	if (asprintf(&e, "HOME=%s", home) < 0)
		fail("exec plan: out of memory");
	push(&pl->envp, &pl->envc, e);
}

static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static int setgroups_denied(void)
{
	char buf[16] = "";
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strncmp(buf, "deny", 4) == 0;
}

static void load_filter(struct plan *pl)
{
	struct sock_fprog prog = {.len = (unsigned short)pl->filter_len, .filter = (struct sock_filter *)pl->filter};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, pl->filter_flags, &prog) < 0)
		fail("linux.seccomp: load the filter (flags %#x)", pl->filter_flags);
}

// apply_user follows containerinit's applyWithUser: bounding set, keep
// the permitted set across the uid change, then the capability sets.
static void apply_user(struct plan *pl)
{
	if (pl->has_caps) {
		int last = last_cap();
		for (int c = 0; c <= last; c++) {
			if (pl->bounding & (1ULL << c))
				continue;
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				fail("drop capability %d from the bounding set", c);
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			fail("prctl(PR_SET_KEEPCAPS)");
	}
	if (setgroups(pl->ngroups, pl->groups) < 0) {
		if (pl->ngroups > 0 || !setgroups_denied())
			fail("set process.user.additionalGids");
	}
	if (setresgid(pl->gid, pl->gid, pl->gid) < 0)
		fail("set process.user.gid %u", pl->gid);
	if (setresuid(pl->uid, pl->uid, pl->uid) < 0)
		fail("set process.user.uid %u", pl->uid);
	if (!pl->has_caps)
		return;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		fail("prctl(PR_SET_KEEPCAPS)");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(pl->effective >> (32 * i));
		data[i].permitted = (uint32_t)(pl->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(pl->inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail("set capabilities (effective %#llx, permitted %#llx, inheritable %#llx)",
		     (unsigned long long)pl->effective, (unsigned long long)pl->permitted,
		     (unsigned long long)pl->inheritable);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail("clear ambient capabilities");
	for (int c = 0; c < 64; c++) {
		if (!(pl->ambient & (1ULL << c)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			fail("raise ambient capability %d (it must also be permitted and inheritable)", c);
	}
}

void hako_run_plan(char *buf, size_t len)
{
	struct plan pl;
	parse(&pl, buf, len);
	// Nothing of hako's may reach the process: every fd from 3 on but
	// the preserved ones is closed at exec (CVE-2024-21626), the sync
	// socket too, which tells the parent the exec happened.
	if (syscall(SYS_close_range, 3 + pl.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail("mark inherited fds close-on-exec");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("prctl(PR_SET_DUMPABLE)");
	char *path = look_path(&pl);
	add_home(&pl);
	umask(pl.umask_v);
	if (pl.cwd && pl.cwd[0]) {
		if (chdir(pl.cwd) < 0)
			fail("chdir to process.cwd %s", pl.cwd);
		// A cwd through a magic link (/proc/self/fd/N of an fd leaked
		// to us) can land outside the container's root; the kernel then
		// reports it unreachable (CVE-2024-21626).
		char wd[PATH_MAX];
		if (!getcwd(wd, sizeof(wd)) || wd[0] != '/') {
			errno = 0;
			fail("process.cwd %s is outside the container's root filesystem", pl.cwd);
		}
	}
	if (pl.has_oom) {
		char v[16];
		int n = snprintf(v, sizeof(v), "%d", pl.oom);
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, v, (size_t)n) != n)
			fail("set process.oomScoreAdj %d", pl.oom);
		close(fd);
	}
	for (size_t i = 0; i < pl.nrlimits; i++) {
		if (setrlimit(pl.rlimits[i].resource, &pl.rlimits[i].lim) < 0)
			fail("set rlimit %d to %llu/%llu", pl.rlimits[i].resource,
			     (unsigned long long)pl.rlimits[i].lim.rlim_cur, (unsigned long long)pl.rlimits[i].lim.rlim_max);
	}
	if (pl.has_persona && personality(pl.persona) < 0)
		fail("set linux.personality");
	if (pl.has_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, pl.ioprio) < 0)
		fail("set process.ioPriority");
	if (pl.sched && syscall(SYS_sched_setattr, 0, pl.sched, 0) < 0)
		fail("set process.scheduler");
	// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
	// while we still have it.
	if (pl.filter && !pl.nnp)
		load_filter(&pl);
	apply_user(&pl);
	if (pl.nnp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			fail("set noNewPrivileges");
		if (pl.filter)
			load_filter(&pl);
	}
	execve(path, pl.argv, pl.envp);
	fail("exec %s", pl.argv[0]);
}
