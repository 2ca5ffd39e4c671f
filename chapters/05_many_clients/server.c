/*
 * Chapter 5 - many clients on one thread: the echo server.
 *
 * Shows: one thread serving any number of clients with completion routines.
 * Every byte a client sends comes back to it, in order (an echo server, no
 * framing), so any echo client can drive it. The thread's one wait is an
 * alertable WSAWaitForMultipleEvents on two events, "stop" and the
 * listener's FD_ACCEPT. The completion routines run inside that wait (and,
 * once the server stops, in the stop's alertable SleepEx) and chain each
 * connection's work: receive, send, receive again. Once it serves clients,
 * no call in this program waits for the network.
 *
 * Usage: ch05_server [options] <port> [address]
 *   port             0 lets the system choose; printed as "listening on ..."
 *   address          where to listen (default 127.0.0.1; ::1 for IPv6)
 *   --max-clients N  serve at most N connections at once; more wait in the
 *                    listen backlog until one leaves (default 1000)
 *   --buffer N       bytes in each of a connection's two buffers
 *                    (default 64K; from 16K to 1M)
 *   --quiet          no line per connection (for the benchmark)
 *   --trace          a line for every completion routine (to watch
 *                    connections take turns on the one thread)
 * For the tests only:
 *   --fail-alloc N   act as if memory ran out for the Nth connection's
 *                    context
 *   --fail-alloc-buffers N  ... or for its buffers
 *   --fail-accept N  the first N accept calls fail as if the system had no
 *                    buffer space (WSAENOBUFS), without taking a connection
 *   --guard-contexts every context and buffer on pages of its own
 *                    (VirtualAlloc), filled with 0xDD and released when
 *                    freed: a late use faults at once instead of reading
 *                    stale memory
 * Stop it with Ctrl+C, Ctrl+Break or a line on its standard input. It stops
 * accepting, closes every connection, waits until every operation has
 * completed, prints a summary and exits 0 (1 if anything leaked).
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch05_server [--max-clients N] [--buffer N] [--quiet] [--trace] <port> [address] "
    "(for the tests: [--fail-alloc N] [--fail-alloc-buffers N] [--fail-accept N] "
    "[--guard-contexts])";

/* How long the stop waits for the last operations to complete. */
#define STOP_TIMEOUT_MS 10000u
/* At most this many failed accepts of clients that gave up before the
   next wait, so that routines get their turn in a flood of them. */
#define ACCEPT_FAILURES_PER_ROUND 64
/* After an accept failure that is not the client's (no descriptors, no
   buffer space, ...), no accept for this long (see accept_all). */
#define ACCEPT_PAUSE_MS 1000u
/* The safety net for a lost FD_ACCEPT (see the main loop): an accept round
   at least this often, whatever the event says. */
#define ACCEPT_SAFETY_MS 500u

struct server;

// [connection]
/* One client. It lives on the heap until no operation of it is
   outstanding: the system writes into the buffers and the WSAOVERLAPPEDs
   until the routine of each operation has run. One WSAOVERLAPPED per
   operation that can be in flight at the same time: a receive and a send. */
struct connection {
    WSAOVERLAPPED recv_ov;
    WSAOVERLAPPED send_ov;
    struct server *server;
    struct connection *prev, *next; /* the list of live connections */
    SOCKET s;
    unsigned long id;
    int recv_outstanding, send_outstanding;
    int recv_buffer;             /* the buffer the receive fills */
    int send_buffer;             /* the buffer being sent ... */
    DWORD send_length, send_done; /* ... its length, and how much went */
    DWORD waiting;               /* bytes received while a send was busy */
    int end_of_stream;           /* the client shut down its sending side */
    int closed;                  /* the socket is closed; free when idle */
    unsigned long long echoed;
    char *buffer[2];
};
// [connection]

struct server {
    SOCKET listener;
    WSAEVENT accept_event;
    struct connection *first;
    DWORD buffer_size;
    unsigned long max_clients, served, next_id;
    unsigned long alive;        /* contexts, closed ones included until freed */
    unsigned long open;         /* connections not yet closed */
    unsigned long late_accepts; /* connections found by the safety net */
    unsigned long ends_during_echo; /* ends of stream while a send was out */
    ULONGLONG last_accept_round; /* GetTickCount64() of the last accept_all */
    ULONGLONG accept_paused_until; /* 0, or no accept before this tick */
    unsigned long long echoed;
    int at_limit, stopping, quiet, trace;
    /* For the tests (see the header). */
    unsigned long fail_alloc_at, fail_buffers_at, fail_accepts;
    int guard;
};

