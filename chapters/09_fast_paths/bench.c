/*
 * Chapter 9 - The fast paths: the benchmark client.
 *
 * Shows: a load client that measures. It is chapter 7's client (a
 * completion port, sockets connected with ConnectEx, every echoed byte
 * verified) turned into a benchmark for any echo server (bytes in, the same
 * bytes out), so that readers on Windows can measure the servers of this
 * book, or their own, with the same tool:
 *   - round trips: each connection has exactly one message in flight; the
 *     latency of each one, from posting its send to the last byte of its
 *     echo, goes into a histogram of bounded size (p50, p99, max);
 *   - streams (--stream): each connection keeps sending while fewer than
 *     --in-flight bytes wait for their echo, and receives all the time;
 *   - a warm-up, then a measured window: only what completes inside the
 *     window is counted;
 *   - the end: no new message, the ones in flight finish, each connection
 *     shuts down its sending side and waits for the server's end of stream.
 *
 * Usage: ch09_bench [options] <host> <port>
 *   --connections N   connections (default 1; 1 to 10000)
 *   --size N          bytes per message (default 64, or 64K with --stream;
 *                     1 to 16M; K and M allowed)
 *   --stream          stream mode instead of round trips
 *   --in-flight N     stream mode: bytes sent but not yet echoed per
 *                     connection (default 256K; K and M allowed)
 *   --duration MS     measured time (default 5000)
 *   --warmup MS       time before measuring starts (default 1000; 0 allowed)
 *   --threads N       worker threads (default: one per processor)
 *   --timeout MS      fail a connection that makes no progress for MS ms
 *                     (default 10000)
 *   --format F        text (default), csv or json
 * Every connection goes to the first address the host resolves to.
 *
 * Output. Once every connection is up: "connected N connections" (on
 * stdout in text mode, on stderr with csv or json, so that stdout stays
 * machine-readable; the line that starts the run goes the same way). Then
 * the result: in text, lines for people; with csv, a header line and one
 * data line; with json, one object on one line. The columns, and the keys:
 *   mode,connections,size,in_flight,seconds,round_trips,round_trips_per_s,
 *   p50_us,p99_us,max_us,mb_per_s,errors
 * mode is round_trip or stream; a column that does not apply to the mode
 * (in_flight for round trips; round trips and latency for streams, or
 * latency when no round trip was measured) is empty in csv and null in
 * json. MB/s means 10^6 bytes of verified echo per second of the window.
 * Latencies are in microseconds, from log-linear buckets (at most 0.8%
 * off: see the histogram below); max is exact.
 * Exit code 0 only with zero errors; 1 on any error (a wrong byte, a
 * reset, an early end of stream, a failed connect, a connection without
 * progress for --timeout); 2 on a bad command line.
 */
#include "ovs.h"

#include <mswsock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch09_bench [--connections N] [--size N] [--stream] [--in-flight N] "
    "[--duration MS] [--warmup MS] [--threads N] [--timeout MS] [--format text|csv|json] "
    "<host> <port>";

#define MAX_THREADS 64
#define MAX_REPORTS 10 /* errors reported one by one; the rest are counted */
#define STOP_KEY ((ULONG_PTR)0)
#define RECEIVE_BUFFER (64u * 1024u) /* the most one receive takes */
#define STREAM_SIZE (64u * 1024u)    /* --size with --stream when none is given */
#define CHECK_MS 100u                /* how often main looks for stuck connections */

enum op_kind { OP_CONNECT, OP_RECEIVE, OP_SEND };
struct operation {
    OVERLAPPED overlapped; /* recovered with CONTAINING_RECORD */
    enum op_kind kind;
    /* WSASend's page says the buffer array "must remain valid for the
       duration of the send operation", and also that the provider captures
       it before the call returns (pitfall 4: the pages disagree). Kept
       here, it is valid either way. */
    WSABUF buffer;
};

/* A connection's life: connecting, then running (messages go out), then
   closing (our sending side is shut down; the echo of what is in flight and
   the server's end of stream are still to come), then ended. */
enum state { CONNECTING, RUNNING, CLOSING, ENDED };

/* The run's phases, set by main and read by the workers: before the window
   is known, during warm-up and the measured window, and the end (no new
   message). */
enum phase { PHASE_STARTING, PHASE_TIMED, PHASE_STOPPING };

enum format { FORMAT_TEXT, FORMAT_CSV, FORMAT_JSON };

// [latency]
/* Latencies in performance-counter ticks, counted in log-linear buckets:
   values below 128 each have a bucket of their own; above, every doubling
   (128-255, 256-511, ...) is cut into 64 buckets of equal width. A bucket
   is then at most 1/64 of its lower bound wide, and its middle is at most
   1/128 (0.8%) from any value in it. Up to 2^42 ticks (over an hour at
   1 GHz, the run is bounded far below), in 2,368 buckets: 19 KB per worker
   thread, whatever the number of samples. The largest value is kept
   exactly. */
#define HIST_SUB_BITS 7u
#define HIST_EXACT (1u << HIST_SUB_BITS) /* 128 */
#define HIST_HALF (HIST_EXACT / 2u)      /* 64 buckets per doubling */
#define HIST_TOP_BITS 42u
#define HIST_BUCKETS (HIST_EXACT + (HIST_TOP_BITS - HIST_SUB_BITS) * HIST_HALF)

struct histogram {
    unsigned long long counts[HIST_BUCKETS];
    unsigned long long total, max;
};

