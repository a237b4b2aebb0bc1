// memlock-shim.c: an LD_PRELOAD library for crun on machines without
// CAP_SYS_RESOURCE. crun raises RLIMIT_MEMLOCK before loading its device
// program and gives up when the raise is refused; this makes an EPERM for
// RLIMIT_MEMLOCK from setrlimit/prlimit a success (the load works anyway
// on Linux 5.11 and later). Built by test/bench/bench.sh and
// test/conformance/run.sh when they run crun for comparison.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/types.h>

int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	static int (*real)(__rlimit_resource_t, const struct rlimit *);
	if (!real)
		real = dlsym(RTLD_NEXT, "setrlimit");
	int r = real(res, rl);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK)
		return 0;
	return r;
}

int setrlimit64(__rlimit_resource_t res, const struct rlimit64 *rl)
{
	static int (*real)(__rlimit_resource_t, const struct rlimit64 *);
	if (!real)
		real = dlsym(RTLD_NEXT, "setrlimit64");
	int r = real(res, rl);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK)
		return 0;
	return r;
}

int prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *nl, struct rlimit64 *ol)
{
	static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit64 *, struct rlimit64 *);
	if (!real)
		real = dlsym(RTLD_NEXT, "prlimit64");
	int r = real(pid, res, nl, ol);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK && nl)
		return 0;
	return r;
}

int prlimit(pid_t pid, __rlimit_resource_t res, const struct rlimit *nl, struct rlimit *ol)
{
	static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit *, struct rlimit *);
	if (!real)
		real = dlsym(RTLD_NEXT, "prlimit");
	int r = real(pid, res, nl, ol);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK && nl)
		return 0;
	return r;
}