static void CALLBACK receive_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                       DWORD flags);
static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags);

/* Closes the socket once. Closing aborts the operations still in flight;
   their routines run all the same (with an error), and only when both have
   run may the connection be freed (release_if_idle). */
static void close_connection(struct connection *c, const char *why)
{
    if (c->closed)
        return;
    c->closed = 1;
    closesocket(c->s);
    c->server->open--;
    if (!c->server->quiet)
        printf("connection %lu closed: %llu bytes echoed (%s), %lu open\n", c->id, c->echoed, why,
               c->server->open);
}

/* A context or a connection's buffers, zeroed. With --guard-contexts on
   pages of their own, from the top of the address space. */
static void *allocate(const struct server *sv, size_t size)
{
    if (sv->guard)
        return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    return calloc(1, size);
}

/* With --guard-contexts the memory is poisoned, then given back to the
   system: a routine that still used it would fault at once. */
static void release(const struct server *sv, void *memory, size_t size)
{
    if (sv->guard) {
        memset(memory, 0xDD, size);
        VirtualFree(memory, 0, MEM_RELEASE);
    } else {
        free(memory);
    }
}

/* A failure that ends one connection: reported like every failure (call,
   code, text), then that connection alone is closed. */
static void fail_connection(struct connection *c, const char *call, int error)
{
    char why[64];
    ovs_report_error(call, error);
    snprintf(why, sizeof why, "%s failed: %d", call, error);
    close_connection(c, why);
}

// [release]
/* Frees the connection if it is closed and no operation of it is
   outstanding. Called last in each routine: nothing may touch c after. */
static void release_if_idle(struct connection *c)
{
    struct server *sv = c->server;
    if (!c->closed || c->recv_outstanding || c->send_outstanding)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        sv->first = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    sv->echoed += c->echoed;
    sv->alive--;
    release(sv, c->buffer[0], 2 * (size_t)sv->buffer_size);
    release(sv, c, sizeof *c);
}
// [release]

// [post_receive]
/* Receives into buffer `index`, always offering the whole buffer: the
   length of the last message is no limit for the next one. */
static int post_receive(struct connection *c, int index)
{
    WSABUF buffer;
    DWORD flags = 0; /* in/out: set before every call */
    buffer.buf = c->buffer[index];
    buffer.len = c->server->buffer_size;
    memset(&c->recv_ov, 0, sizeof c->recv_ov);
    c->recv_ov.hEvent = (WSAEVENT)c; /* ignored by the system: ours */
    if (WSARecv(c->s, &buffer, 1, NULL, &flags, &c->recv_ov, receive_completed) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        /* It never started, so no routine will run for it. */
        fail_connection(c, "WSARecv", WSAGetLastError());
        return -1;
    }
    c->recv_buffer = index;
    c->recv_outstanding = 1;
    return 0;
}
// [post_receive]

/* Sends what is left of the send buffer. */
static int post_send(struct connection *c)
{
    WSABUF buffer;
    buffer.buf = c->buffer[c->send_buffer] + c->send_done;
    buffer.len = c->send_length - c->send_done;
    memset(&c->send_ov, 0, sizeof c->send_ov);
    c->send_ov.hEvent = (WSAEVENT)c;
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send_ov, send_completed) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        fail_connection(c, "WSASend", WSAGetLastError());
        return -1;
    }
    c->send_outstanding = 1;
    return 0;
}

/* Echoes `length` bytes of buffer `index`, and, unless the client has
   finished sending, receives into the other buffer meanwhile. */
static void echo(struct connection *c, int index, DWORD length)
{
    c->send_buffer = index;
    c->send_length = length;
    c->send_done = 0;
    if (post_send(c) == 0 && !c->end_of_stream)
        (void)post_receive(c, 1 - index);
}

