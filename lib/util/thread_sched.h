/**
 * @file thread_sched.h
 * What other tasks took from the calling thread: its involuntary context switches
 * (getrusage RUSAGE_THREAD) and the time it spent runnable but waiting for its CPU (the
 * second field of /proc/thread-self/schedstat). A polling thread on a core of its own sees
 * neither grow; the worker exports them (loop.preempted, loop.cpu_wait_us) and the load
 * generator reports them, because a few milliseconds taken by the host are what latency
 * tails on a shared machine are made of.
 */
#ifndef TACHYON_UTIL_THREAD_SCHED_H
#define TACHYON_UTIL_THREAD_SCHED_H

#include <stdint.h>

/** /proc/thread-self/schedstat opened for the calling thread (only it may read it), or -1. */
int thread_sched_open(void);

/** The calling thread's involuntary context switches into *@p preempted and its time spent
 *  waiting for a CPU into *@p wait_ns (read from @p fd, thread_sched_open()'s; left as they
 *  were when @p fd is -1 or unreadable). */
void thread_sched_read(int fd, uint64_t *preempted, uint64_t *wait_ns);

#endif /* TACHYON_UTIL_THREAD_SCHED_H */