static unsigned histogram_index(unsigned long long value)
{
    unsigned top = HIST_SUB_BITS, shift;
    if (value < HIST_EXACT)
        return (unsigned)value;
    if (value >= (1ull << HIST_TOP_BITS))
        value = (1ull << HIST_TOP_BITS) - 1; /* the last bucket; max stays exact */
    while ((value >> (top + 1)) != 0)
        top++; /* 2^top <= value < 2^(top+1) */
    shift = top - (HIST_SUB_BITS - 1);
    /* value >> shift is from 64 to 127: the bucket within the doubling. */
    return HIST_EXACT + (top - HIST_SUB_BITS) * HIST_HALF + (unsigned)(value >> shift) - HIST_HALF;
}

/* The value a bucket stands for: the middle of the values it holds. */
static double histogram_value(unsigned index)
{
    unsigned top, shift;
    unsigned long long low, width;
    if (index < HIST_EXACT)
        return (double)index;
    top = HIST_SUB_BITS + (index - HIST_EXACT) / HIST_HALF;
    shift = top - (HIST_SUB_BITS - 1);
    low = (unsigned long long)(HIST_HALF + (index - HIST_EXACT) % HIST_HALF) << shift;
    width = 1ull << shift;
    return (double)low + (double)(width - 1) / 2.0;
}

static void histogram_record(struct histogram *h, unsigned long long value)
{
    h->counts[histogram_index(value)]++;
    h->total++;
    if (value > h->max)
        h->max = value;
}

static void histogram_add(struct histogram *into, const struct histogram *from)
{
    unsigned i;
    for (i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    if (from->max > into->max)
        into->max = from->max;
}

/* The value below which `per_mille` thousandths of the samples lie: the
   bucket of the sample at that rank (never above the exact maximum). */
static double histogram_percentile(const struct histogram *h, unsigned per_mille)
{
    unsigned long long rank = (h->total * per_mille + 999) / 1000, seen = 0;
    unsigned i;
    if (rank == 0)
        rank = 1;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            double value = histogram_value(i);
            return value < (double)h->max ? value : (double)h->max;
        }
    }
    return (double)h->max;
}
// [latency]

struct bench;

/* One worker thread and what it counted: each worker records into its own
   histogram and counters, so no lock is needed; main adds them up once
   the workers have stopped. */
struct worker {
    HANDLE thread;
    struct bench *bench;
    unsigned long long round_trips, bytes; /* in the measured window */
    struct histogram latency;
};

struct connection {
    struct operation connect, receive, send;
    CRITICAL_SECTION lock; /* its completions may run on two workers */
    struct bench *bench;
    SOCKET s;
    unsigned long index;
    enum state state;
    /* Offsets in this connection's stream: what went out (send packets
       handled), what was handed to WSASend (sent plus the send in flight),
       and what came back and was checked. */
    unsigned long long sent, send_end, verified;
    LONGLONG message_posted; /* round trips: when the message's send was posted */
    LONGLONG last_progress;  /* when its last packet came (or its connect was posted) */
    /* The packets of one connection can be handled in any order by two
       workers: the echo of a message can be checked before the packet of
       the send that carried it. The next message waits for both. */
    int send_in_flight, echo_done;
    DWORD receive_flags;  /* in and out for WSARecv: set to 0 before every call */
    DWORD connect_sent;   /* ConnectEx's byte count: lives as long as the call */
    char *buffer;         /* bench->buffer_size bytes */
};

struct bench {
    HANDLE port, all_settled, all_ended;
    struct connection *connections;
    unsigned long count;
    unsigned long long size, in_flight, buffer_size;
    int stream;
    const char *pattern;
    LPFN_CONNECTEX connect_ex;
    struct sockaddr_storage server; /* where every connection goes */
    int server_length;
    unsigned long long timeout_ms;
    LONGLONG timeout_ticks;
    /* The measured window, in ticks: written by main before `phase`
       becomes PHASE_TIMED, read by the workers only after they saw it. */
    LONGLONG window_start, window_end;
    volatile LONG phase;
    volatile LONG outstanding; /* operations in flight, all connections */
    /* settled: connections connected or ended before connecting. */
    volatile LONG settled, connected, ended, errors, reports;
};

/* The performance counter, for latencies and the window. "On systems that
   run Windows XP or later, the function will always succeed when given
   valid parameters" (QueryPerformanceCounter), so nothing is checked. */
static LONGLONG now_ticks(void)
{
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    return now.QuadPart;
}

/* The phase, read with a full barrier: a worker that sees PHASE_TIMED also
   sees the window main wrote before it. */
static LONG read_phase(struct bench *b)
{
    return InterlockedCompareExchange(&b->phase, 0, 0);
}

static int may_report(struct bench *b)
{
    LONG n = InterlockedIncrement(&b->reports);
    if (n == MAX_REPORTS + 1)
        fprintf(stderr, "(more errors: counted, not shown)\n");
    return n <= MAX_REPORTS;
}

/* A connection connected, or ended before it could: once every one has,
   main stops waiting for the connects. */
static void settle(struct bench *b)
{
    if ((unsigned long)InterlockedIncrement(&b->settled) == b->count && !SetEvent(b->all_settled))
        ovs_report_error("SetEvent", (int)GetLastError());
}

/* Under c->lock: this connection is over, well or badly. Closing aborts
   whatever is still in flight on its socket; for each such operation "any
   event, completion routine, or completion port action specified ... is
   performed" (closesocket): the packets still come, and the workers drop
   them, whatever their error code (995 on Windows; under Wine 8 a receive
   aborted this way ends with 676, measured). */
