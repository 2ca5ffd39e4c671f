/*
 * echopeer - a scripted, misbehaving ECHO client: the test battery that
 * every echo-server chapter (chapter 5 onwards) is run against. The server
 * echoes every byte it receives, with no framing; echopeer does what a
 * well-behaved client never does (resets, silence, half-closes, one byte at
 * a time, a reader that stalls, ...) and checks every echoed byte.
 *
 * Every byte is known in advance: byte k of connection i's stream is
 * ovs_echo_byte(i, k) (common/ovs_load.c: 65521 pseudo-random bytes,
 * repeated, connection i starting at position i * 7919), as in chapter 5's
 * client, with i counted from 0 within one run. An echo from the wrong
 * place, the wrong connection or in the wrong order is caught, and reported
 * with the connection and the byte offset.
 *
 * Usage: echopeer <host> <port> MODE [ARGS]
 *   SIZE may end in K or M. N is at most 1000. Modes, and the last line each
 *   prints when it worked (the tests look for these lines):
 *   reset N            open N connections (all of them first), then reset
 *                      them all (SO_LINGER {1,0} + closesocket)
 *                      -> "reset N connections"
 *   silent N           open N connections, close them all gracefully
 *                      without sending anything
 *                      -> "closed N connections without sending"
 *   idle N             open N connections and send nothing on them; while
 *                      they stay open, one more connection does 10 round
 *                      trips (a server whose accepts wait for the client's
 *                      first bytes would never get to it); then close all
 *                      -> "idle: N silent connections open, and a new one
 *                          was served meanwhile"
 *   halfclose N SIZE   N connections at once: each sends SIZE bytes (a
 *                      reader thread takes the echo meanwhile), shuts down
 *                      its sending side, and must get the whole echo, then
 *                      the end of stream (never an error)
 *                      -> "halfclose: N connections, B bytes verified, then
 *                          the end of stream on each"
 *   slow N SIZE        N connections at once: each sends SIZE bytes one
 *                      byte per send(), waiting for each byte's echo
 *                      -> "slow: N connections, B bytes verified one at a time"
 *   latereader N SIZE  N connections at once, each with a receive buffer of
 *                      4 KiB (SO_RCVBUF, set before connecting): each sends
 *                      SIZE bytes and shuts down its sending side, while
 *                      its reader first waits a second, then reads slowly
 *                      (1 MiB/s). The server's sends keep waiting for room,
 *                      so the end of stream reaches it while its last echo
 *                      is still going out: with SIZE above what the server
 *                      buffers (about 2 MB under Wine), on every connection
 *                      in every run measured under Wine (without the small
 *                      buffer: on about half). Every byte back, then the
 *                      end of stream
 *                      -> "latereader: N connections, B bytes verified, then
 *                          the end of stream on each"
 *   stall SIZE M K     connection 0 sends (non-blocking) and never reads,
 *                      until no send is possible for half a second
 *                      ("stalled after X bytes"; sending all SIZE bytes
 *                      without a stall is a failure: the server buffers
 *                      without limit); then connections 1..M, at once, each
 *                      do K round trips of 64 bytes while connection 0 is
 *                      still stalled; then connection 0 is reset
 *                      -> "stall: M other connections did K round trips each
 *                          while one reader stalled"
 *   backlog-reset      for a server started with --max-clients 1: A does a
 *                      round trip (it holds the slot), B connects into the
 *                      backlog and is reset, A closes, then C must get its
 *                      round trip echoed within 20 s
 *                      -> "backlog-reset: a reset connection in the backlog,
 *                          then the next client served"
 *   send-reset N SIZE  N connections; one after the other, each sends SIZE
 *                      bytes and is reset at once, without reading. SIZE
 *                      must fit in what the systems buffer unread (a few
 *                      MiB): a longer send fails after 20 s
 *                      -> "send-reset: N connections sent SIZE bytes and
 *                          reset" (SIZE in bytes)
 *   midmessage N SIZE  N connections, none closed. The even-numbered ones
 *                      send SIZE bytes while reading the echo (the server
 *                      then has a receive pending); the odd-numbered ones
 *                      do one round trip, then stop reading and send until
 *                      the server takes no more (its send then waits; all
 *                      64 MiB without a stall is a failure). Once all that
 *                      is done: "mid-message on N connections". The odd
 *                      ones read again only once a line comes on stdin (or
 *                      stdin ends; within 30 s): the test sends it once the
 *                      server has begun to stop (under Wine 8 the server's
 *                      aborted send completes only when we read, measured).
 *                      Then up to 30 s for the server to end each
 *                      connection (end of stream or reset); what came back
 *                      must be a correct prefix
 *                      -> "midmessage: N connections ended by the server (K
 *                          had stopped reading), B bytes verified"
 *   Chapter 8's time-outs and stops:
 *   idle-race N MS     N connections, 16 at a time, for a server started
 *                      with --idle-timeout MS: each does a round trip, goes
 *                      quiet for about MS (from 3/4 MS to 3/2 MS, spread
 *                      over the connections), then sends 64 bytes: either
 *                      they come back (the data won) and the connection is
 *                      dropped after the next quiet spell, or the drop came
 *                      first (the end of stream, and no echo; or a reset
 *                      when our bytes reached the server after it had
 *                      cancelled its receive). Never a wrong byte
 *                      -> "idle-race: N connections dropped by the server:
 *                          the data came first on W, the drop on D (R of
 *                          them with a reset)"
 *   paced N K MS       N connections at once, each K round trips of 64
 *                      bytes with a pause of MS ms before each (a slow but
 *                      active client: a server must not drop it)
 *                      -> "paced: N connections did K round trips each, MS
 *                          ms apart"
 *   stream N           N connections at once, each sending without end
 *                      while a reader checks the echo; once every one has
 *                      echoes coming: "streaming on N connections". Then
 *                      the server must end each one with the end of stream
 *                      after a correct echo (a reset is a failure); the
 *                      sender stops and ends its side too
 *                      -> "stream: N connections ended by the server with an
 *                          end of stream, B bytes verified"
 *   hold N             N connections, one round trip each, then "holding N
 *                      connections"; each waits for the server's end of
 *                      stream but does not end its own side until a line
 *                      comes on stdin (or stdin ends; within 30 s)
 *                      -> "hold: N connections got the end of stream and
 *                          were held open"
 *   churn N            N connections one after another (4 at a time), each
 *                      one round trip of 64 bytes, then closed; N up to
 *                      100000
 *                      -> "churn: N connections, one round trip each"
 * Every line is flushed at once (the tests wait for them). Blocking sockets,
 * one thread per connection where connections must run at the same time;
 * every receive and send is bounded (SO_RCVTIMEO, SO_SNDTIMEO, WSAPoll).
 * Exit code: 0 when the mode's expectation held, 1 otherwise (said on
 * stderr), 2 on bad usage.
 */
#include "ovs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: echopeer <host> <port> MODE [ARGS], MODE one of: reset N | silent N | idle N | "
    "halfclose N SIZE | latereader N SIZE | slow N SIZE | stall SIZE M K | backlog-reset | "
    "send-reset N SIZE | midmessage N SIZE | idle-race N MS | paced N K MS | stream N | "
    "hold N | churn N (see the file header)";

#define MAX_CONNECTIONS 1000ul
/* How long one receive or one send may wait for the server. */
#define IO_TIMEOUT_MS 20000u
/* midmessage: how long, after the last echo, the server has to end each
   connection (the test stops the server when it sees "mid-message"). */