/* The client has shut down its side and every byte it sent went back:
   shut down ours (it then reads the end of stream) and close. */
static void finish(struct connection *c)
{
    if (shutdown(c->s, SD_SEND) == SOCKET_ERROR)
        ovs_report_wsa_error("shutdown");
    close_connection(c, "end of stream, everything echoed");
}

/* --trace: a line for every routine run, to watch connections take turns. */
static void trace_receive(const struct connection *c, DWORD bytes, DWORD error)
{
    if (!c->server->trace)
        return;
    printf("connection %lu: receive routine: %lu bytes, error %lu%s\n", c->id,
           (unsigned long)bytes, (unsigned long)error,
           c->closed || error != 0 ? ""
           : bytes == 0            ? " (end of stream)"
           : c->send_outstanding   ? " (held: the other buffer is still being sent)"
                                   : " (echoing them)");
}

static void trace_send(const struct connection *c, DWORD bytes, DWORD error)
{
    if (c->server->trace)
        printf("connection %lu: send routine: %lu bytes went, error %lu\n", c->id,
               (unsigned long)bytes, (unsigned long)error);
}

// [receive_completed]
static void CALLBACK receive_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                       DWORD flags)
{
    struct connection *c = (struct connection *)overlapped->hEvent;
    (void)flags;
    c->recv_outstanding = 0;
    trace_receive(c, bytes, error);
    if (c->closed) {
        /* Aborted by our own close: nothing more to do than let go. */
    } else if (error != 0) {
        fail_connection(c, "WSARecv (its routine)", (int)error);
    } else if (bytes == 0) {
        c->end_of_stream = 1;
        if (!c->send_outstanding && c->waiting == 0)
            finish(c);
        else
            c->server->ends_during_echo++; /* send_completed finishes */
    } else if (!c->send_outstanding) {
        echo(c, c->recv_buffer, bytes);
    } else {
        /* The other buffer is still being sent. Keep these bytes and post
           no receive until it is done: a client that sends faster than it
           reads is slowed down by TCP, not by our memory. */
        c->waiting = bytes;
    }
    release_if_idle(c);
}
// [receive_completed]

// [send_completed]
static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags)
{
    struct connection *c = (struct connection *)overlapped->hEvent;
    (void)flags;
    c->send_outstanding = 0;
    trace_send(c, bytes, error);
    if (c->closed) {
        /* Aborted by our own close. */
    } else if (error != 0) {
        fail_connection(c, "WSASend (its routine)", (int)error);
    } else if (bytes == 0 || bytes > c->send_length - c->send_done) {
        /* A completed overlapped send took all it was given; anything else
           cannot be right (a defensive check). */
        close_connection(c, "WSASend reported an impossible count");
    } else {
        c->send_done += bytes;
        c->echoed += bytes;
        if (c->send_done < c->send_length) {
            (void)post_send(c); /* defensive: send the rest */
        } else if (c->waiting > 0) {
            /* The bytes that arrived meanwhile go out now; the buffer that
               was just sent takes the next receive. */
            DWORD waiting = c->waiting;
            c->waiting = 0;
            echo(c, c->recv_buffer, waiting);
        } else if (c->end_of_stream) {
            finish(c);
        }
        /* Otherwise a receive is already posted into the other buffer. */
    }
    release_if_idle(c);
}
// [send_completed]

/* Out of memory for one connection: that client is refused, everyone
   else goes on. `simulated`: --fail-alloc or --fail-alloc-buffers. */
static void refuse(const struct server *sv, SOCKET s, unsigned long id, const char *what,
                   int simulated)
{
    /* VirtualAlloc sets GetLastError; calloc and a test's failure do not. */
    ovs_report_error(sv->guard ? "VirtualAlloc" : "calloc",
                     sv->guard && !simulated ? (int)GetLastError() : ERROR_NOT_ENOUGH_MEMORY);
    printf("connection %lu refused: no memory for its %s\n", id, what);
    closesocket(s);
}