static void end_connection(struct connection *c, int failed)
{
    struct bench *b = c->bench;
    enum state was = c->state;
    if (was == ENDED)
        return;
    c->state = ENDED;
    if (closesocket(c->s) == SOCKET_ERROR) {
        int code = WSAGetLastError();
        if (may_report(b)) {
            char what[64];
            snprintf(what, sizeof what, "connection %lu: closesocket", c->index + 1);
            ovs_report_error(what, code);
        }
        failed = 1;
    }
    c->s = INVALID_SOCKET;
    if (failed)
        InterlockedIncrement(&b->errors);
    if (was == CONNECTING)
        settle(b);
    if ((unsigned long)InterlockedIncrement(&b->ended) == b->count && !SetEvent(b->all_ended))
        ovs_report_error("SetEvent", (int)GetLastError());
}

/* Under c->lock: ends the connection with the failure of `call`, in the
   words of every program here: "connection N: <call>() failed: <code>
   <text>". */
static void fail_call(struct connection *c, const char *call, int code)
{
    if (may_report(c->bench)) {
        char what[96];
        snprintf(what, sizeof what, "connection %lu: %s", c->index + 1, call);
        ovs_report_error(what, code);
    }
    end_connection(c, 1);
}

/* Under c->lock: ends the connection for a failure that is no call's (a
   wrong byte, an early end of stream, no progress). */
static void fail_with(struct connection *c, const char *what)
{
    if (may_report(c->bench)) {
        fprintf(stderr, "connection %lu: %s\n", c->index + 1, what);
        fflush(stderr);
    }
    end_connection(c, 1);
}

/* Under c->lock: one receive always posted while the connection lives, so
   echoes are read while we send, and the end of stream is seen. */
static void post_receive(struct connection *c)
{
    struct bench *b = c->bench;
    c->receive.buffer.buf = c->buffer;
    c->receive.buffer.len = (ULONG)b->buffer_size;
    c->receive_flags = 0;
    memset(&c->receive.overlapped, 0, sizeof c->receive.overlapped);
    /* Counted first: the packet can be taken by another worker before
       WSARecv returns (that worker then waits for c->lock). */
    InterlockedIncrement(&b->outstanding);
    if (WSARecv(c->s, &c->receive.buffer, 1, NULL, &c->receive_flags, &c->receive.overlapped,
                NULL) == SOCKET_ERROR) {
        int code = WSAGetLastError();
        if (code != WSA_IO_PENDING) {
            InterlockedDecrement(&b->outstanding); /* no packet will come */
            fail_call(c, "WSARecv", code);
        }
    }
    /* A receive that completed at once still queues its packet (we do not
       set FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, which stops the I/O manager
       from queuing it "when it would ordinarily do so"): the worker that
       takes the packet handles it, never this code as well. */
}

/* Under c->lock: sends the rest of what was handed out, from the shared
   pattern at this connection's offset. */
static void post_send(struct connection *c)
{
    struct bench *b = c->bench;
    c->send.buffer.buf = (char *)ovs_echo_from(b->pattern, c->index, c->sent);
    c->send.buffer.len = (ULONG)(c->send_end - c->sent);
    memset(&c->send.overlapped, 0, sizeof c->send.overlapped);
    InterlockedIncrement(&b->outstanding);
    c->send_in_flight = 1;
    if (WSASend(c->s, &c->send.buffer, 1, NULL, 0, &c->send.overlapped, NULL) == SOCKET_ERROR) {
        int code = WSAGetLastError();
        if (code != WSA_IO_PENDING) {
            InterlockedDecrement(&b->outstanding);
            c->send_in_flight = 0;
            fail_call(c, "WSASend", code);
        }
    }
}

// [drain]
/* Under c->lock, with no send in flight: no more data from us. The server
   echoes what it still has, sees our end of stream and ends its own; the
   receive that is always posted then completes with 0 bytes. */
static void begin_close(struct connection *c)
{
    if (shutdown(c->s, SD_SEND) == SOCKET_ERROR) {
        fail_call(c, "shutdown", WSAGetLastError());
        return;
    }
    c->state = CLOSING;
}

/* Under c->lock: a receive of 0 bytes. Right only after our own shutdown,
   once every byte sent has come back. */
static void end_of_stream(struct connection *c)
{
    char what[160];
    if (c->state == CLOSING && c->verified == c->send_end) {
        end_connection(c, 0);
        return;
    }
    snprintf(what, sizeof what,
             "the server ended the stream early, after echoing %llu of %llu bytes", c->verified,
             c->send_end);
    fail_with(c, what);
}
// [drain]

// [round_trip]
/* Under c->lock: the next message of a round-trip connection, or the end
   once main has stopped the run. The clock starts just before the send is
   posted. */
static void start_message(struct connection *c)
{
    struct bench *b = c->bench;
    if (read_phase(b) == PHASE_STOPPING) {
        begin_close(c);
        return;
    }
    c->echo_done = 0;
    c->send_end = c->sent + b->size;
    c->message_posted = now_ticks();
    post_send(c);
}

/* Under c->lock: the whole echo of the current message has been verified
   (`now` is when its last byte's packet was taken). It counts when it
   completed inside the window. The next message starts once the send's
   packet has been handled too. */
static void echo_completed(struct connection *c, LONGLONG now, int counted, struct worker *w)
{
    if (counted) {
        w->round_trips++;
        histogram_record(&w->latency, (unsigned long long)(now - c->message_posted));
    }
    c->echo_done = 1;
    if (!c->send_in_flight)
        start_message(c);
}
// [round_trip]