#define END_TIMEOUT_MS 30000u
/* A backstop for waiting on the threads: every call they make is bounded by
   the time-outs above, so only a thread that keeps making progress can take
   longer than one of those, and none should take this long. */
#define JOIN_TIMEOUT_MS 120000u
/* stall: a non-blocking send may be refused for a moment while the data is
   still flowing; only a refusal that lasts this long is a stall. */
#define STALL_GRACE_MS 500
/* midmessage: what a connection that stopped reading sends at most. */
#define MIDMESSAGE_STALL_MAX (64ull * 1024u * 1024u)
/* latereader: the reader's pause, how fast it reads after it (slower than
   the server echoes, so its sends keep waiting for room to the end), and
   its receive buffer (small, so that the room comes in small steps). */
#define LATE_READ_PAUSE_MS 1000u
#define LATE_READ_RATE (1ul * 1024u * 1024u)
#define LATE_READ_BUFFER 4096
#define ROUND_TRIP_SIZE 64u
#define CHUNK (16u * 1024u)
/* Stack reserved per thread: 2000 threads at the default 1 MiB would not
   fit into a 32-bit address space. A thread needs little more than CHUNK. */
#define THREAD_STACK (256u * 1024u)

/* One connection. A sending thread writes only `sent` and `send_failed`; a
   receiving thread only `verified`, `failed` and `echo_started`; the main
   thread reads them after the threads have ended (or, for `echo_started`,
   after the event that follows the write). */
struct connection {
    SOCKET s;
    unsigned long index;         /* i in the pattern */
    unsigned long long size;     /* bytes this connection sends in all */
    unsigned long long sent;     /* bytes handed to send() so far */
    unsigned long long verified; /* echoed bytes checked so far */
    int half_close;              /* shut down the sending side after `size` */
    unsigned long read_rate;     /* receive_echo's bytes per second at most; 0: no limit */
    unsigned long pause_ms;      /* paced: the pause before each round trip */
    volatile LONG ended;         /* stream: the reader saw the server's end */
    int failed, send_failed;
    int echo_started;            /* midmessage: the first byte came back */
    HANDLE first_echo;           /* midmessage: set after echo_started, or at the reader's end */
    HANDLE threads[2];           /* the receiving (or only) thread, the sending thread */
};

#define RECEIVER 0
#define SENDER 1

enum mode_kind {
    RESET,
    SILENT,
    IDLE,
    HALFCLOSE,
    LATEREADER,
    SLOW,
    STALL,
    BACKLOG_RESET,
    SEND_RESET,
    MIDMESSAGE,
    IDLE_RACE,
    PACED,
    STREAM,
    HOLD,
    CHURN
};

/* Where the connections go: the address list, then the one address the
   first connection reached, so that every connection of a run goes to the
   same place (a name can resolve to several addresses). */
struct target {
    struct addrinfo *addresses;
    struct addrinfo pinned;
    struct sockaddr_storage pinned_address;
    int have_pinned;
    ovs_socket_factory make; /* NULL: a plain socket */
};

/* A run whose threads are still running after JOIN_TIMEOUT_MS: nothing they
   use may be freed or cleaned up; main only returns (the exit ends them). */
#define STUCK (-1)

static void report(const struct connection *c, const char *format, ...)
{
    char text[256];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    fprintf(stderr, "connection %lu: %s\n", c->index, text);
}

/* A failed Winsock call on a connection, at a byte offset of its stream. */
static void report_call(const struct connection *c, const char *call, int code,
                        unsigned long long offset)
{
    char text[160];
    if (code == WSAETIMEDOUT) {
        /* Our own bound (SO_RCVTIMEO / SO_SNDTIMEO) ran out. */
        report(c, "%s() got nowhere for %lu ms at byte %llu", call,
               (unsigned long)IO_TIMEOUT_MS, offset);
        return;
    }
    ovs_format_error(code, text, sizeof text);
    report(c, "%s() failed at byte %llu: %d %s", call, offset, code, text);
}

/* Checks n echoed bytes against the pattern at the connection's next offset.
   `limit` is how many bytes were sent (or will be): beyond it, nothing can
   be an echo. Returns 0, or -1 after naming the first wrong byte. */
static int check_echo(struct connection *c, const char *data, size_t n, unsigned long long limit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned long long offset = c->verified + i;
        char expected = ovs_echo_byte(c->index, offset);
        if (offset >= limit) {
            report(c, "echoed byte %llu was never sent (only %llu were)", offset, limit);
            return -1;
        }
        if (data[i] != expected) {
            report(c, "echoed byte %llu is 0x%02x, expected '%c'", offset,
                   (unsigned)(unsigned char)data[i], expected);
            return -1;
        }
    }
    c->verified += n;
    return 0;
}

/* Sends the next n bytes of the connection's pattern (blocking, each
   send() bounded by SO_SNDTIMEO). Returns 0, or -1 after reporting. */
static int send_pattern(struct connection *c, unsigned long long n)
{
    char data[CHUNK];
    while (n > 0) {
        size_t want = n < CHUNK ? (size_t)n : CHUNK;
        size_t done = 0;
        ovs_echo_fill(data, want, c->index, c->sent);
        while (done < want) {
            /* A blocking send may take less than offered: send the rest. */
            int sent = send(c->s, data + done, (int)(want - done), 0);
            if (sent == SOCKET_ERROR) {
                report_call(c, "send", WSAGetLastError(), c->sent);
                return -1;
            }
            done += (size_t)sent;
            c->sent += (unsigned long long)sent;
        }
        n -= want;
    }
    return 0;
}

/* Receives and checks the echo until `target` bytes of the stream are
   verified; `limit` as for check_echo. Each recv() is bounded by
   SO_RCVTIMEO. Returns 0, or -1 after reporting. */
static int receive_echo(struct connection *c, unsigned long long target, unsigned long long limit)
{
    char data[CHUNK];
    ULONGLONG started = GetTickCount64();
    unsigned long long first = c->verified;
    while (c->verified < target) {
        int n;
        if (c->read_rate != 0) {
            /* Not faster than read_rate: wait until this much is due. */
            ULONGLONG due = started + (c->verified - first) * 1000u / c->read_rate;
            ULONGLONG now = GetTickCount64();
            if (due > now)
                Sleep((DWORD)(due - now));
        }
        n = recv(c->s, data, (int)sizeof data, 0);
        if (n == SOCKET_ERROR) {
            report_call(c, "recv", WSAGetLastError(), c->verified);
            return -1;
        }
        if (n == 0) {
            report(c, "the server closed the connection after echoing %llu of %llu bytes",
                   c->verified, target);
            return -1;
        }
        if (check_echo(c, data, (size_t)n, limit) != 0)
            return -1;
    }
    return 0;
}

/* After the whole echo: the next receive must say "end of stream". */
static int expect_end(struct connection *c)
{
    char data[CHUNK];
    int n = recv(c->s, data, (int)sizeof data, 0);
    if (n == SOCKET_ERROR) {
        report_call(c, "recv", WSAGetLastError(), c->verified);
        report(c, "the receive failed where the end of stream was due");
        return -1;
    }
    if (n > 0) {
        (void)check_echo(c, data, (size_t)n, c->verified); /* reports the extra bytes */
        return -1;
    }
    return 0;
}