/* A new connection: its context, and its first receive. */
static void start_connection(struct server *sv, SOCKET s, const struct sockaddr *peer)
{
    char text[OVS_ADDRESS_TEXT_MAX];
    struct connection *c = NULL;
    char *buffers = NULL;
    unsigned long id = ++sv->next_id;

    /* An accepted socket inherits the listener's WSAEventSelect: undo it,
       FD_ACCEPT belongs to the listener alone. */
    if (WSAEventSelect(s, NULL, 0) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAEventSelect");
        closesocket(s);
        return;
    }
    if (id != sv->fail_alloc_at)
        c = (struct connection *)allocate(sv, sizeof *c);
    if (c == NULL) {
        refuse(sv, s, id, "context", id == sv->fail_alloc_at);
        return;
    }
    if (id != sv->fail_buffers_at)
        buffers = (char *)allocate(sv, 2 * (size_t)sv->buffer_size);
    if (buffers == NULL) {
        refuse(sv, s, id, "buffers", id == sv->fail_buffers_at);
        release(sv, c, sizeof *c);
        return;
    }
    c->buffer[0] = buffers;
    c->buffer[1] = buffers + sv->buffer_size;
    c->server = sv;
    c->s = s;
    c->id = id;
    c->next = sv->first;
    if (sv->first != NULL)
        sv->first->prev = c;
    sv->first = c;
    sv->alive++;
    sv->open++;
    sv->served++;
    if (!sv->quiet) {
        ovs_format_address(peer, text, sizeof text);
        printf("connection %lu from %s (%lu open)\n", id, text, sv->alive);
    }
    (void)post_receive(c, 0);
    release_if_idle(c); /* frees it at once if the receive failed */
}

/* Whether a failed accept was the client's doing: it reset the
   connection while it waited in the backlog ("An incoming connection was
   indicated, but was subsequently terminated by the remote peer prior to
   accepting the call", accept). Wine 8 says WSAENOTCONN then (measured). */
static int client_gave_up(int error)
{
    return error == WSAECONNRESET || error == WSAENOTCONN;
}

// [accept_all]
/* Accepts every connection that is waiting, up to --max-clients. The
   listener is non-blocking (WSAEventSelect made it so): accept returns at
   once, with WSAEWOULDBLOCK when nobody is left. `signalled`: called for
   FD_ACCEPT or a free slot, not by the safety net. */
static void accept_all(struct server *sv, int signalled)
{
    int failures = 0;
    if (sv->accept_paused_until != 0)
        return; /* the main loop ends the pause */
    if (sv->at_limit && sv->alive < sv->max_clients && signalled)
        printf("below the limit again: accepting\n");
    sv->last_accept_round = GetTickCount64();
    while (!sv->stopping && sv->alive < sv->max_clients && failures < ACCEPT_FAILURES_PER_ROUND) {
        struct sockaddr_storage peer;
        int peer_length = (int)sizeof peer, error = WSAENOBUFS;
        SOCKET s = INVALID_SOCKET;
        if (sv->fail_accepts > 0)
            sv->fail_accepts--; /* --fail-accept: accept is not called */
        else if ((s = accept(sv->listener, (struct sockaddr *)&peer, &peer_length)) ==
                 INVALID_SOCKET)
            error = WSAGetLastError();
        if (s == INVALID_SOCKET) {
            if (error == WSAEWOULDBLOCK)
                break;
            ovs_report_error("accept", error);
            if (client_gave_up(error)) {
                failures++; /* its problem, not the server's: go on */
                continue;
            }
            /* Ours (no descriptors, no buffer space, ...): calling again
               would fail again, and on Windows every failed call sets
               FD_ACCEPT again while a client waits. Pause instead. */
            sv->accept_paused_until = GetTickCount64() + ACCEPT_PAUSE_MS;
            printf("accepting paused for %lu ms\n", (unsigned long)ACCEPT_PAUSE_MS);
            break;
        }
        if (!signalled)
            sv->late_accepts++;
        start_connection(sv, s, (const struct sockaddr *)&peer);
    }
    if (sv->alive >= sv->max_clients && !sv->at_limit && !sv->stopping) {
        /* Not calling accept leaves the next clients in the backlog, and no
           FD_ACCEPT comes until accept is called again: a connection that
           leaves makes the main loop call accept_all. */
        printf("at the limit of %lu connections: new ones wait in the backlog\n",
               sv->max_clients);
    }
    sv->at_limit = sv->alive >= sv->max_clients;
    fflush(stdout);
}
// [accept_all]

