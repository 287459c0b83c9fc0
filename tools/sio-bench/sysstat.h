/* tools/sio-bench/sysstat.h - what the tool reads about the machine and the
 * server: a CPU's busy and total time from /proc/stat (softirq included, since
 * loopback TCP work is charged to the core, not to the process), a process's
 * resident memory and CPU time from /proc/PID/{status,stat}, and its own CPU
 * time from getrusage.
 */
#ifndef SIO_BENCH_SYSSTAT_H
#define SIO_BENCH_SYSSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* One CPU's counters in clock ticks: 0, or -1 when unreadable. */
int cpu_ticks(int cpu, uint64_t *busy, uint64_t *total);
/* VmRSS of pid in bytes, 0 when unknown. */
uint64_t proc_rss(pid_t pid);
/* utime + stime of pid in clock ticks, 0 when unknown. */
uint64_t proc_cpu_ticks(pid_t pid);
/* This process's CPU time (user + system) in nanoseconds. */
uint64_t self_cpu_ns(void);
/* Clock ticks per second (USER_HZ). */
long ticks_per_second(void);

#endif