/* Sends ROUND_TRIP_SIZE bytes and waits for their echo, `rounds` times. */
static int round_trips(struct connection *c, unsigned long long rounds)
{
    unsigned long long r;
    for (r = 0; r < rounds; r++)
        if (send_pattern(c, ROUND_TRIP_SIZE) != 0 || receive_echo(c, c->sent, c->sent) != 0)
            return -1;
    return 0;
}

/* Closes a connection abortively: with linger on and a zero time-out,
   closesocket sends a reset (RST) instead of the end of stream (FIN). */
static int reset_connection(struct connection *c)
{
    struct linger abortive = {1, 0};
    int status = 0;
    if (setsockopt(c->s, SOL_SOCKET, SO_LINGER, (const char *)&abortive, sizeof abortive) ==
        SOCKET_ERROR) {
        report_call(c, "setsockopt", WSAGetLastError(), c->sent);
        status = -1; /* closed all the same, gracefully then */
    }
    if (closesocket(c->s) == SOCKET_ERROR) {
        report_call(c, "closesocket", WSAGetLastError(), c->sent);
        status = -1;
    }
    c->s = INVALID_SOCKET;
    return status;
}

/* Closes a connection gracefully (default linger: the system still sends
   what is queued, then the end of stream). */
static int close_connection(struct connection *c)
{
    int status = 0;
    if (c->s == INVALID_SOCKET)
        return 0;
    if (closesocket(c->s) == SOCKET_ERROR) {
        report_call(c, "closesocket", WSAGetLastError(), c->sent);
        status = -1;
    }
    c->s = INVALID_SOCKET;
    return status;
}

static int close_all(struct connection *connections, unsigned long n)
{
    unsigned long i;
    int status = 0;
    for (i = 0; i < n; i++)
        if (close_connection(&connections[i]) != 0)
            status = -1;
    return status;
}

/* Connects connection `index`, with both time-outs set. */
static int open_connection(struct target *t, struct connection *c, unsigned long index)
{
    DWORD timeout = IO_TIMEOUT_MS;
    c->index = index;
    c->s = ovs_connect(t->have_pinned ? &t->pinned : t->addresses, t->make);
    if (c->s == INVALID_SOCKET) {
        /* ovs_connect has said why (e.g. connect() failed: 10061). */
        report(c, "could not connect");
        return -1;
    }
    if (!t->have_pinned) {
        int length = (int)sizeof t->pinned_address;
        if (getpeername(c->s, (struct sockaddr *)&t->pinned_address, &length) == SOCKET_ERROR) {
            report_call(c, "getpeername", WSAGetLastError(), 0);
            (void)close_connection(c);
            return -1;
        }
        t->pinned = *t->addresses;
        t->pinned.ai_family = t->pinned_address.ss_family;
        t->pinned.ai_addr = (struct sockaddr *)&t->pinned_address;
        t->pinned.ai_addrlen = (size_t)length;
        t->pinned.ai_next = NULL;
        t->have_pinned = 1;
    }
    /* No receive and no send may wait for ever: a server that stops
       answering makes the call fail with WSAETIMEDOUT instead. */
    if (setsockopt(c->s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout, sizeof timeout) ==
            SOCKET_ERROR ||
        setsockopt(c->s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&timeout, sizeof timeout) ==
            SOCKET_ERROR) {
        report_call(c, "setsockopt", WSAGetLastError(), 0);
        (void)close_connection(c);
        return -1;
    }
    return 0;
}

/* latereader's sockets: a small receive buffer, set before connecting so
   that the window is small from the start. */
static SOCKET small_window_socket(const struct addrinfo *address)
{
    int size = LATE_READ_BUFFER;
    SOCKET s = socket(address->ai_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        ovs_report_wsa_error("socket");
        return INVALID_SOCKET;
    }
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUF, (const char *)&size, sizeof size) == SOCKET_ERROR) {
        ovs_report_wsa_error("setsockopt");
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* Connects n connections with indexes first..first+n-1, one after the
   other. On a failure the ones made are closed again. */
static int open_all(struct target *t, struct connection *connections, unsigned long n,
                    unsigned long first)
{
    unsigned long i;
    for (i = 0; i < n; i++) {
        if (open_connection(t, &connections[i], first + i) != 0) {
            (void)close_all(connections, i);
            return -1;
        }
    }
    return 0;
}

static struct connection *new_connections(unsigned long n)
{
    struct connection *connections = (struct connection *)calloc(n, sizeof *connections);
    unsigned long i;
    if (connections == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    for (i = 0; i < n; i++)
        connections[i].s = INVALID_SOCKET;
    return connections;
}

/* n new connections, all connected (indexes 0..n-1); NULL after reporting
   when memory or a connection failed (nothing is left open then). */
static struct connection *connect_new(struct target *t, unsigned long n)
{
    struct connection *connections = new_connections(n);
    if (connections != NULL && open_all(t, connections, n, 0) != 0) {
        free(connections);
        connections = NULL;
    }
    return connections;
}

/* Starts `routine` for each of n connections, in thread slot `slot`.
   Returns 0, or -1 after reporting (the threads started run on: join them). */
static int start_threads(struct connection *connections, unsigned long n, int slot,
                         LPTHREAD_START_ROUTINE routine)
{
    unsigned long i;
    for (i = 0; i < n; i++) {
        connections[i].threads[slot] = CreateThread(NULL, THREAD_STACK, routine, &connections[i],
                                                    STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (connections[i].threads[slot] == NULL) {
            ovs_report_error("CreateThread", (int)GetLastError());
            return -1;
        }
    }
    return 0;
}

/* Waits for the threads in slot `slot`, all of them within timeout_ms.
   Returns 0, or STUCK when one is still running (or cannot be waited for):
   then nothing it uses may be freed. */
static int join_threads(struct connection *connections, unsigned long n, int slot,
                        DWORD timeout_ms)
{
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    unsigned long i;
    for (i = 0; i < n; i++) {
        HANDLE thread = connections[i].threads[slot];
        ULONGLONG now = GetTickCount64();
        DWORD waited;
        if (thread == NULL)
            continue;
        waited = WaitForSingleObject(thread, now < deadline ? (DWORD)(deadline - now) : 0);
        if (waited == WAIT_TIMEOUT) {
            report(&connections[i], "its thread is still busy after %lu ms",
                   (unsigned long)timeout_ms);
            return STUCK;
        }
        if (waited != WAIT_OBJECT_0) {
            ovs_report_error("WaitForSingleObject", (int)GetLastError());
            return STUCK;
        }
        if (!CloseHandle(thread))
            ovs_report_error("CloseHandle", (int)GetLastError());
        connections[i].threads[slot] = NULL;
    }
    return 0;
}

/* Joins both slots of every connection; STUCK if any thread is. */
static int join_all(struct connection *connections, unsigned long n)
{
    if (join_threads(connections, n, SENDER, JOIN_TIMEOUT_MS) != 0 ||
        join_threads(connections, n, RECEIVER, JOIN_TIMEOUT_MS) != 0)
        return STUCK;
    return 0;
}

static unsigned long count_failed(const struct connection *connections, unsigned long n)
{
    unsigned long i, failed = 0;
    for (i = 0; i < n; i++)
        if (connections[i].failed || connections[i].send_failed)
            failed++;
    return failed;
}

static unsigned long long total_verified(const struct connection *connections, unsigned long n)
{
    unsigned long long total = 0;
    unsigned long i;
    for (i = 0; i < n; i++)
        total += connections[i].verified;
    return total;
}

static void say(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    /* stdout is a pipe under the harness, so fully buffered: the tests wait
       for these lines, which must not sit in our buffer. */
    fflush(stdout);
}

/* ---- The threads ---- */

/* Sends the connection's `size` bytes, then, for halfclose, shuts down the
   sending side. Runs beside a receiving thread, which takes the echo:
   an echo server cannot absorb bytes that the client does not read. */
static DWORD WINAPI sending_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    if (send_pattern(c, c->size) != 0) {
        c->send_failed = 1;
        return 1;
    }
    if (c->half_close && shutdown(c->s, SD_SEND) == SOCKET_ERROR) {
        report_call(c, "shutdown", WSAGetLastError(), c->sent);
        c->send_failed = 1;
        return 1;
    }
    return 0;
}

/* halfclose: the whole echo, then the end of stream. */
static DWORD WINAPI halfclose_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    if (receive_echo(c, c->size, c->size) != 0 || expect_end(c) != 0) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

/* latereader: a pause, then halfclose's reading, slowly. */
static DWORD WINAPI late_reader_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    Sleep(LATE_READ_PAUSE_MS);
    c->read_rate = LATE_READ_RATE;
    return halfclose_thread(argument);
}

/* slow: one byte per send(), each echoed before the next goes. */
static DWORD WINAPI slow_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    while (c->sent < c->size) {
        /* receive_echo reads with a whole chunk and checks against what was
           sent so far, so a byte echoed twice is caught at once. */
        if (send_pattern(c, 1) != 0 || receive_echo(c, c->sent, c->sent) != 0) {
            c->failed = 1;
            return 1;
        }
    }
    return 0;
}