// [stream]
/* Under c->lock: keeps a stream connection sending, one message of --size
   bytes at a time, while fewer than --in-flight bytes wait for their echo.
   Called whenever a send is done or an echo came (which may open the
   window again). */
static void pump(struct connection *c)
{
    struct bench *b = c->bench;
    if (c->state != RUNNING || c->send_in_flight)
        return;
    if (read_phase(b) == PHASE_STOPPING) {
        begin_close(c); /* the echoes still due come before the end of stream */
        return;
    }
    if (c->send_end - c->verified >= b->in_flight)
        return; /* the echo must catch up first */
    c->send_end = c->sent + b->size;
    post_send(c);
}
// [stream]

// [pattern]
/* Under c->lock: checks `bytes` echoed bytes against what was sent at
   their offsets in this connection's stream. Byte k of connection i is
   ovs_echo_byte(i, k) (common/ovs_load.c): 65,521 pseudo-random bytes,
   repeated, each connection starting at a different place. So an echo that
   loses, repeats or reorders a stretch, or mixes up two connections, shows
   at once (unless it is off by a whole multiple of 65,521 bytes). The
   expected bytes are read from one shared copy of the pattern, long
   enough for any receive at any offset. */
static int verify(struct connection *c, DWORD bytes)
{
    struct bench *b = c->bench;
    const char *expected;
    char what[160];
    DWORD i;
    if (bytes > c->send_end - c->verified) {
        snprintf(what, sizeof what, "the server echoed %llu bytes more than it was sent",
                 c->verified + bytes - c->send_end);
        fail_with(c, what);
        return 0;
    }
    expected = ovs_echo_from(b->pattern, c->index, c->verified);
    if (memcmp(c->buffer, expected, bytes) != 0) {
        for (i = 0; c->buffer[i] == expected[i]; i++)
            ;
        snprintf(what, sizeof what, "echoed byte %llu is 0x%02x, but 0x%02x was sent there",
                 c->verified + i, (unsigned)(unsigned char)c->buffer[i],
                 (unsigned)(unsigned char)expected[i]);
        fail_with(c, what);
        return 0;
    }
    c->verified += bytes;
    return 1;
}
// [pattern]

// [window]
/* Whether something that completed at `now` counts: only inside the
   measured window, which opens after the warm-up. */
static int in_window(struct bench *b, LONGLONG now)
{
    /* Also once main has moved on to stopping: what completed before the
       window closed counts, even if its packet is handled a little later.
       (Without a window, start and end are both 0: nothing counts.) */
    return read_phase(b) != PHASE_STARTING && now >= b->window_start && now < b->window_end;
}
// [window]

/* Under c->lock: a receive packet. */
static void receive_completed(struct connection *c, DWORD bytes, struct worker *w)
{
    struct bench *b = c->bench;
    LONGLONG now = now_ticks();
    int counted;
    if (bytes == 0) {
        end_of_stream(c);
        return;
    }
    if (!verify(c, bytes))
        return;
    counted = in_window(b, now);
    if (counted)
        w->bytes += bytes;
    if (!b->stream && c->state == RUNNING && c->verified == c->send_end)
        echo_completed(c, now, counted, w);
    if (c->state == ENDED)
        return;
    post_receive(c); /* more echo, or the end of stream */
    if (b->stream && c->state == RUNNING)
        pump(c); /* the echo made room */
}

/* Under c->lock: a send packet. */
static void send_completed(struct connection *c, DWORD bytes)
{
    if (bytes == 0 || bytes > c->send_end - c->sent) {
        fail_with(c, "WSASend completed with an impossible byte count");
        return;
    }
    c->sent += bytes;
    c->send_in_flight = 0;
    if (c->sent < c->send_end) {
        post_send(c); /* defensive: an overlapped send takes it all */
        return;
    }
    if (c->state != RUNNING)
        return;
    if (c->bench->stream)
        pump(c);
    else if (c->echo_done)
        start_message(c); /* the echo was handled first */
}

/* Under c->lock: connects the bound socket with ConnectEx. */
static void post_connect(struct connection *c)
{
    struct bench *b = c->bench;
    memset(&c->connect.overlapped, 0, sizeof c->connect.overlapped);
    c->last_progress = now_ticks(); /* a connect that never completes times out too */
    InterlockedIncrement(&b->outstanding);
    if (!b->connect_ex(c->s, (const struct sockaddr *)&b->server, b->server_length, NULL, 0,
                       &c->connect_sent, &c->connect.overlapped)) {
        int code = WSAGetLastError();
        if (code != ERROR_IO_PENDING) {
            InterlockedDecrement(&b->outstanding); /* no packet will come */
            fail_call(c, "ConnectEx", code);
        }
    }
}

/* Under c->lock: the connect's packet. ConnectEx leaves the socket "in the
   default state for a connected socket" (ConnectEx), and the option "should
   be set if the getpeername, getsockname, getsockopt, setsockopt, or
   shutdown functions are to be used on the connected socket" (SOL_SOCKET
   socket options): we shut down our sending side at the end. */
static void connect_completed(struct connection *c)
{
    struct bench *b = c->bench;
    if (setsockopt(c->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) == SOCKET_ERROR) {
        fail_call(c, "setsockopt(SO_UPDATE_CONNECT_CONTEXT)", WSAGetLastError());
        return;
    }
    c->state = RUNNING;
    InterlockedIncrement(&b->connected);
    settle(b);
    post_receive(c);
    if (c->state == ENDED)
        return;
    if (b->stream)
        pump(c);
    else
        start_message(c);
}