// [stop]
/* Stops accepting, closes every connection, and waits (alertably, so the
   aborted operations' routines can run) until every context is freed. */
static int stop(struct server *sv)
{
    struct connection *c, *next;
    ULONGLONG deadline = GetTickCount64() + STOP_TIMEOUT_MS;
    unsigned long receives = 0, sends = 0;

    sv->stopping = 1;
    /* No more FD_ACCEPT: new clients wait in the backlog, and are reset
       when the listener is closed at the very end. */
    if (WSAEventSelect(sv->listener, sv->accept_event, 0) == SOCKET_ERROR)
        ovs_report_wsa_error("WSAEventSelect");
    for (c = sv->first; c != NULL; c = c->next) {
        receives += (unsigned long)c->recv_outstanding;
        sends += (unsigned long)c->send_outstanding;
    }
    printf("stopping: closing %lu connections (%lu receives and %lu sends in flight)\n", sv->open,
           receives, sends);
    fflush(stdout);
    for (c = sv->first; c != NULL; c = next) {
        next = c->next;
        close_connection(c, "server stopping");
        release_if_idle(c);
    }
    while (sv->alive > 0 && GetTickCount64() < deadline)
        SleepEx(100, TRUE);
    return sv->alive == 0 ? 0 : -1;
}
// [stop]

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, "127.0.0.1"};
    static unsigned long long max_clients = 1000, buffer_size = 64 * 1024, fail_alloc = 0,
                              fail_buffers = 0, fail_accepts = 0;
    static int quiet = 0, trace = 0, guard = 0; /* static: see chapter 1's client */
    const struct ovs_option options[] = {
        {"--max-clients", OVS_OPTION_NUMBER, &max_clients, 1, 100000},
        {"--buffer", OVS_OPTION_NUMBER, &buffer_size, 16 * 1024, 1024 * 1024},
        {"--quiet", OVS_OPTION_FLAG, &quiet, 0, 0},
        {"--trace", OVS_OPTION_FLAG, &trace, 0, 0},
        {"--fail-alloc", OVS_OPTION_NUMBER, &fail_alloc, 1, 1000000},
        {"--fail-alloc-buffers", OVS_OPTION_NUMBER, &fail_buffers, 1, 1000000},
        {"--fail-accept", OVS_OPTION_NUMBER, &fail_accepts, 1, 1000},
        {"--guard-contexts", OVS_OPTION_FLAG, &guard, 0, 0},
    };
    struct server sv;
    HANDLE stop_event, events[2];
    unsigned long handles_at_start, handles_at_end;
    int rc, status = OVS_EXIT_OK, reader_ended = 1;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 1, 2);
    if (rc != 0)
        return rc;
    memset(&sv, 0, sizeof sv);
    sv.accept_event = WSA_INVALID_EVENT;
    sv.max_clients = (unsigned long)max_clients;
    sv.buffer_size = (DWORD)buffer_size;
    sv.fail_alloc_at = (unsigned long)fail_alloc;
    sv.fail_buffers_at = (unsigned long)fail_buffers;
    sv.fail_accepts = (unsigned long)fail_accepts;
    sv.guard = guard;
    sv.quiet = quiet;
    sv.trace = trace;
    rc = ovs_start_server(usage, args[0], args[1], ovs_overlapped_socket, &sv.listener);
    if (rc != 0)
        return rc;

    // [set_up]
    /* Counted before anything below exists, and again after it is all gone. */
    handles_at_start = ovs_count_handles();
    /* Two events: "stop" (Ctrl+C, Ctrl+Break or a line on stdin: see
       common/ovs_stop.c) and the listener's FD_ACCEPT. WSAEventSelect also
       makes the listener non-blocking, so accept never waits. */
    stop_event = ovs_stop_request_start();
    if (stop_event == NULL) {
        status = OVS_EXIT_FAILURE;
    } else if ((sv.accept_event = WSACreateEvent()) == WSA_INVALID_EVENT) {
        ovs_report_wsa_error("WSACreateEvent");
        status = OVS_EXIT_FAILURE;
    } else if (WSAEventSelect(sv.listener, sv.accept_event, FD_ACCEPT) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAEventSelect");
        status = OVS_EXIT_FAILURE;
    }
    // [set_up]
    if (status == OVS_EXIT_OK) {
        printf("echoing on one thread; stop with Ctrl+C or a line on stdin\n");
        fflush(stdout);
    }

    // [main_loop]
    events[0] = stop_event;
    events[1] = sv.accept_event;
    while (status == OVS_EXIT_OK) {
        /* The one wait of this thread. Alertable: completion routines run
           inside it, and it then returns WSA_WAIT_IO_COMPLETION. */
        DWORD w = WSAWaitForMultipleEvents(2, events, FALSE, ACCEPT_SAFETY_MS, TRUE);
        fflush(stdout); /* what the routines printed, for whoever reads a pipe */
        if (w == WSA_WAIT_EVENT_0) {
            break; /* stop */
        } else if (w == WSA_WAIT_EVENT_0 + 1) {
            WSANETWORKEVENTS happened;
            /* Reads and clears what happened, and resets the event. */
            if (WSAEnumNetworkEvents(sv.listener, sv.accept_event, &happened) == SOCKET_ERROR) {
                ovs_report_wsa_error("WSAEnumNetworkEvents");
                status = OVS_EXIT_FAILURE;
            } else if ((happened.lNetworkEvents & FD_ACCEPT) &&
                       happened.iErrorCode[FD_ACCEPT_BIT] != 0) {
                ovs_report_error("FD_ACCEPT", happened.iErrorCode[FD_ACCEPT_BIT]);
            }
            accept_all(&sv, 1);
        } else if (w == WSA_WAIT_FAILED) {
            ovs_report_wsa_error("WSAWaitForMultipleEvents");
            status = OVS_EXIT_FAILURE;
        } else if (sv.accept_paused_until != 0) {
            /* No FD_ACCEPT comes while accept is not called: resume here. */
            if (GetTickCount64() >= sv.accept_paused_until) {
                sv.accept_paused_until = 0;
                accept_all(&sv, 1);
            }
        } else if (sv.at_limit && sv.alive < sv.max_clients) {
            /* A connection left while we were at --max-clients: FD_ACCEPT
               comes again only after accept is called, so call it. */
            accept_all(&sv, 1);
        } else if (GetTickCount64() - sv.last_accept_round >= ACCEPT_SAFETY_MS) {
            /* The safety net, a poll every half second. Wine 8 re-enables
               FD_ACCEPT only after an accept that succeeds (Windows after
               any accept call), so one stale notification, consumed by an
               accept that found nobody, silences it for good. By Windows'
               rule this round should find nobody there (not measured). */
            accept_all(&sv, 0);
        }
    }
    // [main_loop]

    if (stop(&sv) != 0) {
        /* Operations still own their buffers: free nothing, and skip
           WSACleanup, which would cancel them behind our back. */
        fprintf(stderr, "%lu connections still had operations outstanding after %lu ms\n",
                sv.alive, (unsigned long)STOP_TIMEOUT_MS);
        return OVS_EXIT_FAILURE;
    }
    printf("ends of stream during an echo: %lu\n", sv.ends_during_echo);
    // [leak_check]
    if (sv.accept_event != WSA_INVALID_EVENT)
        WSACloseEvent(sv.accept_event);
    sv.accept_event = WSA_INVALID_EVENT;
    reader_ended = stop_event == NULL || ovs_stop_request_end();
    handles_at_end = ovs_count_handles();
    printf("stopped: %lu connections served, %llu bytes echoed, %lu contexts alive, "
           "handles: %lu at start, %lu at end%s, %lu connections found without FD_ACCEPT\n",
           sv.served, sv.echoed, sv.alive, handles_at_start, handles_at_end,
           reader_ended ? "" : " (not compared: the stdin reader still waits for input)",
           sv.late_accepts);
    if (reader_ended && handles_at_end != handles_at_start) {
        fprintf(stderr, "handle leak: %lu at start, %lu at end\n", handles_at_start,
                handles_at_end);
        status = OVS_EXIT_FAILURE;
    }
    // [leak_check]
    fflush(stdout);
    closesocket(sv.listener);
    ovs_winsock_stop();
    return status;
}
