/**
 * @file thread_sched.c
 * See thread_sched.h.
 */
#include "util/thread_sched.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

int thread_sched_open(void)
{
	return open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
}

void thread_sched_read(int fd, uint64_t *preempted, uint64_t *wait_ns)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		*preempted = (uint64_t)ru.ru_nivcsw;
	char buf[128];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n <= 0)
		return;
	buf[n] = '\0';
	unsigned long long run, wait;
	if (sscanf(buf, "%llu %llu", &run, &wait) == 2)
		*wait_ns = wait;
}