/* stall: the other connections' round trips (c->size holds their count). */
static DWORD WINAPI round_trip_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    if (round_trips(c, c->size / ROUND_TRIP_SIZE) != 0) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

static void signal_first_echo(struct connection *c)
{
    if (!SetEvent(c->first_echo))
        ovs_report_error("SetEvent", (int)GetLastError());
}

/* midmessage: set once a line came on stdin (or it ended), for the
   connections that stopped reading. */
static HANDLE resume_reading;

static int stall_send(struct connection *c);

/* midmessage: reads (SO_RCVTIMEO is END_TIMEOUT_MS here) until the server
   ends the connection: the end of stream or a reset, either is right. The
   first echo sets first_echo, unless `signalled` says that was done. */
static int read_to_the_end(struct connection *c, int signalled)
{
    char data[CHUNK];
    for (;;) {
        int n = recv(c->s, data, (int)sizeof data, 0);
        if (n == SOCKET_ERROR) {
            int code = WSAGetLastError();
            if (code == WSAECONNRESET && c->verified > 0)
                break; /* the server ended it with a reset: as good as an end */
            if (code == WSAETIMEDOUT)
                report(c, "the server did not end the connection within %lu ms (%llu bytes "
                          "verified)",
                       (unsigned long)END_TIMEOUT_MS, c->verified);
            else
                report_call(c, "recv", code, c->verified);
            c->failed = 1;
            break;
        }
        if (n == 0) {
            if (c->verified == 0) {
                report(c, "the server ended the connection before echoing anything");
                c->failed = 1;
            }
            break;
        }
        if (check_echo(c, data, (size_t)n, c->size) != 0) {
            c->failed = 1;
            break;
        }
        if (!signalled) {
            /* Written before the event is set, and never again after it:
               the main thread reads it once the event is set. */
            c->echo_started = 1;
            signal_first_echo(c);
            signalled = 1;
        }
    }
    if (!signalled)
        signal_first_echo(c); /* the main thread must not wait in vain */
    return c->failed ? 1 : 0;
}

/* midmessage, even connections: takes the echo while the sending thread
   sends, then waits for the end. */
static DWORD WINAPI midmessage_thread(LPVOID argument)
{
    return (DWORD)read_to_the_end((struct connection *)argument, 0);
}

/* midmessage, odd connections: one round trip, then sends without reading
   until the server takes no more, so that its send of our echo waits; then
   reads again only when told to, and on to the end. */
static DWORD WINAPI stop_reading_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    u_long nonblocking = 0;
    DWORD waited;
    c->size = ROUND_TRIP_SIZE + MIDMESSAGE_STALL_MAX;
    if (round_trips(c, 1) != 0 || stall_send(c) != 0) {
        c->failed = 1;
        signal_first_echo(c);
        return 1;
    }
    c->echo_started = 1;
    signal_first_echo(c);
    waited = WaitForSingleObject(resume_reading, END_TIMEOUT_MS);
    if (waited != WAIT_OBJECT_0) {
        report(c, "no line on stdin within %lu ms to read again", (unsigned long)END_TIMEOUT_MS);
        c->failed = 1;
        return 1;
    }
    if (ioctlsocket(c->s, FIONBIO, &nonblocking) == SOCKET_ERROR) {
        report_call(c, "ioctlsocket", WSAGetLastError(), c->verified);
        c->failed = 1;
        return 1;
    }
    /* Every byte it sent is the limit: the echo may have been cut there. */
    c->size = c->sent;
    return (DWORD)read_to_the_end(c, 1);
}

/* midmessage: one line on stdin (or its end) lets the odd connections read
   again. */
static DWORD WINAPI stdin_thread(LPVOID unused)
{
    char line[64];
    DWORD n;
    (void)unused;
    (void)ReadFile(GetStdHandle(STD_INPUT_HANDLE), line, sizeof line, &n, NULL);
    if (!SetEvent(resume_reading))
        ovs_report_error("SetEvent", (int)GetLastError());
    return 0;
}

/* midmessage and stream: the last receive of c waits END_TIMEOUT_MS for the
   server to end the connection, and c gets its first_echo event. Returns 0,
   or -1 after reporting. */
static int wait_for_the_end(struct connection *c)
{
    DWORD end_timeout = END_TIMEOUT_MS;
    int status = 0;
    if (setsockopt(c->s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&end_timeout,
                   sizeof end_timeout) == SOCKET_ERROR) {
        report_call(c, "setsockopt", WSAGetLastError(), 0);
        status = -1;
    }
    c->first_echo = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (c->first_echo == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        status = -1;
    }
    return status;
}

/* ---- The modes ---- */

static int run_reset(struct target *t, unsigned long n)
{
    /* All of them first, so the server holds n connections when the resets
       come, one right after the other. */
    struct connection *connections = connect_new(t, n);
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    for (i = 0; i < n; i++)
        if (reset_connection(&connections[i]) != 0)
            status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("reset %lu connections\n", n);
    free(connections);
    return status;
}

static int run_silent(struct target *t, unsigned long n)
{
    struct connection *connections = connect_new(t, n);
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    else
        say("closed %lu connections without sending\n", n);
    free(connections);
    return status;
}

static int run_idle(struct target *t, unsigned long n)
{
    struct connection *connections = connect_new(t, n), *served;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    served = new_connections(1);
    if (served == NULL || open_connection(t, served, n) != 0 || round_trips(served, 10) != 0)
        status = OVS_EXIT_FAILURE;
    if (served != NULL && close_connection(served) != 0)
        status = OVS_EXIT_FAILURE;
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("idle: %lu silent connections open, and a new one was served meanwhile\n", n);
    free(served);
    free(connections);
    return status;
}