// [worker]
static DWORD WINAPI worker_main(LPVOID arg)
{
    struct worker *w = (struct worker *)arg;
    struct bench *b = w->bench;
    for (;;) {
        DWORD bytes = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *overlapped = NULL;
        BOOL ok = GetQueuedCompletionStatus(b->port, &bytes, &key, &overlapped, INFINITE);
        DWORD error = ok ? 0 : GetLastError(); /* read before any other call */
        struct connection *c;
        struct operation *op;

        if (overlapped == NULL) {
            if (!ok)
                ovs_report_error("GetQueuedCompletionStatus", (int)error);
            return ok ? 0 : 1; /* our stop packet (key 0), or the port failed */
        }
        c = (struct connection *)key;
        op = CONTAINING_RECORD(overlapped, struct operation, overlapped);
        EnterCriticalSection(&c->lock);
        if (c->state == ENDED) {
            /* Aborted by our own close: nothing to do. */
        } else if (!ok) {
            /* `error` is the system's code; WSAGetOverlappedResult gives
               the Winsock one (10061 for a refused connect). */
            DWORD ignored_bytes, ignored_flags;
            int code = (int)error;
            if (!WSAGetOverlappedResult(c->s, overlapped, &ignored_bytes, FALSE, &ignored_flags))
                code = WSAGetLastError();
            fail_call(c,
                      op->kind == OP_CONNECT   ? "ConnectEx"
                      : op->kind == OP_RECEIVE ? "WSARecv"
                                               : "WSASend",
                      code);
        } else {
            c->last_progress = now_ticks();
            if (op->kind == OP_CONNECT)
                connect_completed(c);
            else if (op->kind == OP_RECEIVE)
                receive_completed(c, bytes, w);
            else
                send_completed(c, bytes);
        }
        LeaveCriticalSection(&c->lock);
        InterlockedDecrement(&b->outstanding); /* this packet's operation */
    }
}
// [worker]

/* Main, every CHECK_MS: a connection with no packet for --timeout has
   stalled (the server lost an echo, or stopped reading): it fails, and
   closing it aborts what it was waiting for. */
static void check_progress(struct bench *b)
{
    LONGLONG now = now_ticks();
    unsigned long i;
    for (i = 0; i < b->count; i++) {
        struct connection *c = &b->connections[i];
        EnterCriticalSection(&c->lock);
        if (c->state != ENDED && now - c->last_progress > b->timeout_ticks) {
            char what[160];
            snprintf(what, sizeof what, "no progress for %llu ms (%s)", b->timeout_ms,
                     c->state == CONNECTING ? "ConnectEx pending"
                     : c->state == CLOSING  ? "waiting for the end of stream"
                                            : "waiting for the echo");
            fail_with(c, what);
        }
        LeaveCriticalSection(&c->lock);
    }
}

/* Main: waits until `counter` reaches the number of connections (its event
   says when), or until the tick `deadline` (0: none), looking for stuck
   connections meanwhile. Returns 1 when the count was reached, 0 at the
   deadline, -1 when the wait itself failed (reported). */
static int wait_for(struct bench *b, HANDLE event, volatile LONG *counter, LONGLONG deadline,
                    LONGLONG frequency)
{
    for (;;) {
        DWORD ms = CHECK_MS, r;
        if ((unsigned long)InterlockedCompareExchange(counter, 0, 0) == b->count)
            return 1;
        if (deadline != 0) {
            LONGLONG left = deadline - now_ticks();
            LONGLONG ticks_per_ms = frequency / 1000 > 0 ? frequency / 1000 : 1;
            if (left <= 0)
                return 0;
            if (left / ticks_per_ms + 1 < (LONGLONG)ms)
                ms = (DWORD)(left / ticks_per_ms + 1);
        }
        r = WaitForSingleObject(event, ms);
        if (r == WAIT_FAILED) {
            ovs_report_error("WaitForSingleObject", (int)GetLastError());
            return -1;
        }
        check_progress(b);
    }
}

/* Resolves the server's address as every client here does (a bad port or
   an unknown host is a usage error), keeping the first address. */
static int resolve_server(struct bench *b, const char *host, const char *port_text)
{
    struct addrinfo *addresses = NULL;
    unsigned short port;
    int rc;
    if (ovs_parse_port(port_text, 0, &port) != 0)
        return ovs_usage_error(usage, "port must be a number from 1 to 65535");
    if (ovs_winsock_start() != 0)
        return OVS_EXIT_FAILURE;
    rc = ovs_resolve(host, port, 0, &addresses);
    if (rc != 0) {
        ovs_report_error("getaddrinfo", rc);
        ovs_winsock_stop();
        return ovs_resolve_failure_is_usage(rc) ? ovs_usage_error(usage, "unknown host")
                                                : OVS_EXIT_FAILURE;
    }
    memcpy(&b->server, addresses->ai_addr, addresses->ai_addrlen);
    b->server_length = (int)addresses->ai_addrlen;
    freeaddrinfo(addresses);
    return 0;
}

/* A socket for one connection, as in chapter 7: overlapped, bound to the
   wildcard address of the server's family (ConnectEx wants "an
   unconnected, previously bound socket"), and tied to the port with the
   connection as its key. */
