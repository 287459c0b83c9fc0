/* sio-bench: the load tool of socketio-c. It speaks Engine.IO v4 and
 * Socket.IO v5 itself (or plain WebSocket with --raw) and measures a server
 * under one scenario per run: connect, echo, broadcast, idle or churn.
 *
 * This file is the coordinator: it reads the options, forks the workers
 * (worker.c), steps them through their phases, samples the server around the
 * measured phase (its core's busy time from /proc/stat, its memory and CPU
 * from /proc/PID) and prints a human summary (stderr) and one JSON line
 * (stdout). See --help.
 */
#include "bench.h"
#include "cli_num.h"
#include "sysstat.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "sio-bench"
#define COUNT_MAX 10000000LL /* connections, slots, windows, senders */

static const char *const scenario_names[] = {"connect", "echo", "broadcast", "idle", "churn"};

static void usage(FILE *f) {
    fprintf(f,
            "usage: sio-bench SCENARIO [options]\n"
            "\n"
            "Load tool for Socket.IO servers (Engine.IO v4 / Socket.IO v5 over WebSocket),\n"
            "or plain WebSocket servers with --raw. The workload is the /chat contract of\n"
            "tests/helpers/sio_test_server: msg_to_server(data) -> msg_to_client(data) to every\n"
            "socket of /chat, echo(data, ack) -> ack(data). In --raw mode a text message is\n"
            "echoed, and one starting with 'B' is sent to every connection\n"
            "(tests/helpers/ws_echo_server.c --broadcast).\n"
            "\n"
            "Scenarios:\n"
            "  connect    open -n connections, -c at a time; connections/s and handshake\n"
            "             latency (TCP connect to the namespace CONNECT answer; in --raw\n"
            "             mode to the 101). --polling does the handshake over long-polling\n"
            "             (GET open, POST 40/chat, GET the answer).\n"
            "  echo       -n clients each keep -w echo events (with acks) in flight for -d\n"
            "             seconds; round trips/s and latency. --rate R paces the requests to\n"
            "             R round trips/s in total (the window still caps each client).\n"
            "  broadcast  -n receivers in /chat; the first -s of them also send msg_to_server,\n"
            "             each with at most -w broadcasts not yet received by everyone;\n"
            "             deliveries/s (messages received, summed) and delivery latency\n"
            "             (send to receipt, from a timestamp in the data).\n"
            "  idle       hold -n connected clients for -d seconds (answering pings); the\n"
            "             server's RSS before the first connection and at the end, bytes per\n"
            "             connection (needs --server-pid).\n"
            "  churn      -c slots connect, complete the handshake and disconnect, over and\n"
            "             over for -d seconds; cycles/s and the server's RSS before (after a\n"
            "             warm-up round) and after (leak check; needs --server-pid).\n"
            "\n"
            "Options (defaults in brackets):\n"
            "  -p, --port N            server port [3000], on --host [127.0.0.1]\n"
            "      --path P            [/socket.io/], [/ws] with --raw\n"
            "      --nsp NS            namespace [/chat]\n"
            "      --raw               plain WebSocket, no Engine.IO / Socket.IO\n"
            "      --polling           connect/churn: handshake over HTTP long-polling\n"
            "  -n, --connections N     connections, clients or receivers [100; connect,idle 1000]\n"
            "  -c, --concurrency K     handshakes in progress at once [100; churn: slots 50]\n"
            "  -w, --window W          echo: per client [10]; broadcast: per sender [4]\n"
            "  -s, --senders S         broadcast senders [2]\n"
            "      --payload BYTES     size of the data string [100]\n"
            "  -d, --duration S        measured seconds [10; idle 5]\n"
            "      --warmup S          traffic before measuring [1; idle 0; churn 1]\n"
            "      --rate R            echo: total round trips per second (0: as fast as possible) "
            "[0]\n"
            "      --sources A         source addresses 127.0.0.2 .. 127.0.0.(A+1) [8]\n"
            "      --procs P           worker processes, at most 64 [auto: enough to stay under\n"
            "                          the open-file limit]; broadcast needs 1\n"
            "      --server-pid PID    the server: RSS and process CPU from /proc/PID\n"
            "      --server-cpu N      the server's core, for /proc/stat [0]\n"
            "      --label NAME        server name in the JSON line\n"
            "      --timeout S         connect phase limit [60]\n"
            "      --bcast-timeout S   broadcast: give up on a delivery after S [5]\n"
            "      --progress S        progress line every S seconds on stderr, 0: none [1]\n"
            "  -q, --quiet             no progress and no summary, only the JSON line\n"
            "  -h, --help\n"
            "\n"
            "Output: progress and a summary on stderr, one JSON line on stdout with the\n"
            "figures of the measured phase: ops (round trips, deliveries, connections,\n"
            "cycles), ops_per_s, lat_us {p50,p90,p99,p999,max,mean}, tool_cpu (the tool's\n"
            "own CPU share of its cores, getrusage; tool_saturated when >= 0.9: the figure\n"
            "may be the tool's limit), server_core_busy (share of the server's core busy,\n"
            "/proc/stat, softirq included), server_cpu_us_per_op (busy core time per op),\n"
            "server_proc_cpu and server_proc_us_per_op (/proc/PID/stat: the process alone,\n"
            "robust when other work shares the core), tool_cpu_us_per_op and\n"
            "tool_capacity_ops_per_s (the tool's cost per op, and the rate one core of it\n"
            "could drive), server_rss_before/after, bytes_per_conn, errors, lost.\n"
            "Exit status 0 when the run completed, 1 when nothing worked, 2 on a bad option\n"
            "(a number is checked whole and against its range: a one-line message names the\n"
            "option and the range).\n");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

typedef struct child {
    pid_t pid;
    int in;  /* we read its wmsg records */
    int out; /* we write 'G' / 'Q' */
    wmsg last;
    size_t got; /* bytes of the record being read */
    wmsg cur;
    int ready, done, eof;
    bstats final;
    uint64_t ready_n, failed_n, open_n;
    char error[128];
} child;

typedef struct server_sample {
    uint64_t busy, total, proc, rss;
    double t;
} server_sample;

static void sample_server(const bench_opts *o, server_sample *s) {
    s->busy = s->total = 0;
    cpu_ticks(o->server_cpu, &s->busy, &s->total);
    s->proc = o->server_pid ? proc_cpu_ticks(o->server_pid) : 0;
    s->rss = o->server_pid ? proc_rss(o->server_pid) : 0;
    s->t = now_s();
}

static void tell(child *ch, int n, char c) {
    for (int i = 0; i < n; i++)
        if (!ch[i].eof && write(ch[i].out, &c, 1) < 0) ch[i].eof = 1;
}

/* Reads what is available from the children; returns 0, or -1 once the deadline passed. */
static int pump(child *ch, int n, double deadline,
                void (*on_progress)(child *, int, const bench_opts *), const bench_opts *o) {
    struct pollfd pf[256];
    int k = 0;
    for (int i = 0; i < n; i++) {
        pf[i].fd = ch[i].eof ? -1 : ch[i].in;
        pf[i].events = POLLIN;
        pf[i].revents = 0;
        if (!ch[i].eof) k++;
    }
    if (!k) return -1;
    double left = deadline - now_s();
    if (left <= 0) return -1;
    int r = poll(pf, (nfds_t)n, left > 0.2 ? 200 : (int)(left * 1000) + 1);
    if (r < 0 && errno != EINTR) return -1;
    for (int i = 0; i < n; i++) {
        if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char *dst = (char *)&ch[i].cur + ch[i].got;
        ssize_t m = read(ch[i].in, dst, sizeof(wmsg) - ch[i].got);
        if (m <= 0) {
            if (m < 0 && errno == EINTR) continue;
            ch[i].eof = 1;
            continue;
        }
        ch[i].got += (size_t)m;
        if (ch[i].got < sizeof(wmsg)) continue;
        ch[i].got = 0;
        wmsg *w = &ch[i].cur;
        ch[i].ready_n = w->ready;
        ch[i].failed_n = w->failed;
        ch[i].open_n = w->open;
        if (w->error[0] && !ch[i].error[0]) memcpy(ch[i].error, w->error, sizeof ch[i].error);
        if (w->type == 'R') ch[i].ready = 1;
        if (w->type == 'D') {
            ch[i].done = 1;
            ch[i].final = w->st;
        }
        if (w->type == 'P') {
            ch[i].last = *w;
            if (on_progress) on_progress(ch, n, o);
        }
    }
    return 0;
}

static double g_t_go;
static uint64_t g_prev_ops;
static double g_prev_t;

static void print_progress(child *ch, int n, const bench_opts *o) {
    if (o->quiet || o->progress <= 0) return;
    uint64_t ops = 0, ready = 0, failed = 0, errors = 0;
    int measuring = 0;
    hist h;
    hist_reset(&h);
    for (int i = 0; i < n; i++) {
        ops += ch[i].last.st.ops;
        ready += ch[i].ready_n;
        failed += ch[i].failed_n;
        errors += ch[i].last.st.errors;
        measuring |= (int)ch[i].last.phase;
        hist_merge(&h, &ch[i].last.st.lat);
    }
    double t = now_s();
    if (!measuring) {
        fprintf(stderr, "  setup: %llu connected, %llu failed\n", (unsigned long long)ready,
                (unsigned long long)failed);
        return;
    }
    double dt = t - g_prev_t;
    double rate = dt > 0 && ops >= g_prev_ops ? (double)(ops - g_prev_ops) / dt : 0;
    g_prev_ops = ops;
    g_prev_t = t;
    fprintf(stderr, "  [%5.1fs] %s: %llu ops, %.0f/s now, p99 %.0f us, errors %llu\n", t - g_t_go,
            scenario_names[o->sc], (unsigned long long)ops, rate,
            (double)hist_quantile(&h, 0.99) / 1e3, (unsigned long long)errors);
}

static int parse_scenario(const char *s) {
    for (int i = 0; i < 5; i++)
        if (strcmp(s, scenario_names[i]) == 0) return i;
    return -1;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

int main(int argc, char **argv) {
    bench_opts o;
    memset(&o, 0, sizeof o);
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    int sc = parse_scenario(argv[1]);
    if (sc < 0) {
        fprintf(stderr,
                "sio-bench: unknown scenario '%s' (connect, echo, broadcast, idle, churn)\n",
                argv[1]);
        return CLI_EXIT_USAGE;
    }
    o.sc = (scenario)sc;
    o.host = "127.0.0.1";
    o.port = 3000;
    o.nsp = "/chat";
    o.connections = (o.sc == SC_CONNECT || o.sc == SC_IDLE) ? 1000 : 100;
    o.concurrency = o.sc == SC_CHURN ? 50 : 100;
    o.window = o.sc == SC_BROADCAST ? 4 : 10;
    o.senders = 2;
    o.payload = 100;
    o.sources = 8;
    o.duration = o.sc == SC_IDLE ? 5 : 10;
    o.warmup = o.sc == SC_IDLE || o.sc == SC_CONNECT ? 0 : 1;
    o.timeout = 60;
    o.bcast_timeout = 5;
    o.progress = 1;
    o.label = "";
    int procs = 0;
    static const struct option lo[] = {
        {"port", required_argument, 0, 'p'},
        {"host", required_argument, 0, 'H'},
        {"path", required_argument, 0, 'P'},
        {"nsp", required_argument, 0, 'N'},
        {"raw", no_argument, 0, 'r'},
        {"polling", no_argument, 0, 'L'},
        {"connections", required_argument, 0, 'n'},
        {"concurrency", required_argument, 0, 'c'},
        {"window", required_argument, 0, 'w'},
        {"senders", required_argument, 0, 's'},
        {"payload", required_argument, 0, 'B'},
        {"duration", required_argument, 0, 'd'},
        {"warmup", required_argument, 0, 'W'},
        {"rate", required_argument, 0, 'R'},
        {"sources", required_argument, 0, 'S'},
        {"procs", required_argument, 0, 'j'},
        {"server-pid", required_argument, 0, 'i'},
        {"server-cpu", required_argument, 0, 'C'},
        {"label", required_argument, 0, 'l'},
        {"timeout", required_argument, 0, 'T'},
        {"bcast-timeout", required_argument, 0, 'b'},
        {"progress", required_argument, 0, 'g'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "p:n:c:w:s:d:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            o.port = (int)cli_int(PROG, "--port", optarg, 1, 65535);
            break;
        case 'H':
            o.host = optarg;
            break;
        case 'P':
            o.path = optarg;
            break;
        case 'N':
            o.nsp = optarg;
            break;
        case 'r':
            o.raw = 1;
            break;
        case 'L':
            o.polling = 1;
            break;
        case 'n':
            o.connections = (uint32_t)cli_int(PROG, "--connections", optarg, 1, COUNT_MAX);
            break;
        case 'c':
            o.concurrency = (uint32_t)cli_int(PROG, "--concurrency", optarg, 1, COUNT_MAX);
            break;
        case 'w':
            o.window = (uint32_t)cli_int(PROG, "--window", optarg, 1, COUNT_MAX);
            break;
        case 's':
            o.senders = (uint32_t)cli_int(PROG, "--senders", optarg, 1, COUNT_MAX);
            break;
        case 'B':
            o.payload = (uint32_t)cli_int(PROG, "--payload", optarg, 0, 60000);
            break;
        case 'd':
            o.duration = cli_double(PROG, "--duration", optarg, 0, 3600);
            break;
        case 'W':
            o.warmup = cli_double(PROG, "--warmup", optarg, 0, 3600);
            break;
        case 'R':
            o.rate = cli_double(PROG, "--rate", optarg, 0, 1e9);
            break;
        case 'S':
            o.sources = (uint32_t)cli_int(PROG, "--sources", optarg, 0, 250);
            break;
        case 'j':
            procs = (int)cli_int(PROG, "--procs", optarg, 0, 64);
            break;
        case 'i':
            o.server_pid = (int)cli_int(PROG, "--server-pid", optarg, 1, 2147483647);
            break;
        case 'C':
            o.server_cpu = (int)cli_int(PROG, "--server-cpu", optarg, 0, CPU_SETSIZE - 1);
            break;
        case 'l':
            o.label = optarg;
            break;
        case 'T':
            o.timeout = cli_double(PROG, "--timeout", optarg, 0.001, 86400);
            break;
        case 'b':
            o.bcast_timeout = cli_double(PROG, "--bcast-timeout", optarg, 0.001, 3600);
            break;
        case 'g':
            o.progress = cli_double(PROG, "--progress", optarg, 0, 3600);
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!o.path) o.path = o.raw ? "/ws" : "/socket.io/";
    if (o.quiet) o.progress = 0;
    if (o.polling && o.raw) {
        fprintf(stderr, "sio-bench: --polling is a Socket.IO transport, not for --raw\n");
        return CLI_EXIT_USAGE;
    }
    if (o.polling && o.sc != SC_CONNECT && o.sc != SC_CHURN) {
        fprintf(stderr, "sio-bench: --polling is for the connect and churn scenarios\n");
        return CLI_EXIT_USAGE;
    }
    if (o.sc == SC_BROADCAST && (o.senders == 0 || o.senders > o.connections)) {
        fprintf(stderr, "sio-bench: broadcast needs 1 <= senders <= connections\n");
        return CLI_EXIT_USAGE;
    }
    /* Open files: one per connection, plus the loop's own and a margin. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t per_proc = rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 1;
    uint32_t slots = o.sc == SC_CHURN ? o.concurrency : o.connections;
    uint32_t need = (uint32_t)((slots + per_proc - 1) / per_proc);
    if (need < 1) need = 1;
    if (procs <= 0) procs = (int)need;
    if ((uint32_t)procs < need) {
        fprintf(stderr,
                "sio-bench: %u connections need %u processes under the open-file limit %llu\n",
                slots, need, (unsigned long long)rl.rlim_cur);
        return CLI_EXIT_USAGE;
    }
    if (procs > 64) procs = 64;
    if (o.sc == SC_BROADCAST && procs != 1) {
        fprintf(stderr, "sio-bench: broadcast runs in one process (at most %llu receivers)\n",
                (unsigned long long)per_proc);
        return CLI_EXIT_USAGE;
    }
    o.procs = (uint32_t)procs;
    cpu_set_t cs;
    int tool_cpus = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : 1;
    if (tool_cpus > procs) tool_cpus = procs; /* each worker uses one core at most */

    signal(SIGPIPE, SIG_IGN);
    server_sample s_before, s_go, s_end;
    sample_server(&o, &s_before);
    if (!o.quiet)
        fprintf(stderr, "sio-bench %s: %s%s on %s:%d%s, %u process%s\n", scenario_names[o.sc],
                o.raw ? "raw WebSocket" : "Socket.IO", o.polling ? " (polling)" : "", o.host,
                o.port, o.path, o.procs, o.procs > 1 ? "es" : "");

    child ch[64];
    memset(ch, 0, sizeof ch);
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < procs; i++) {
        int up[2], down[2];
        if (pipe(up) || pipe(down)) {
            perror("pipe");
            return 1;
        }
        bench_opts wo = o;
        wo.worker = (uint32_t)i;
        wo.share = slots / (uint32_t)procs + ((uint32_t)i < slots % (uint32_t)procs);
        wo.rate_share_num = slots;
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            close(up[0]);
            close(down[1]);
            for (int k = 0; k < i; k++) {
                close(ch[k].in);
                close(ch[k].out);
            }
            worker_main(&wo, down[0], up[1]);
        }
        close(up[1]);
        close(down[0]);
        ch[i].pid = pid;
        ch[i].in = up[0];
        ch[i].out = down[1];
    }

    int ok = 1;
    double t0 = now_s();
    double setup_deadline = t0 + o.timeout * 2 + o.warmup + 30;
    /* setup */
    for (;;) {
        int all = 1;
        for (int i = 0; i < procs; i++) all &= ch[i].ready | ch[i].eof;
        if (all) break;
        if (pump(ch, procs, setup_deadline, print_progress, &o) < 0) {
            ok = 0;
            break;
        }
    }
    if (o.sc == SC_CHURN) sleep_s(1.0); /* let the server finish closing the warm-up's sessions */
    sample_server(&o, &s_go);
    if (o.sc == SC_CHURN && o.warmup > 0) s_before = s_go;
    g_t_go = g_prev_t = now_s();
    tell(ch, procs, 'G');
    double end_deadline = now_s() + (o.sc == SC_CONNECT ? o.timeout : o.duration) + 60;
    if (ok)
        for (;;) {
            int all = 1;
            for (int i = 0; i < procs; i++) all &= ch[i].done | ch[i].eof;
            if (all) break;
            if (pump(ch, procs, end_deadline, print_progress, &o) < 0) {
                ok = 0;
                break;
            }
        }
    if (o.sc == SC_CHURN) sleep_s(1.0); /* the server sees the last disconnections */
    sample_server(&o, &s_end);
    tell(ch, procs, 'Q');
    /* workers exit once their connections are closed */
    double quit_deadline = now_s() + 20;
    int alive = procs;
    while (alive && now_s() < quit_deadline) {
        alive = 0;
        for (int i = 0; i < procs; i++) {
            if (!ch[i].pid) continue;
            int st;
            pid_t r = waitpid(ch[i].pid, &st, WNOHANG);
            if (r == ch[i].pid) {
                ch[i].pid = 0;
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = 0;
            } else {
                alive++;
            }
        }
        if (alive) sleep_s(0.02);
    }
    for (int i = 0; i < procs; i++)
        if (ch[i].pid) {
            kill(ch[i].pid, SIGKILL);
            waitpid(ch[i].pid, NULL, 0);
            ok = 0;
        }

    /* ---- figures ---- */
    bstats tot;
    memset(&tot, 0, sizeof tot);
    uint64_t connected = 0, failed = 0, elapsed = 0, open_at_end = 0;
    const char *first_error = "";
    for (int i = 0; i < procs; i++) {
        bstats *s = &ch[i].final;
        tot.ops += s->ops;
        tot.sent += s->sent;
        tot.errors += s->errors;
        tot.lost += s->lost;
        tot.pings += s->pings;
        tot.backlog += s->backlog;
        tot.bytes_in += s->bytes_in;
        tot.bytes_out += s->bytes_out;
        tot.cpu_ns += s->cpu_ns;
        if (s->elapsed_ns > elapsed) elapsed = s->elapsed_ns;
        hist_merge(&tot.lat, &s->lat);
        connected += ch[i].ready_n;
        failed += ch[i].failed_n;
        open_at_end += ch[i].open_n;
        if (!first_error[0] && ch[i].error[0]) first_error = ch[i].error;
    }
    double secs = elapsed ? (double)elapsed / 1e9 : 1e-9;
    double ops_s = (double)tot.ops / secs;
    double tool_cpu = (double)tot.cpu_ns / 1e9 / secs / tool_cpus;
    double tps = (double)ticks_per_second();
    double busy = s_end.total > s_go.total
                      ? (double)(s_end.busy - s_go.busy) / (double)(s_end.total - s_go.total)
                      : 0;
    double busy_s = (double)(s_end.busy - s_go.busy) / tps;
    double us_per_op = tot.ops ? busy_s * 1e6 / (double)tot.ops : 0;
    double proc_cpu =
        o.server_pid ? (double)(s_end.proc - s_go.proc) / tps / (s_end.t - s_go.t) : 0;
    double proc_us_per_op = o.server_pid && tot.ops
                                ? (double)(s_end.proc - s_go.proc) / tps * 1e6 / (double)tot.ops
                                : 0;
    double tool_us_per_op = tot.ops ? (double)tot.cpu_ns / 1e3 / (double)tot.ops : 0;
    /* what the tool could sustain on one core at its measured cost per operation */
    double tool_capacity = tool_us_per_op > 0 ? 1e6 / tool_us_per_op : 0;
    uint64_t rss_before = o.sc == SC_IDLE    ? s_before.rss
                          : o.sc == SC_CHURN ? s_before.rss
                                             : s_go.rss;
    uint64_t rss_after = s_end.rss;
    uint64_t held = o.sc == SC_IDLE ? open_at_end : 0;
    double bpc = held && rss_after ? ((double)rss_after - (double)rss_before) / (double)held : 0;
    int saturated = tool_cpu >= 0.9;
    double q[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
    double lat[5];
    for (int i = 0; i < 5; i++) lat[i] = (double)hist_quantile(&tot.lat, q[i]) / 1e3;
    double mean = tot.lat.count ? (double)tot.lat.sum / (double)tot.lat.count / 1e3 : 0;
    lat[4] = (double)tot.lat.max / 1e3;
    if (o.sc == SC_CONNECT && connected == 0) ok = 0;
    if ((o.sc == SC_ECHO || o.sc == SC_BROADCAST || o.sc == SC_CHURN) && tot.ops == 0) ok = 0;
    if (o.sc == SC_IDLE && held == 0) ok = 0;

    if (!o.quiet) {
        const char *unit = o.sc == SC_CONNECT     ? "connections"
                           : o.sc == SC_ECHO      ? "round trips"
                           : o.sc == SC_BROADCAST ? "deliveries"
                           : o.sc == SC_CHURN     ? "cycles"
                                                  : "pings";
        fprintf(stderr, "--- %s %s%s ---\n", scenario_names[o.sc], o.label[0] ? o.label : "",
                o.raw ? " (raw WebSocket)" : "");
        if (o.sc == SC_IDLE) {
            fprintf(
                stderr,
                "held %llu connections for %.1f s (%llu failed); server RSS %.1f MiB -> %.1f MiB: "
                "%.0f bytes per connection\n",
                (unsigned long long)held, secs, (unsigned long long)failed, rss_before / 1048576.0,
                rss_after / 1048576.0, bpc);
        } else {
            fprintf(stderr, "%llu %s in %.2f s: %.0f/s", (unsigned long long)tot.ops, unit, secs,
                    ops_s);
            if (o.sc == SC_BROADCAST)
                fprintf(stderr, " (%llu broadcasts to %llu receivers, %llu lost)",
                        (unsigned long long)tot.sent, (unsigned long long)connected,
                        (unsigned long long)tot.lost);
            if (o.sc == SC_ECHO && o.rate > 0)
                fprintf(stderr, " (target %.0f/s, %llu behind)", o.rate,
                        (unsigned long long)tot.backlog);
            fprintf(stderr,
                    "\nlatency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  mean %.0f\n",
                    lat[0], lat[1], lat[2], lat[3], lat[4], mean);
        }
        if (o.sc == SC_CHURN && o.server_pid)
            fprintf(stderr, "server RSS %.1f MiB before, %.1f MiB after (%+.1f MiB)\n",
                    rss_before / 1048576.0, rss_after / 1048576.0,
                    ((double)rss_after - (double)rss_before) / 1048576.0);
        fprintf(stderr, "server core %d busy %.0f%% (%.2f us per op)", o.server_cpu, busy * 100,
                us_per_op);
        if (o.server_pid)
            fprintf(stderr, ", server process CPU %.0f%% (%.2f us per op)", proc_cpu * 100,
                    proc_us_per_op);
        fprintf(stderr,
                "\ntool CPU %.0f%% of %d core%s (%.3f us per op: %.0f ops/s on one core); errors "
                "%llu\n",
                tool_cpu * 100, tool_cpus, tool_cpus > 1 ? "s" : "", tool_us_per_op, tool_capacity,
                (unsigned long long)tot.errors);
        if (first_error[0]) fprintf(stderr, "first error: %s\n", first_error);
        if (saturated)
            fprintf(stderr,
                    "WARNING: the tool's own CPU is saturated (%.0f%%): these figures may be the "
                    "tool's limit, not the server's\n",
                    tool_cpu * 100);
    }
    printf("{\"tool\":\"sio-bench\",\"scenario\":\"%s\",\"server\":", scenario_names[o.sc]);
    json_str(stdout, o.label);
    printf(
        ",\"mode\":\"%s\",\"transport\":\"%s\",\"procs\":%u,\"connections\":%u,\"concurrency\":%u,"
        "\"window\":%u,\"senders\":%u,\"payload\":%u,\"rate_target\":%.0f,\"duration_s\":%.3f,"
        "\"connected\":%llu,\"failed\":%llu,\"ops\":%llu,\"ops_per_s\":%.1f,\"sent\":%llu,"
        "\"errors\":%llu,\"lost\":%llu,\"backlog\":%llu,\"pings\":%llu,"
        "\"lat_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%."
        "1f},"
        "\"tool_cpu\":%.3f,\"tool_saturated\":%s,\"server_core_busy\":%.3f,\"server_cpu_us_per_"
        "op\":%.4f,"
        "\"server_proc_cpu\":%.3f,\"server_proc_us_per_op\":%.4f,\"tool_cpu_us_per_op\":%.4f,"
        "\"tool_capacity_ops_per_s\":%.0f,\"server_rss_before\":%llu,\"server_rss_after\":%llu,"
        "\"held\":%llu,\"bytes_per_conn\":%.1f,\"bytes_in\":%llu,\"bytes_out\":%llu,\"ok\":%s,"
        "\"error\":",
        o.raw ? "raw" : "socketio", o.polling ? "polling" : "websocket", o.procs, o.connections,
        o.concurrency, o.window, o.senders, o.payload, o.rate, secs, (unsigned long long)connected,
        (unsigned long long)failed, (unsigned long long)tot.ops, ops_s,
        (unsigned long long)tot.sent, (unsigned long long)tot.errors, (unsigned long long)tot.lost,
        (unsigned long long)tot.backlog, (unsigned long long)tot.pings, lat[0], lat[1], lat[2],
        lat[3], lat[4], mean, tool_cpu, saturated ? "true" : "false", busy, us_per_op, proc_cpu,
        proc_us_per_op, tool_us_per_op, tool_capacity, (unsigned long long)rss_before,
        (unsigned long long)rss_after, (unsigned long long)held, bpc,
        (unsigned long long)tot.bytes_in, (unsigned long long)tot.bytes_out, ok ? "true" : "false");
    json_str(stdout, first_error);
    printf("}\n");
    fflush(stdout);
    return ok ? 0 : 1;
}