static int run_send_reset(struct target *t, unsigned long n, unsigned long long size)
{
    struct connection *connections = connect_new(t, n);
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    for (i = 0; i < n; i++) {
        /* Reset straight after the send, without reading: the server is
           then echoing into a connection that no longer exists. After a
           failed send (more than the connection can hold unread times out)
           the rest are only reset: each would wait as long again. */
        if (status == OVS_EXIT_OK && send_pattern(&connections[i], size) != 0)
            status = OVS_EXIT_FAILURE;
        if (reset_connection(&connections[i]) != 0)
            status = OVS_EXIT_FAILURE;
    }
    if (status == OVS_EXIT_OK)
        say("send-reset: %lu connections sent %llu bytes and reset\n", n, size);
    free(connections);
    return status;
}

/* halfclose, latereader and slow: n connections at once, one or two
   threads each. */
static int run_threads(struct target *t, unsigned long n, unsigned long long size,
                       enum mode_kind kind)
{
    struct connection *connections;
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (kind == LATEREADER)
        t->make = small_window_socket;
    connections = connect_new(t, n);
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    for (i = 0; i < n; i++) {
        connections[i].size = size;
        connections[i].half_close = kind != SLOW;
    }
    if (kind != SLOW) {
        /* The readers first, so no echo ever waits for its reader (except
           the late readers' own pause). */
        if (start_threads(connections, n, RECEIVER,
                          kind == HALFCLOSE ? halfclose_thread : late_reader_thread) != 0 ||
            start_threads(connections, n, SENDER, sending_thread) != 0)
            status = OVS_EXIT_FAILURE;
    } else if (start_threads(connections, n, RECEIVER, slow_thread) != 0) {
        status = OVS_EXIT_FAILURE;
    }
    if (join_all(connections, n) != 0)
        return STUCK;
    if (count_failed(connections, n) > 0) {
        fprintf(stderr, "%lu of %lu connections failed\n", count_failed(connections, n), n);
        status = OVS_EXIT_FAILURE;
    }
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK) {
        if (kind != SLOW)
            say("%s: %lu connections, %llu bytes verified, then the end of stream on each\n",
                kind == HALFCLOSE ? "halfclose" : "latereader", n, total_verified(connections, n));
        else
            say("slow: %lu connections, %llu bytes verified one at a time\n", n,
                total_verified(connections, n));
    }
    free(connections);
    return status;
}

/* stall, connection 0 (and midmessage's odd connections): sends without
   ever reading, non-blocking, until no send has been possible for
   STALL_GRACE_MS. Returns 0 after such a stall; -1 after reporting a
   failure, or when all `size` bytes went without one: the server then
   buffers without limit (or `size` is below what the systems buffer). */
static int stall_send(struct connection *c)
{
    char data[CHUNK];
    u_long nonblocking = 1;
    if (ioctlsocket(c->s, FIONBIO, &nonblocking) == SOCKET_ERROR) {
        report_call(c, "ioctlsocket", WSAGetLastError(), 0);
        return -1;
    }
    while (c->sent < c->size) {
        size_t want = c->size - c->sent < CHUNK ? (size_t)(c->size - c->sent) : CHUNK;
        WSAPOLLFD entry;
        int n, ready, error;
        ovs_echo_fill(data, want, c->index, c->sent);
        n = send(c->s, data, (int)want, 0);
        if (n != SOCKET_ERROR) {
            c->sent += (unsigned long long)n;
            continue;
        }
        error = WSAGetLastError();
        if (error != WSAEWOULDBLOCK) {
            report_call(c, "send", error, c->sent);
            return -1;
        }
        /* The buffers are full for now. Only when they stay full is the
           server no longer reading from us. */
        entry.fd = c->s;
        entry.events = POLLWRNORM;
        entry.revents = 0;
        ready = WSAPoll(&entry, 1, STALL_GRACE_MS);
        if (ready == SOCKET_ERROR) {
            report_call(c, "WSAPoll", WSAGetLastError(), c->sent);
            return -1;
        }
        if (ready == 0)
            return 0; /* stalled */
        if (entry.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            report(c, "the connection failed after %llu bytes were sent (poll events 0x%x)",
                   c->sent, (unsigned)entry.revents);
            return -1;
        }
    }
    report(c, "the server took all %llu bytes without a stall: it buffers without limit", c->size);
    return -1;
}