static int make_socket(struct bench *b, struct connection *c)
{
    struct sockaddr_storage local;
    c->s = WSASocketW(b->server.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (c->s == INVALID_SOCKET) {
        ovs_report_wsa_error("WSASocketW");
        return -1;
    }
    memset(&local, 0, sizeof local); /* any address, port 0 */
    local.ss_family = b->server.ss_family;
    if (bind(c->s, (const struct sockaddr *)&local, b->server_length) == SOCKET_ERROR) {
        ovs_report_wsa_error("bind");
        return -1;
    }
    if (CreateIoCompletionPort((HANDLE)c->s, b->port, (ULONG_PTR)c, 0) == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        return -1;
    }
    return 0;
}

/* ConnectEx is a Microsoft extension: its address is asked of the provider
   behind a socket of the right kind. */
static int load_connect_ex(struct bench *b, SOCKET s)
{
    GUID id = WSAID_CONNECTEX;
    DWORD bytes = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &b->connect_ex,
                 sizeof b->connect_ex, &bytes, NULL, NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAIoctl(ConnectEx)");
        return -1;
    }
    return 0;
}

/* One stop packet per worker (key 0, no OVERLAPPED), then waits for them
   all. Returns 0 when every worker stopped and returned 0, -1 when one
   failed, -2 when they did not all stop (then they may still use memory). */
static int stop_workers(struct bench *b, struct worker *workers, DWORD n)
{
    HANDLE threads[MAX_THREADS];
    DWORD t, code;
    int rc = 0;
    for (t = 0; t < n; t++) {
        threads[t] = workers[t].thread;
        if (!PostQueuedCompletionStatus(b->port, 0, STOP_KEY, NULL)) {
            ovs_report_error("PostQueuedCompletionStatus", (int)GetLastError());
            rc = -1;
        }
    }
    if (n > 0 && WaitForMultipleObjects(n, threads, TRUE, 10000) != WAIT_OBJECT_0) {
        fprintf(stderr, "the worker threads did not stop\n");
        return -2;
    }
    for (t = 0; t < n; t++) {
        if (!GetExitCodeThread(threads[t], &code)) {
            ovs_report_error("GetExitCodeThread", (int)GetLastError());
            rc = -1;
        } else if (code != 0) {
            rc = -1; /* it reported why */
        }
        if (!CloseHandle(threads[t])) {
            ovs_report_error("CloseHandle", (int)GetLastError());
            rc = -1;
        }
    }
    return rc;
}

// [report]
/* What was measured, added up over the workers. */
struct result {
    unsigned long long round_trips, bytes;
    struct histogram latency;
    double seconds;
    long errors;
};

static void print_latency_value(enum format format, int known, double ticks, double frequency)
{
    if (!known) {
        if (format == FORMAT_JSON)
            fputs("null", stdout);
    } else {
        printf("%.0f", ticks * 1e6 / frequency);
    }
}

