/* tools/sio-bench/bench.h - what the coordinator (main.c) and the workers
 * (worker.c) share: the options of a run and the messages a worker sends up.
 *
 * A run is one scenario. The coordinator forks one or more worker processes
 * (each holds its share of the connections: one process may hold fewer open
 * files than a big run needs) and steps them through the same phases:
 *
 *   setup    connect, start the traffic, warm up        worker -> 'R' (ready)
 *   measure  after 'G' (go) from the coordinator         worker -> 'P' (progress)...
 *   done     the measured figures                        worker -> 'D'
 *   quit     after 'Q': close everything and exit
 *
 * The coordinator samples the server (its core's busy time, its memory)
 * between those steps, so that the server figures cover the measured phase.
 */
#ifndef SIO_BENCH_H
#define SIO_BENCH_H

#include "hist.h"

#include <stdint.h>

typedef enum scenario { SC_CONNECT, SC_ECHO, SC_BROADCAST, SC_IDLE, SC_CHURN } scenario;

typedef struct bench_opts {
    scenario sc;
    const char *host; /* the server, an IPv4 loopback address */
    int port;
    const char *path;     /* "/socket.io/", or "/ws" in raw mode */
    const char *nsp;      /* "/chat" */
    int raw;              /* plain WebSocket: no Engine.IO / Socket.IO */
    int polling;          /* connect over HTTP long-polling (connect and churn) */
    uint32_t connections; /* connect, idle, broadcast receivers; echo clients */
    uint32_t concurrency; /* handshakes in progress at once */
    uint32_t window;      /* echo: per client; broadcast: per sender */
    uint32_t senders;     /* broadcast */
    uint32_t payload;     /* bytes of the data string */
    uint32_t sources;     /* source addresses 127.0.0.2 ... */
    uint32_t procs;
    double duration, warmup, rate, timeout, progress, bcast_timeout;
    int server_pid;
    int server_cpu;
    const char *label;
    int quiet;
    /* per worker */
    uint32_t worker;
    uint32_t share;          /* connections (or churn slots) of this worker */
    uint32_t rate_share_num; /* rate is split by share / connections */
} bench_opts;

/* Figures of one worker over the measured phase. */
typedef struct bstats {
    uint64_t ops;     /* round trips, deliveries, connections, cycles */
    uint64_t sent;    /* echo requests or broadcasts sent */
    uint64_t errors;  /* failed connections, unexpected closes, protocol errors */
    uint64_t lost;    /* broadcast deliveries given up on (timeout) */
    uint64_t pings;   /* Engine.IO pings answered */
    uint64_t backlog; /* rate mode: sends that found the window full */
    uint64_t bytes_in, bytes_out;
    uint64_t elapsed_ns;
    uint64_t cpu_ns; /* the worker's own CPU time */
    hist lat;
} bstats;

typedef struct wmsg {
    uint32_t type;  /* 'R', 'P', 'D' */
    uint32_t phase; /* 0 setup, 1 measure */
    uint64_t ready, failed, open;
    char error[128]; /* the first error seen, for the summary */
    bstats st;
} wmsg;

/* Runs one worker until 'Q' (or its deadline): never returns. ctl_in gets the
 * coordinator's bytes, ctl_out takes the wmsg records. */
void worker_main(const bench_opts *o, int ctl_in, int ctl_out) __attribute__((noreturn));

#endif