static int run_stall(struct target *t, unsigned long long size, unsigned long others,
                     unsigned long long rounds)
{
    struct connection *connections = new_connections(others + 1);
    struct connection *stalled;
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    stalled = &connections[0];
    if (open_all(t, stalled, 1, 0) != 0) {
        free(connections);
        return OVS_EXIT_FAILURE;
    }
    stalled->size = size;
    if (stall_send(stalled) != 0) {
        (void)reset_connection(stalled);
        free(connections);
        return OVS_EXIT_FAILURE;
    }
    say("stalled after %llu bytes\n", stalled->sent);

    /* Connection 0 is left as it is (never read) while the others run. */
    if (open_all(t, connections + 1, others, 1) != 0) {
        (void)reset_connection(stalled);
        free(connections);
        return OVS_EXIT_FAILURE;
    }
    for (i = 1; i <= others; i++)
        connections[i].size = rounds * ROUND_TRIP_SIZE;
    if (start_threads(connections + 1, others, RECEIVER, round_trip_thread) != 0)
        status = OVS_EXIT_FAILURE;
    if (join_all(connections + 1, others) != 0)
        return STUCK;
    if (count_failed(connections + 1, others) > 0) {
        fprintf(stderr, "%lu of %lu connections failed while connection 0 stalled\n",
                count_failed(connections + 1, others), others);
        status = OVS_EXIT_FAILURE;
    }
    if (close_all(connections + 1, others) != 0)
        status = OVS_EXIT_FAILURE;
    /* Only now does the stalled reader go away: with a reset, as a client
       that gave up would. */
    if (reset_connection(stalled) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("stall: %lu other connections did %llu round trips each while one reader stalled\n",
            others, rounds);
    free(connections);
    return status;
}

static int run_backlog_reset(struct target *t)
{
    struct connection connections[3];
    struct connection *a = &connections[0], *b = &connections[1], *c = &connections[2];
    int status = OVS_EXIT_OK;

    memset(connections, 0, sizeof connections);
    a->s = b->s = c->s = INVALID_SOCKET;
    /* A: once its round trip is back, the server has accepted it, so with
       --max-clients 1 it holds the one slot. */
    if (open_all(t, a, 1, 0) != 0)
        return OVS_EXIT_FAILURE;
    a->size = ROUND_TRIP_SIZE;
    if (round_trips(a, 1) != 0) {
        (void)close_connection(a);
        return OVS_EXIT_FAILURE;
    }
    /* B: connect returns once the system has put it in the listen backlog;
       the server does not accept it while A is open. Then it is reset
       there, before the server ever sees it. */
    if (open_all(t, b, 1, 1) != 0 || reset_connection(b) != 0) {
        (void)close_connection(a);
        return OVS_EXIT_FAILURE;
    }
    /* A leaves gracefully: the slot is free, and the server's next accept
       meets B's reset (under Wine it can fail with 10057). */
    if (close_connection(a) != 0)
        return OVS_EXIT_FAILURE;
    /* C must be served all the same, within IO_TIMEOUT_MS. */
    if (open_all(t, c, 1, 2) != 0)
        return OVS_EXIT_FAILURE;
    c->size = ROUND_TRIP_SIZE;
    if (round_trips(c, 1) != 0) {
        report(c, "the client after the reset one was not served");
        status = OVS_EXIT_FAILURE;
    }
    if (close_connection(c) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("backlog-reset: a reset connection in the backlog, then the next client served\n");
    return status;
}

static int run_midmessage(struct target *t, unsigned long n, unsigned long long size)
{
    struct connection *connections = connect_new(t, n);
    ULONGLONG deadline;
    HANDLE reader;
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    for (i = 0; i < n; i++) {
        struct connection *c = &connections[i];
        c->size = size;
        /* The last receive waits for the server to end the connection,
           which the test does once it reads "mid-message". */
        if (wait_for_the_end(c) != 0)
            status = OVS_EXIT_FAILURE;
    }
    resume_reading = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (resume_reading == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    }
    /* Even connections: a reader and a sender each; odd ones: one thread. */
    for (i = 0; i < n && status == OVS_EXIT_OK; i++)
        if (start_threads(&connections[i], 1, RECEIVER,
                          i % 2 == 0 ? midmessage_thread : stop_reading_thread) != 0 ||
            (i % 2 == 0 && start_threads(&connections[i], 1, SENDER, sending_thread) != 0))
            status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK) {
        /* Everything sent, and the echo begun on every connection (the odd
           ones have stalled by then). */
        if (join_threads(connections, n, SENDER, JOIN_TIMEOUT_MS) != 0)
            return STUCK;
        deadline = GetTickCount64() + IO_TIMEOUT_MS;
        for (i = 0; i < n && status == OVS_EXIT_OK; i++) {
            ULONGLONG now = GetTickCount64();
            DWORD waited = WaitForSingleObject(connections[i].first_echo,
                                               now < deadline ? (DWORD)(deadline - now) : 0);
            if (waited == WAIT_TIMEOUT) {
                report(&connections[i], "no echo within %lu ms", (unsigned long)IO_TIMEOUT_MS);
                status = OVS_EXIT_FAILURE;
            } else if (waited != WAIT_OBJECT_0) {
                ovs_report_error("WaitForSingleObject", (int)GetLastError());
                status = OVS_EXIT_FAILURE;
            } else if (!connections[i].echo_started || connections[i].send_failed) {
                status = OVS_EXIT_FAILURE; /* the thread has said why */
            }
        }
        if (status == OVS_EXIT_OK)
            say("mid-message on %lu connections\n", n);
    }
    /* The odd connections read again after a line on stdin. The reader is
       never waited for: with no line it is left to the end of the process,
       and so is the event it sets. */
    reader = status == OVS_EXIT_OK ? CreateThread(NULL, 0, stdin_thread, NULL, 0, NULL) : NULL;
    if (reader != NULL) {
        CloseHandle(reader);
    } else {
        if (status == OVS_EXIT_OK) {
            ovs_report_error("CreateThread", (int)GetLastError());
            status = OVS_EXIT_FAILURE;
        }
        /* Nobody waits for the line then: let them read at once. */
        if (resume_reading != NULL && !SetEvent(resume_reading))
            ovs_report_error("SetEvent", (int)GetLastError());
    }
    /* Without the line the server is never stopped, so the readers end by
       their own time-outs: the join below is bounded either way. */
    if (join_all(connections, n) != 0)
        return STUCK;
    if (count_failed(connections, n) > 0) {
        fprintf(stderr, "%lu of %lu connections failed\n", count_failed(connections, n), n);
        status = OVS_EXIT_FAILURE;
    }
    for (i = 0; i < n; i++)
        if (connections[i].first_echo != NULL && !CloseHandle(connections[i].first_echo))
            ovs_report_error("CloseHandle", (int)GetLastError());
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("midmessage: %lu connections ended by the server (%lu had stopped reading), %llu "
            "bytes verified\n",
            n, n / 2, total_verified(connections, n));
    free(connections);
    return status;
}

/* ---- Chapter 8's modes: time-outs and stops ---- */

/* idle-race and churn: many connections in sequence, on a few threads that
   each take the next number until all are done. */
struct sequence {
    struct target *target;
    unsigned long total, quiet_ms;
    volatile LONG next, failed, data_first, drop_first, drop_reset;
    enum mode_kind kind;
};

/* idle-race: the server's end of stream, or a reset when our last bytes
   reached it after it had cancelled its receive (they were unread when it
   closed): either way the drop came first. Returns 1 for that, 0 for data,
   -1 for a failure (reported). */
static int dropped_here(struct sequence *q, struct connection *c, int n)
{
    if (n == 0) {
        InterlockedIncrement(&q->drop_first);
        return 1;
    }
    if (n == SOCKET_ERROR && WSAGetLastError() == WSAECONNRESET) {
        InterlockedIncrement(&q->drop_first);
        InterlockedIncrement(&q->drop_reset);
        return 1;
    }
    if (n == SOCKET_ERROR) {
        report_call(c, "recv", WSAGetLastError(), c->verified);
        return -1;
    }
    return 0;
}

/* idle-race, one connection: a round trip, a quiet spell near the server's
   time-out, 64 more bytes; then their echo and the end, or only the end. */
static int idle_race_one(struct sequence *q, struct connection *c)
{
    /* From 3/4 to 3/2 of the time-out, spread evenly by the number. */
    unsigned long spread = q->quiet_ms * 3 / 4 + 1;
    DWORD quiet = (DWORD)(q->quiet_ms * 3 / 4 + (c->index * 7919ul) % spread);
    char data[CHUNK];
    int n, rc;
    if (send_pattern(c, ROUND_TRIP_SIZE) != 0)
        return -1;
    /* On a loaded machine the server may find us quiet even before the
       first echo: its end of stream, with nothing echoed, is a drop too. */
    n = recv(c->s, data, (int)sizeof data, 0);
    if ((rc = dropped_here(q, c, n)) != 0)
        return rc > 0 ? 0 : -1;
    if (check_echo(c, data, (size_t)n, c->sent) != 0 || receive_echo(c, c->sent, c->sent) != 0)
        return -1;
    Sleep(quiet);
    if (send_pattern(c, ROUND_TRIP_SIZE) != 0)
        return -1;
    n = recv(c->s, data, (int)sizeof data, 0);
    if ((rc = dropped_here(q, c, n)) != 0)
        return rc > 0 ? 0 : -1; /* dropped: our bytes were not echoed */
    /* The data came first: the rest of its echo, then the server drops us
       after the next quiet spell. */
    if (check_echo(c, data, (size_t)n, c->sent) != 0 || receive_echo(c, c->sent, c->sent) != 0 ||
        expect_end(c) != 0)
        return -1;
    InterlockedIncrement(&q->data_first);
    return 0;
}

/* One connection of a sequence: connect, its work, close. */
static int sequence_one(struct sequence *q, unsigned long i)
{
    struct connection c;
    int rc;
    memset(&c, 0, sizeof c);
    c.s = INVALID_SOCKET;
    if (open_connection(q->target, &c, i) != 0)
        return -1;
    rc = q->kind == IDLE_RACE ? idle_race_one(q, &c) : round_trips(&c, 1);
    if (close_connection(&c) != 0)
        rc = -1;
    return rc;
}

static DWORD WINAPI sequence_thread(LPVOID argument)
{
    struct sequence *q = (struct sequence *)argument;
    for (;;) {
        unsigned long i = (unsigned long)(InterlockedIncrement(&q->next) - 1);
        if (i >= q->total || q->failed > 0)
            return 0;
        if (sequence_one(q, i) != 0) {
            InterlockedIncrement(&q->failed);
            return 1;
        }
    }
}

/* Runs a sequence on `width` threads (at most 16). Connection 0 is made
   here first: it pins the address every later one goes to. */
static int run_sequence(struct sequence *q, unsigned long width)
{
    HANDLE threads[16];
    DWORD started = 0, i;
    int status = OVS_EXIT_OK;
    if (sequence_one(q, 0) != 0)
        return OVS_EXIT_FAILURE;
    q->next = 1;
    for (i = 0; i < (DWORD)width && i < 16 && q->total > 1; i++) {
        threads[i] = CreateThread(NULL, THREAD_STACK, sequence_thread, q,
                                  STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (threads[i] == NULL) {
            ovs_report_error("CreateThread", (int)GetLastError());
            InterlockedIncrement(&q->failed); /* the others stop early */
            break;
        }
        started++;
    }
    if (started > 0 &&
        WaitForMultipleObjects(started, threads, TRUE, JOIN_TIMEOUT_MS) != WAIT_OBJECT_0) {
        fprintf(stderr, "the threads are still busy after %lu ms\n",
                (unsigned long)JOIN_TIMEOUT_MS);
        return STUCK;
    }
    for (i = 0; i < started; i++)
        CloseHandle(threads[i]);
    if (q->failed > 0)
        status = OVS_EXIT_FAILURE;
    return status;
}

static int run_idle_race(struct target *t, unsigned long n, unsigned long quiet_ms)
{
    struct sequence q;
    int status;
    memset(&q, 0, sizeof q);
    q.target = t;
    q.total = n;
    q.quiet_ms = quiet_ms;
    q.kind = IDLE_RACE;
    status = run_sequence(&q, 16);
    if (status == OVS_EXIT_OK)
        say("idle-race: %lu connections dropped by the server: the data came first on %ld, the "
            "drop on %ld (%ld of them with a reset)\n",
            n, (long)q.data_first, (long)q.drop_first, (long)q.drop_reset);
    return status;
}

static int run_churn(struct target *t, unsigned long n)
{
    struct sequence q;
    int status;
    memset(&q, 0, sizeof q);
    q.target = t;
    q.total = n;
    q.kind = CHURN;
    status = run_sequence(&q, 4);
    if (status == OVS_EXIT_OK)
        say("churn: %lu connections, one round trip each\n", n);
    return status;
}

/* paced: K round trips, each after a pause. */
static DWORD WINAPI paced_thread(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    unsigned long long k;
    for (k = 0; k < c->size; k++) {
        Sleep(c->pause_ms);
        if (round_trips(c, 1) != 0) {
            c->failed = 1;
            return 1;
        }
    }
    return 0;
}

static int run_paced(struct target *t, unsigned long n, unsigned long long rounds,
                     unsigned long pause_ms)
{
    struct connection *connections = connect_new(t, n);
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    for (i = 0; i < n; i++) {
        connections[i].size = rounds;
        connections[i].pause_ms = pause_ms;
    }
    if (start_threads(connections, n, RECEIVER, paced_thread) != 0)
        status = OVS_EXIT_FAILURE;
    if (join_all(connections, n) != 0)
        return STUCK;
    if (count_failed(connections, n) > 0)
        status = OVS_EXIT_FAILURE;
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("paced: %lu connections did %llu round trips each, %lu ms apart\n", n, rounds,
            pause_ms);
    free(connections);
    return status;
}

/* stream: checks the echo until the server's end of stream (within
   END_TIMEOUT_MS of the last byte), which tells the sender to stop. */
static DWORD WINAPI stream_reader(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    char data[CHUNK];
    int signalled = 0;
    for (;;) {
        int n = recv(c->s, data, (int)sizeof data, 0);
        if (n == SOCKET_ERROR) {
            report_call(c, "recv", WSAGetLastError(), c->verified);
            c->failed = 1;
            break;
        }
        if (n == 0)
            break; /* the server's end of stream: what we wait for */
        /* No byte beyond the stream's first 2^62 is ever sent: the pattern
           check is what catches a wrong echo here. */
        if (check_echo(c, data, (size_t)n, 1ull << 62) != 0) {
            c->failed = 1;
            break;
        }
        if (!signalled) {
            c->echo_started = 1;
            signal_first_echo(c);
            signalled = 1;
        }
    }
    InterlockedExchange(&c->ended, 1);
    if (!signalled)
        signal_first_echo(c);
    return c->failed ? 1 : 0;
}

/* stream: sends until the reader has seen the server's end, then ends our
   side too. A server that has half-closed still reads (and drops) what we
   send, so a send here never waits for ever. */
static DWORD WINAPI stream_sender(LPVOID argument)
{
    struct connection *c = (struct connection *)argument;
    while (!c->ended) {
        if (send_pattern(c, CHUNK) != 0) {
            c->send_failed = 1;
            return 1;
        }
    }
    if (shutdown(c->s, SD_SEND) == SOCKET_ERROR) {
        report_call(c, "shutdown", WSAGetLastError(), c->sent);
        c->send_failed = 1;
        return 1;
    }
    return 0;
}

static int run_stream(struct target *t, unsigned long n)
{
    struct connection *connections = connect_new(t, n);
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    for (i = 0; i < n; i++) {
        struct connection *c = &connections[i];
        /* The reader's last receive waits for the stop the test makes. */
        if (wait_for_the_end(c) != 0)
            status = OVS_EXIT_FAILURE;
    }
    for (i = 0; i < n && status == OVS_EXIT_OK; i++)
        if (start_threads(&connections[i], 1, RECEIVER, stream_reader) != 0 ||
            start_threads(&connections[i], 1, SENDER, stream_sender) != 0)
            status = OVS_EXIT_FAILURE;
    for (i = 0; i < n && status == OVS_EXIT_OK; i++) {
        if (WaitForSingleObject(connections[i].first_echo, IO_TIMEOUT_MS) != WAIT_OBJECT_0 ||
            !connections[i].echo_started) {
            report(&connections[i], "no echo within %lu ms", (unsigned long)IO_TIMEOUT_MS);
            status = OVS_EXIT_FAILURE;
        }
    }
    if (status == OVS_EXIT_OK)
        say("streaming on %lu connections\n", n);
    else
        for (i = 0; i < n; i++)
            InterlockedExchange(&connections[i].ended, 1); /* senders: stop */
    if (join_all(connections, n) != 0)
        return STUCK;
    if (count_failed(connections, n) > 0) {
        fprintf(stderr, "%lu of %lu connections failed\n", count_failed(connections, n), n);
        status = OVS_EXIT_FAILURE;
    }
    for (i = 0; i < n; i++)
        if (connections[i].first_echo != NULL)
            CloseHandle(connections[i].first_echo);
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("stream: %lu connections ended by the server with an end of stream, %llu bytes "
            "verified\n",
            n, total_verified(connections, n));
    free(connections);
    return status;
}

static int run_hold(struct target *t, unsigned long n)
{
    struct connection *connections = connect_new(t, n);
    DWORD end_timeout = END_TIMEOUT_MS;
    HANDLE reader = NULL;
    unsigned long i;
    int status = OVS_EXIT_OK;
    if (connections == NULL)
        return OVS_EXIT_FAILURE;
    resume_reading = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (resume_reading == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    }
    for (i = 0; i < n && status == OVS_EXIT_OK; i++)
        if (round_trips(&connections[i], 1) != 0 ||
            setsockopt(connections[i].s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&end_timeout,
                       sizeof end_timeout) == SOCKET_ERROR)
            status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK) {
        say("holding %lu connections\n", n);
        for (i = 0; i < n && status == OVS_EXIT_OK; i++)
            if (expect_end(&connections[i]) != 0)
                status = OVS_EXIT_FAILURE;
        /* Our side stays open until the line (the test sends it once the
           server has reset these connections). */
        reader = status == OVS_EXIT_OK ? CreateThread(NULL, 0, stdin_thread, NULL, 0, NULL) : NULL;
        if (reader != NULL) {
            CloseHandle(reader);
            if (WaitForSingleObject(resume_reading, END_TIMEOUT_MS) != WAIT_OBJECT_0) {
                fprintf(stderr, "no line on stdin within %lu ms\n",
                        (unsigned long)END_TIMEOUT_MS);
                status = OVS_EXIT_FAILURE;
            }
        } else if (status == OVS_EXIT_OK) {
            ovs_report_error("CreateThread", (int)GetLastError());
            status = OVS_EXIT_FAILURE;
        }
    }
    if (close_all(connections, n) != 0)
        status = OVS_EXIT_FAILURE;
    if (status == OVS_EXIT_OK)
        say("hold: %lu connections got the end of stream and were held open\n", n);
    free(connections);
    return status;
}

/* ---- The command line ---- */

struct mode {
    const char *name;
    enum mode_kind kind;
    size_t n_args;
    const char *args; /* for the error message */
};

static const struct mode modes[] = {
    {"reset", RESET, 1, "N"},
    {"silent", SILENT, 1, "N"},
    {"idle", IDLE, 1, "N"},
    {"halfclose", HALFCLOSE, 2, "N SIZE"},
    {"latereader", LATEREADER, 2, "N SIZE"},
    {"slow", SLOW, 2, "N SIZE"},
    {"stall", STALL, 3, "SIZE M K"},
    {"backlog-reset", BACKLOG_RESET, 0, ""},
    {"send-reset", SEND_RESET, 2, "N SIZE"},
    {"midmessage", MIDMESSAGE, 2, "N SIZE"},
    {"idle-race", IDLE_RACE, 2, "N MS"},
    {"paced", PACED, 3, "N K MS"},
    {"stream", STREAM, 1, "N"},
    {"hold", HOLD, 1, "N"},
    {"churn", CHURN, 1, "N"},
};

/* Parses one number argument, or says which one was wrong. */
static int parse_argument(const char *text, const char *name, unsigned long long min,
                          unsigned long long max, unsigned long long *value)
{
    char problem[160];
    if (ovs_parse_number(text, min, max, value) == 0)
        return 0;
    snprintf(problem, sizeof problem, "%s must be a number from %llu to %llu, not '%s'", name,
             min, max, text);
    return ovs_usage_error(usage, problem);
}

int main(int argc, char **argv)
{
    const char *args[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    unsigned long long number[3] = {0, 0, 0};
    const struct mode *mode = NULL;
    struct target target;
    unsigned short port;
    size_t i, n_args;
    int rc;

    rc = ovs_parse_args(argc, argv, usage, NULL, 0, args, 3, 6);
    if (rc != 0)
        return rc;
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(args[2], modes[i].name) == 0)
            mode = &modes[i];
    if (mode == NULL) {
        char problem[120];
        snprintf(problem, sizeof problem, "unknown mode '%.60s'", args[2]);
        return ovs_usage_error(usage, problem);
    }
    n_args = 0;
    while (n_args < 3 && args[3 + n_args] != NULL)
        n_args++;
    if (n_args != mode->n_args) {
        char problem[120];
        snprintf(problem, sizeof problem, "%s takes %s", mode->name,
                 mode->n_args == 0 ? "no arguments" : mode->args);
        return ovs_usage_error(usage, problem);
    }
    /* Every argument is checked before anything touches the network. */
    if (mode->kind == IDLE_RACE) {
        if ((rc = parse_argument(args[3], "N", 1, 100000, &number[0])) != 0 ||
            (rc = parse_argument(args[4], "MS", 10, 10000, &number[1])) != 0)
            return rc;
    } else if (mode->kind == PACED) {
        if ((rc = parse_argument(args[3], "N", 1, MAX_CONNECTIONS, &number[0])) != 0 ||
            (rc = parse_argument(args[4], "K", 1, 100000, &number[1])) != 0 ||
            (rc = parse_argument(args[5], "MS", 0, 60000, &number[2])) != 0)
            return rc;
    } else if (mode->kind == CHURN) {
        if ((rc = parse_argument(args[3], "N", 1, 100000, &number[0])) != 0)
            return rc;
    } else if (mode->kind == STALL) {
        if ((rc = parse_argument(args[3], "SIZE", 1, OVS_MAX_MESSAGE, &number[0])) != 0 ||
            (rc = parse_argument(args[4], "M", 1, MAX_CONNECTIONS - 1, &number[1])) != 0 ||
            (rc = parse_argument(args[5], "K", 1, 1000000, &number[2])) != 0)
            return rc;
    } else if (mode->n_args > 0) {
        if ((rc = parse_argument(args[3], "N", 1, MAX_CONNECTIONS, &number[0])) != 0)
            return rc;
        if (mode->n_args > 1 &&
            (rc = parse_argument(args[4], "SIZE", 1, OVS_MAX_MESSAGE, &number[1])) != 0)
            return rc;
    }
    if (ovs_parse_port(args[1], 0, &port) != 0)
        return ovs_usage_error(usage, "port must be a number from 1 to 65535");

    if (ovs_winsock_start() != 0)
        return OVS_EXIT_FAILURE;
    memset(&target, 0, sizeof target);
    rc = ovs_resolve(args[0], port, 0, &target.addresses);
    if (rc != 0) {
        ovs_report_error("getaddrinfo", rc);
        ovs_winsock_stop();
        if (!ovs_resolve_failure_is_usage(rc))
            return OVS_EXIT_FAILURE;
        return ovs_usage_error(usage, "unknown host");
    }

    switch (mode->kind) {
    case RESET:
        rc = run_reset(&target, (unsigned long)number[0]);
        break;
    case SILENT:
        rc = run_silent(&target, (unsigned long)number[0]);
        break;
    case IDLE:
        rc = run_idle(&target, (unsigned long)number[0]);
        break;
    case HALFCLOSE:
    case LATEREADER:
    case SLOW:
        rc = run_threads(&target, (unsigned long)number[0], number[1], mode->kind);
        break;
    case STALL:
        rc = run_stall(&target, number[0], (unsigned long)number[1], number[2]);
        break;
    case BACKLOG_RESET:
        rc = run_backlog_reset(&target);
        break;
    case SEND_RESET:
        rc = run_send_reset(&target, (unsigned long)number[0], number[1]);
        break;
    case IDLE_RACE:
        rc = run_idle_race(&target, (unsigned long)number[0], (unsigned long)number[1]);
        break;
    case PACED:
        rc = run_paced(&target, (unsigned long)number[0], number[1], (unsigned long)number[2]);
        break;
    case STREAM:
        rc = run_stream(&target, (unsigned long)number[0]);
        break;
    case HOLD:
        rc = run_hold(&target, (unsigned long)number[0]);
        break;
    case CHURN:
        rc = run_churn(&target, (unsigned long)number[0]);
        break;
    case MIDMESSAGE:
    default:
        rc = run_midmessage(&target, (unsigned long)number[0], number[1]);
        break;
    }
    fflush(stdout);
    if (rc == STUCK) {
        /* Threads still use the sockets and the memory: no WSACleanup, no
           freeing; the process's exit ends them. */
        return OVS_EXIT_FAILURE;
    }
    freeaddrinfo(target.addresses);
    ovs_winsock_stop();
    return rc;
}
