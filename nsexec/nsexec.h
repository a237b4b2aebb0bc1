// Shared by the C files of the init's pre-runtime stage.
#ifndef HAKO_NSEXEC_H
#define HAKO_NSEXEC_H
#include <stddef.h>

// hako_fail reports a formatted error (with strerror(errno) when errno is
// set) to the parent on the sync socket and exits.
void hako_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

// hako_read_frame reads one length-prefixed frame from the sync socket
// into a malloc'd, NUL-terminated buffer.
char *hako_read_frame(size_t *lenp);

// hako_run_plan applies an exec plan (plan.go) and execs; it never returns.
void hako_run_plan(char *buf, size_t len) __attribute__((noreturn));

#endif