static void print_result(const struct bench *b, const struct result *r, enum format format,
                         double frequency)
{
    double rate = r->seconds > 0 ? (double)r->round_trips / r->seconds : 0.0;
    double mb = r->seconds > 0 ? (double)r->bytes / r->seconds / 1e6 : 0.0;
    int rt = !b->stream, latency = rt && r->latency.total > 0;
    double p50 = latency ? histogram_percentile(&r->latency, 500) : 0.0;
    double p99 = latency ? histogram_percentile(&r->latency, 990) : 0.0;
    double max = (double)r->latency.max;
    const char *none = format == FORMAT_JSON ? "null" : "";

    if (format == FORMAT_TEXT) {
        if (rt) {
            printf("round trips: %llu in %.3f s: %.0f round trips/s\n", r->round_trips, r->seconds,
                   rate);
            if (latency)
                printf("latency: p50 %.0f us, p99 %.0f us, max %.0f us\n", p50 * 1e6 / frequency,
                       p99 * 1e6 / frequency, max * 1e6 / frequency);
            else
                printf("latency: no round trip was measured\n");
        }
        printf("throughput: %.2f MB/s echoed, %s\n", mb,
               r->errors == 0 ? "every byte verified" : "only verified bytes counted");
        printf("errors: %ld\n", r->errors);
    } else {
        const char *q = format == FORMAT_JSON ? "\"" : "";
        if (format == FORMAT_CSV)
            printf("mode,connections,size,in_flight,seconds,round_trips,round_trips_per_s,p50_us,"
                   "p99_us,max_us,mb_per_s,errors\n");
        /* JSON: the keys before each value; CSV: only the commas. */
#define KEY(name) (format == FORMAT_JSON ? "\"" name "\":" : "")
        printf("%s%s%s%s%s,", format == FORMAT_JSON ? "{" : "", KEY("mode"), q,
               rt ? "round_trip" : "stream", q);
        printf("%s%lu,%s%llu,%s", KEY("connections"), b->count, KEY("size"), b->size,
               KEY("in_flight"));
        if (rt)
            printf("%s,", none);
        else
            printf("%llu,", b->in_flight);
        printf("%s%.3f,%s", KEY("seconds"), r->seconds, KEY("round_trips"));
        if (rt)
            printf("%llu,%s%.1f,", r->round_trips, KEY("round_trips_per_s"), rate);
        else
            printf("%s,%s%s,", none, KEY("round_trips_per_s"), none);
        printf("%s", KEY("p50_us"));
        print_latency_value(format, latency, p50, frequency);
        printf(",%s", KEY("p99_us"));
        print_latency_value(format, latency, p99, frequency);
        printf(",%s", KEY("max_us"));
        print_latency_value(format, latency, max, frequency);
        printf(",%s%.3f,%s%ld%s\n", KEY("mb_per_s"), mb, KEY("errors"), r->errors,
               format == FORMAT_JSON ? "}" : "");
#undef KEY
    }
    fflush(stdout);
}
// [report]

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, NULL};
    static unsigned long long connections = 1, size = 0, in_flight = 256 * 1024, duration = 5000,
                              warmup = 1000, threads = 0, timeout = 10000;
    static const char *format_text = "text";
    static int stream = 0; /* static: see chapter 1 */
    const struct ovs_option options[] = {
        {"--connections", OVS_OPTION_NUMBER, &connections, 1, 10000},
        {"--size", OVS_OPTION_NUMBER, &size, 1, 16u * 1024u * 1024u},
        {"--stream", OVS_OPTION_FLAG, &stream, 0, 0},
        {"--in-flight", OVS_OPTION_NUMBER, &in_flight, 1, OVS_MAX_MESSAGE},
        {"--duration", OVS_OPTION_NUMBER, &duration, 1, 3600000},
        {"--warmup", OVS_OPTION_NUMBER, &warmup, 0, 3600000},
        {"--threads", OVS_OPTION_NUMBER, &threads, 1, MAX_THREADS},
        {"--timeout", OVS_OPTION_NUMBER, &timeout, 1, 600000},
        {"--format", OVS_OPTION_TEXT, &format_text, 0, 0},
    };
    struct bench b;
    struct worker *workers = NULL;
    struct result result;
    enum format format;
    DWORD n_workers = 0, t;
    SYSTEM_INFO system;
    LARGE_INTEGER frequency;
    FILE *info;
    char *pattern = NULL, *buffers = NULL, text[OVS_ADDRESS_TEXT_MAX];
    unsigned long i;
    int rc, clean = 1, timed = 0;
    ULONGLONG deadline;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 2, 2);
    if (rc != 0)
        return rc;
    if (strcmp(format_text, "text") == 0)
        format = FORMAT_TEXT;
    else if (strcmp(format_text, "csv") == 0)
        format = FORMAT_CSV;
    else if (strcmp(format_text, "json") == 0)
        format = FORMAT_JSON;
    else
        return ovs_usage_error(usage, "--format must be text, csv or json");
    /* Lines for people go where they do not spoil a machine-readable stdout. */
    info = format == FORMAT_TEXT ? stdout : stderr;
    if (size == 0)
        size = stream ? STREAM_SIZE : 64;
    memset(&b, 0, sizeof b);
    b.count = (unsigned long)connections;
    b.size = size;
    b.in_flight = in_flight;
    b.stream = stream;
    /* A round trip's echo is never longer than its message. */
    b.buffer_size = !stream && size < RECEIVE_BUFFER ? size : RECEIVE_BUFFER;
    /* "On systems that run Windows XP or later, the function will always
       succeed when given valid parameters" (QueryPerformanceFrequency). */
    QueryPerformanceFrequency(&frequency);
    b.timeout_ms = timeout;
    b.timeout_ticks = (LONGLONG)(timeout * (unsigned long long)frequency.QuadPart / 1000);
    GetSystemInfo(&system);
    if (threads == 0)
        threads = system.dwNumberOfProcessors < MAX_THREADS ? system.dwNumberOfProcessors
                                                            : MAX_THREADS;
    rc = resolve_server(&b, args[0], args[1]);
    if (rc != 0)
        return rc;

    b.connections = (struct connection *)calloc(b.count, sizeof *b.connections);
    buffers = (char *)malloc((size_t)b.count * (size_t)b.buffer_size);
    workers = (struct worker *)calloc((size_t)threads, sizeof *workers);
    /* Sends point into the pattern at any offset, up to --size bytes, and
       receives are compared with it, up to a buffer's length. */
    pattern = ovs_echo_pattern(size > b.buffer_size ? size : b.buffer_size);
    if (b.connections == NULL || buffers == NULL || workers == NULL || pattern == NULL) {
        ovs_report_error("malloc", ERROR_NOT_ENOUGH_MEMORY);
        free(b.connections);
        free(buffers);
        free(workers);
        free(pattern);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    b.pattern = pattern;

    // [set_up]
    /* One port, two events for main, a bound socket per connection tied to
       the port, and the workers. Nothing is connected yet. */
    b.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (b.port == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        clean = 0;
    }
    b.all_settled = CreateEventW(NULL, TRUE, FALSE, NULL);
    b.all_ended = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (b.all_settled == NULL || b.all_ended == NULL) {
        ovs_report_error("CreateEventW", (int)GetLastError());
        clean = 0;
    }
    for (i = 0; i < b.count; i++) {
        struct connection *c = &b.connections[i];
        c->bench = &b;
        c->index = i;
        c->s = INVALID_SOCKET;
        c->state = CONNECTING;
        c->buffer = buffers + (size_t)i * (size_t)b.buffer_size;
        c->connect.kind = OP_CONNECT;
        c->receive.kind = OP_RECEIVE;
        c->send.kind = OP_SEND;
        InitializeCriticalSection(&c->lock);
        if (clean && make_socket(&b, c) != 0)
            clean = 0;
    }
    if (clean && load_connect_ex(&b, b.connections[0].s) != 0)
        clean = 0;
    for (t = 0; clean && t < (DWORD)threads; t++) {
        workers[t].bench = &b;
        workers[t].thread = CreateThread(NULL, 0, worker_main, &workers[t], 0, NULL);
        if (workers[t].thread == NULL) {
            ovs_report_error("CreateThread", (int)GetLastError());
            clean = 0;
        } else {
            n_workers++;
        }
    }
    // [set_up]
    if (!clean) {
        /* Nothing was posted yet: stop the workers, close and free
           everything, and leave. */
        if (stop_workers(&b, workers, n_workers) == -2)
            return OVS_EXIT_FAILURE; /* a worker may still run: nothing is freed */
        for (i = 0; i < b.count; i++) {
            if (b.connections[i].s != INVALID_SOCKET && closesocket(b.connections[i].s) != 0)
                ovs_report_wsa_error("closesocket");
            DeleteCriticalSection(&b.connections[i].lock);
        }
        if (b.port != NULL && !CloseHandle(b.port))
            ovs_report_error("CloseHandle", (int)GetLastError());
        if (b.all_settled != NULL && !CloseHandle(b.all_settled))
            ovs_report_error("CloseHandle", (int)GetLastError());
        if (b.all_ended != NULL && !CloseHandle(b.all_ended))
            ovs_report_error("CloseHandle", (int)GetLastError());
        free(b.connections);
        free(buffers);
        free(workers);
        free(pattern);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }

    ovs_format_address((const struct sockaddr *)&b.server, text, sizeof text);
    if (stream)
        fprintf(info,
                "ch09_bench: %lu connections to %s, streams of %llu-byte messages with at most "
                "%llu bytes in flight each, %llu ms warm-up, %llu ms measured\n",
                b.count, text, size, in_flight, warmup, duration);
    else
        fprintf(info,
                "ch09_bench: %lu connections to %s, round trips of %llu bytes, %llu ms warm-up, "
                "%llu ms measured\n",
                b.count, text, size, warmup, duration);
    fflush(info);

    // [run]
    /* Connect everything; the connections start their messages as soon as
       they are up (that is warm-up already). */
    for (i = 0; i < b.count; i++) {
        struct connection *c = &b.connections[i];
        EnterCriticalSection(&c->lock);
        post_connect(c);
        LeaveCriticalSection(&c->lock);
    }
    wait_for(&b, b.all_settled, &b.settled, 0, frequency.QuadPart);
    if ((unsigned long)b.connected == b.count) {
        LONGLONG now;
        fprintf(info, "connected %lu connections\n", b.count);
        fflush(info);
        /* The window: after the warm-up, for --duration. Published by
           the phase change (a full barrier). */
        now = now_ticks();
        b.window_start = now + (LONGLONG)(warmup * (unsigned long long)frequency.QuadPart / 1000);
        b.window_end =
            b.window_start + (LONGLONG)(duration * (unsigned long long)frequency.QuadPart / 1000);
        InterlockedExchange(&b.phase, PHASE_TIMED);
        timed = 1;
        /* Until the window closes (or every connection has failed). */
        if (wait_for(&b, b.all_ended, &b.ended, b.window_end, frequency.QuadPart) < 0)
            InterlockedIncrement(&b.errors); /* reported; the window's figures are not sure */
    }
    /* The end (or a connect failed: no window at all). No new message
       starts; a round trip in flight finishes first. A stream connection
       whose send is not in flight is waiting for its echo: it is told
       here. */
    InterlockedExchange(&b.phase, PHASE_STOPPING);
    for (i = 0; i < b.count; i++) {
        struct connection *c = &b.connections[i];
        EnterCriticalSection(&c->lock);
        if (b.stream)
            pump(c);
        LeaveCriticalSection(&c->lock);
    }
    /* Every connection ends with the server's end of stream, an error, or
       --timeout without progress. */
    if (wait_for(&b, b.all_ended, &b.ended, 0, frequency.QuadPart) < 0) {
        for (i = 0; i < b.count; i++) {
            EnterCriticalSection(&b.connections[i].lock);
            fail_with(&b.connections[i], "stopped: main could not wait");
            LeaveCriticalSection(&b.connections[i].lock);
        }
    }
    // [run]

    /* Every socket is closed now, but the packets of operations it aborted
       may still be on their way: nothing is freed while one is. */
    deadline = GetTickCount64() + timeout;
    while (b.outstanding > 0 && GetTickCount64() < deadline)
        Sleep(1);
    if (b.outstanding > 0) {
        fprintf(stderr, "%ld operations still in flight after %llu ms: the memory is not freed\n",
                (long)b.outstanding, timeout);
        return OVS_EXIT_FAILURE;
    }
    rc = stop_workers(&b, workers, n_workers);
    if (rc == -2)
        return OVS_EXIT_FAILURE; /* a worker may still run: nothing is freed */
    if (rc != 0) {
        InterlockedIncrement(&b.errors);
        fprintf(stderr, "a worker failed\n");
    }

    memset(&result, 0, sizeof result);
    for (t = 0; t < n_workers; t++) {
        result.round_trips += workers[t].round_trips;
        result.bytes += workers[t].bytes;
        histogram_add(&result.latency, &workers[t].latency);
    }
    result.seconds =
        timed ? (double)(b.window_end - b.window_start) / (double)frequency.QuadPart : 0.0;
    result.errors = (long)b.errors;
    print_result(&b, &result, format, (double)frequency.QuadPart);

    for (i = 0; i < b.count; i++)
        DeleteCriticalSection(&b.connections[i].lock);
    if (!CloseHandle(b.port) || !CloseHandle(b.all_settled) || !CloseHandle(b.all_ended)) {
        ovs_report_error("CloseHandle", (int)GetLastError());
        result.errors++;
    }
    free(b.connections);
    free(buffers);
    free(workers);
    free(pattern);
    ovs_winsock_stop();
    return result.errors == 0 ? OVS_EXIT_OK : OVS_EXIT_FAILURE;
}
