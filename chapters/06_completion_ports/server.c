/*
 * Chapter 6 - I/O completion ports: the echo server.
 *
 * Shows: the same echo server as chapter 5, on a completion port. Every
 * socket is associated with one port; every operation's completion arrives
 * there as a packet; worker threads take the packets with
 * GetQueuedCompletionStatus, on whichever thread is free. So the completions
 * of one connection can run on two threads at once, and a connection's
 * memory may be freed only when the last of them is done: a reference count
 * says when.
 *
 * Usage: ch06_server [options] <port> [address]
 *   port             0 lets the system choose; printed as "listening on ..."
 *   address          where to listen (default 127.0.0.1; ::1 for IPv6)
 *   --threads N      worker threads (default: one per processor, printed)
 *   --max-clients N  serve at most N connections at once; more wait in the
 *                    listen backlog until one leaves (default 1000)
 *   --buffer N       bytes in each of a connection's two buffers
 *                    (default 64K; from 16K to 1M)
 *   --quiet          no line per connection (for the benchmark)
 *   --trace          a line for every completion packet, with its thread
 *   --guard-contexts for the tests: every connection gets pages of its own
 *                    at the top of the address space (above 4 GiB, where a
 *                    key cut to 32 bits points nowhere), poisoned and
 *                    released when freed, so that a late use faults
 * Stop it with Ctrl+C, Ctrl+Break or a line on its standard input. It closes
 * the listener and every connection, waits until every operation has
 * completed, stops the workers with one packet each, and prints a summary.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: ch06_server [--threads N] [--max-clients N] [--buffer N] "
                            "[--quiet] [--trace] [--guard-contexts] <port> [address]";

/* How long the stop waits for the last operations, and for the workers. */
#define STOP_TIMEOUT_MS 10000u
/* The accepting thread looks at the stop event at least this often. */
#define ACCEPT_POLL_MS 250
/* After an accept failure that is not the client's: the pause before the
   next try. */
#define ACCEPT_RETRY_MS 1000
/* The key of the packets that stop the workers: no connection lives at 0. */
#define STOP_KEY ((ULONG_PTR)0)
#define MAX_THREADS 64

struct connection;

// [operation]
/* One outstanding I/O. The OVERLAPPED comes first, but the code never relies
   on that: CONTAINING_RECORD finds the operation from the OVERLAPPED pointer
   that GetQueuedCompletionStatus hands back. */
enum op_kind { OP_RECEIVE, OP_SEND };
struct operation {
    OVERLAPPED overlapped;
    enum op_kind kind;
};
// [operation]

// [connection]
struct connection {
    struct operation receive, send; /* at most one of each in flight */
    /* One reference for each outstanding operation, plus the owner's (held
       from the accept until the connection is closed). Freed at zero. */
    volatile LONG references;
    CRITICAL_SECTION lock; /* the two completions may run on two workers */
    struct server *server;
    struct connection *prev, *next; /* the server's list (its lock) */
    SOCKET s;
    unsigned long id;
    /* Under the lock: the same two-buffer echo as chapter 5. */
    int recv_buffer, send_buffer;
    DWORD send_length, send_done, waiting;
    int end_of_stream, closed;
    unsigned long long echoed;
    int receiving, sending; /* an operation of that kind is in flight */
    char *buffer[2];
};
// [connection]

struct server {
    HANDLE port;
    SOCKET listener;
    HANDLE stop_event, all_gone; /* all_gone: set when the last context is freed */
    CRITICAL_SECTION lock;       /* the list and the counters below */
    struct connection *first;
    unsigned long alive, open, served, next_id, max_clients;
    unsigned long long echoed;
    volatile LONG ends_during_echo; /* ends of stream while an echo was going out */
    DWORD buffer_size;
    int stopping, quiet, trace, guard_contexts, at_limit;
};

static void release(struct connection *c);

static void report_close(struct connection *c, const char *why)
{
    struct server *sv = c->server;
    unsigned long open;
    EnterCriticalSection(&sv->lock);
    open = --sv->open;
    LeaveCriticalSection(&sv->lock);
    if (!sv->quiet) {
        printf("connection %lu closed: %llu bytes echoed (%s), %lu open\n", c->id, c->echoed, why,
               open);
        fflush(stdout);
    }
}

/* A connection and its two buffers, in one block. With --guard-contexts the
   block gets pages of its own from the top of the address space
   (VirtualAlloc, MEM_TOP_DOWN), above 4 GiB in a 64-bit process: a key
   truncated to a DWORD would then point nowhere (the malloc heap sits lower,
   where truncation can go unnoticed), and a use after the free faults. */
static struct connection *new_connection(struct server *sv)
{
    size_t size = sizeof(struct connection) + 2 * (size_t)sv->buffer_size;
    struct connection *c;
    if (sv->guard_contexts)
        c = (struct connection *)VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                                              PAGE_READWRITE);
    else
        c = (struct connection *)calloc(1, size);
    if (c == NULL)
        return NULL;
    c->buffer[0] = (char *)(c + 1);
    c->buffer[1] = c->buffer[0] + sv->buffer_size;
    return c;
}

static void free_connection(struct connection *c)
{
    int guard = c->server->guard_contexts;
    /* Poisoned first: a packet that still used it would find garbage instead
       of quietly reading the old values; with --guard-contexts the pages are
       gone as well, and any use faults. */
    memset(c, 0xDD, sizeof *c);
    if (guard)
        VirtualFree(c, 0, MEM_RELEASE);
    else
        free(c);
}

// [close]
/* Under c->lock. Closing the socket aborts whatever is in flight; those
   operations still complete, with an error, on the port. The owner's
   reference goes when the lock is left (see the callers). */
static int close_connection(struct connection *c, const char *why)
{
    if (c->closed)
        return 0;
    c->closed = 1;
    closesocket(c->s);
    report_close(c, why);
    return 1; /* the caller releases the owner's reference */
}
// [close]

/* Under c->lock: a failure that ends this connection alone. */
static int fail_connection(struct connection *c, const char *call, int error)
{
    char why[64];
    ovs_report_error(call, error);
    snprintf(why, sizeof why, "%s failed: %d", call, error);
    return close_connection(c, why);
}

// [post_receive]
/* Under c->lock. Takes a reference for the operation before it is posted:
   its packet may be dequeued by another worker before WSARecv even returns
   (c->lock, held here, keeps it from being handled until we leave). */
static int post_receive(struct connection *c, int index)
{
    WSABUF buffer;
    DWORD flags = 0; /* in/out: set before every call */
    buffer.buf = c->buffer[index];
    buffer.len = c->server->buffer_size;
    c->recv_buffer = index;
    memset(&c->receive.overlapped, 0, sizeof c->receive.overlapped);
    InterlockedIncrement(&c->references);
    c->receiving = 1;
    /* Done at once or pending, the result comes as a packet either way:
       nothing is handled here. */
    if (WSARecv(c->s, &buffer, 1, NULL, &flags, &c->receive.overlapped, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        int error = WSAGetLastError();
        InterlockedDecrement(&c->references); /* no packet will come */
        c->receiving = 0;
        return fail_connection(c, "WSARecv", error);
    }
    return 0;
}
// [post_receive]

/* Under c->lock: sends what is left of the send buffer. */
static int post_send(struct connection *c)
{
    WSABUF buffer;
    buffer.buf = c->buffer[c->send_buffer] + c->send_done;
    buffer.len = c->send_length - c->send_done;
    memset(&c->send.overlapped, 0, sizeof c->send.overlapped);
    InterlockedIncrement(&c->references);
    c->sending = 1;
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send.overlapped, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        int error = WSAGetLastError();
        InterlockedDecrement(&c->references);
        c->sending = 0;
        return fail_connection(c, "WSASend", error);
    }
    return 0;
}

/* Under c->lock: echo `length` bytes of buffer `index`, and receive into
   the other buffer meanwhile. Returns 1 when the connection was closed. */
static int echo(struct connection *c, int index, DWORD length)
{
    c->send_buffer = index;
    c->send_length = length;
    c->send_done = 0;
    if (post_send(c))
        return 1;
    return c->end_of_stream ? 0 : post_receive(c, 1 - index);
}

/* Under c->lock: the client finished and every byte went back. */
static int finish(struct connection *c)
{
    if (shutdown(c->s, SD_SEND) == SOCKET_ERROR)
        ovs_report_wsa_error("shutdown");
    return close_connection(c, "end of stream, everything echoed");
}

// [completed]
/* One completion packet of connection c, on some worker. `error` is 0 for
   a successful operation. Returns 1 when the owner's reference must go. */
static int completed(struct connection *c, struct operation *op, DWORD bytes, DWORD error)
{
    if (c->closed)
        return 0; /* aborted by our own close: nothing to do */
    if (error != 0)
        return fail_connection(c, op->kind == OP_RECEIVE ? "WSARecv (its packet)"
                                                         : "WSASend (its packet)", (int)error);
    if (op->kind == OP_RECEIVE) {
        if (bytes == 0) {
            c->end_of_stream = 1;
            if (c->send_length == c->send_done && c->waiting == 0)
                return finish(c);
            /* The echo is still going out: the send's packet finishes. */
            InterlockedIncrement(&c->server->ends_during_echo);
            return 0;
        }
        if (c->send_length == c->send_done)
            return echo(c, c->recv_buffer, bytes);
        c->waiting = bytes; /* the other buffer is still going out: hold */
        return 0;
    }
    if (bytes == 0 || bytes > c->send_length - c->send_done)
        return close_connection(c, "WSASend reported an impossible count");
    c->send_done += bytes;
    c->echoed += bytes;
    if (c->send_done < c->send_length)
        return post_send(c); /* defensive: an overlapped send takes it all */
    if (c->waiting > 0) {
        DWORD waiting = c->waiting;
        c->waiting = 0;
        return echo(c, c->recv_buffer, waiting);
    }
    return c->end_of_stream ? finish(c) : 0;
}
// [completed]

// [release]
/* Drops one reference; the last one frees the connection. Never called with
   c->lock held: the lock is part of what is freed. */
static void release(struct connection *c)
{
    struct server *sv = c->server;
    if (InterlockedDecrement(&c->references) != 0)
        return;
    EnterCriticalSection(&sv->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        sv->first = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    sv->echoed += c->echoed;
    if (--sv->alive == 0 && sv->stopping)
        SetEvent(sv->all_gone);
    LeaveCriticalSection(&sv->lock);
    DeleteCriticalSection(&c->lock);
    free_connection(c);
}
// [release]

// [worker]
static DWORD WINAPI worker(LPVOID arg)
{
    struct server *sv = (struct server *)arg;
    for (;;) {
        DWORD bytes = 0, error = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *overlapped = NULL;
        BOOL ok = GetQueuedCompletionStatus(sv->port, &bytes, &key, &overlapped, INFINITE);
        struct connection *c;
        struct operation *op;
        int drop_owner;

        if (!ok && overlapped == NULL) {
            /* No packet at all: the port itself failed (or, with a time-out,
               the time ran out). Nothing to complete; this worker ends. */
            ovs_report_error("GetQueuedCompletionStatus", (int)GetLastError());
            return 1;
        }
        if (overlapped == NULL) {
            /* A packet we posted ourselves with PostQueuedCompletionStatus:
               the stop packet (key 0). Each worker takes exactly one. */
            if (key == STOP_KEY)
                return 0;
            continue;
        }
        /* A packet for an operation: TRUE if it succeeded, FALSE if it
           failed (the reason is in GetLastError). The key is the
           connection, the OVERLAPPED leads to the operation. */
        if (!ok)
            error = GetLastError();
        c = (struct connection *)key;
        op = CONTAINING_RECORD(overlapped, struct operation, overlapped);
        EnterCriticalSection(&c->lock);
        if (op->kind == OP_RECEIVE)
            c->receiving = 0;
        else
            c->sending = 0;
        if (!ok && !c->closed) {
            /* GetLastError gave the system's code (64 for a reset);
               WSAGetOverlappedResult gives the Winsock one (10054). */
            DWORD ignored_bytes, ignored_flags;
            if (!WSAGetOverlappedResult(c->s, overlapped, &ignored_bytes, FALSE, &ignored_flags))
                error = (DWORD)WSAGetLastError();
        }
        if (sv->trace)
            printf("thread %lu: connection %lu: %s packet: %lu bytes, error %lu\n",
                   (unsigned long)GetCurrentThreadId(), c->id,
                   op->kind == OP_RECEIVE ? "receive" : "send", (unsigned long)bytes,
                   (unsigned long)error);
        if (sv->trace)
            fflush(stdout);
        drop_owner = completed(c, op, bytes, error);
        LeaveCriticalSection(&c->lock);
        if (drop_owner)
            release(c);
        release(c); /* this operation's reference */
    }
}
// [worker]

/* A new connection: its context, its place on the port, its first receive. */
static void start_connection(struct server *sv, SOCKET s, const struct sockaddr *peer)
{
    char text[OVS_ADDRESS_TEXT_MAX];
    struct connection *c = new_connection(sv);
    int drop_owner;

    if (c == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        closesocket(s);
        return;
    }
    c->receive.kind = OP_RECEIVE;
    c->send.kind = OP_SEND;
    c->references = 1; /* the owner's */
    InitializeCriticalSection(&c->lock);
    c->server = sv;
    c->s = s;
    // [associate]
    /* The key that comes back with every packet of this socket is the
       connection's address: a ULONG_PTR, as wide as a pointer. */
    if (CreateIoCompletionPort((HANDLE)s, sv->port, (ULONG_PTR)c, 0) == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        DeleteCriticalSection(&c->lock);
        free_connection(c);
        closesocket(s);
        return;
    }
    // [associate]
    EnterCriticalSection(&sv->lock);
    c->id = ++sv->next_id;
    c->next = sv->first;
    if (sv->first != NULL)
        sv->first->prev = c;
    sv->first = c;
    sv->alive++;
    sv->open++;
    sv->served++;
    LeaveCriticalSection(&sv->lock);
    if (!sv->quiet) {
        ovs_format_address(peer, text, sizeof text);
        printf("connection %lu from %s%s\n", c->id, text,
               ((unsigned long long)(ULONG_PTR)c >> 32) != 0 ? " (context above 4 GiB)" : "");
        fflush(stdout);
    }
    EnterCriticalSection(&c->lock);
    drop_owner = post_receive(c, 0);
    LeaveCriticalSection(&c->lock);
    if (drop_owner)
        release(c);
}

// [accept_loop]
/* The main thread accepts, as in chapter 5 one at a time, and gives every
   socket to the port. WSAPoll returns as soon as a connection waits; its
   time limit only makes the thread look at the stop event now and then.
   The listener is non-blocking, so an accept whose client vanished in the
   meantime returns WSAEWOULDBLOCK instead of waiting for the next one. */
static void accept_until_stopped(struct server *sv)
{
    while (WaitForSingleObject(sv->stop_event, 0) == WAIT_TIMEOUT) {
        WSAPOLLFD waiting;
        struct sockaddr_storage peer;
        int peer_length = (int)sizeof peer, rc;
        SOCKET s;

        EnterCriticalSection(&sv->lock);
        rc = sv->alive >= sv->max_clients; /* at the limit: leave them in the backlog */
        LeaveCriticalSection(&sv->lock);
        if (rc != sv->at_limit) {
            if (rc)
                printf("at the limit of %lu connections: new ones wait in the backlog\n",
                       sv->max_clients);
            else
                printf("below the limit again: accepting\n");
            fflush(stdout);
        }
        sv->at_limit = rc;
        if (rc) {
            WaitForSingleObject(sv->stop_event, ACCEPT_POLL_MS);
            continue;
        }
        waiting.fd = sv->listener;
        waiting.events = POLLRDNORM;
        waiting.revents = 0;
        rc = WSAPoll(&waiting, 1, ACCEPT_POLL_MS);
        if (rc == SOCKET_ERROR) {
            ovs_report_wsa_error("WSAPoll");
            return;
        }
        if (rc == 0)
            continue;
        s = accept(sv->listener, (struct sockaddr *)&peer, &peer_length);
        if (s == INVALID_SOCKET) {
            int error = WSAGetLastError();
            if (error == WSAEWOULDBLOCK)
                continue; /* the client gave up before we got to it */
            ovs_report_error("accept", error);
            /* A client that reset in the backlog (WSAECONNRESET; 10057 under
               Wine) costs only itself. Anything else (no sockets or memory
               left) would fail again at once while a connection waits:
               pause before the next try instead of spinning. */
            if (error != WSAECONNRESET && error != WSAENOTCONN)
                WaitForSingleObject(sv->stop_event, ACCEPT_RETRY_MS);
            continue;
        }
        start_connection(sv, s, (const struct sockaddr *)&peer);
    }
}
// [accept_loop]

// [stop]
/* Closes every connection, waits until every operation has completed and
   every context is freed, then stops the workers: one packet each. */
static int stop(struct server *sv, HANDLE *threads, DWORD n_threads)
{
    struct connection **pinned = NULL, *c;
    unsigned long n = 0, i, receiving = 0, sending = 0;
    int ok = 1;
    DWORD t;

    EnterCriticalSection(&sv->lock);
    sv->stopping = 1;
    if (sv->alive == 0)
        SetEvent(sv->all_gone);
    /* Pin each connection (a reference of our own) so that none is freed
       while we close it; one whose count already reached 0 is on its way
       out and is left alone. */
    if (sv->alive > 0)
        pinned = (struct connection **)calloc(sv->alive, sizeof *pinned);
    for (c = sv->first; c != NULL && pinned != NULL; c = c->next) {
        LONG refs = c->references;
        while (refs > 0) {
            LONG seen = InterlockedCompareExchange(&c->references, refs + 1, refs);
            if (seen == refs) {
                pinned[n++] = c;
                break;
            }
            refs = seen;
        }
    }
    ok = sv->alive == 0 || pinned != NULL;
    LeaveCriticalSection(&sv->lock);
    if (!ok) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        return -1;
    }
    for (i = 0; i < n; i++) {
        EnterCriticalSection(&pinned[i]->lock);
        receiving += (unsigned long)pinned[i]->receiving;
        sending += (unsigned long)pinned[i]->sending;
        LeaveCriticalSection(&pinned[i]->lock);
    }
    printf("stopping: closing %lu connections (%lu receives and %lu sends in flight)\n", n,
           receiving, sending);
    fflush(stdout);
    for (i = 0; i < n; i++) {
        int drop_owner;
        EnterCriticalSection(&pinned[i]->lock);
        drop_owner = close_connection(pinned[i], "server stopping");
        LeaveCriticalSection(&pinned[i]->lock);
        if (drop_owner)
            release(pinned[i]);
        release(pinned[i]); /* our pin */
    }
    free(pinned);
    if (WaitForSingleObject(sv->all_gone, STOP_TIMEOUT_MS) != WAIT_OBJECT_0)
        return -1; /* operations still own memory: the caller frees nothing */
    /* Closing the port would not wake the workers under Wine (Windows
       returns ERROR_ABANDONED_WAIT_0): a packet for each is the way. */
    for (t = 0; t < n_threads; t++)
        if (!PostQueuedCompletionStatus(sv->port, 0, STOP_KEY, NULL)) {
            ovs_report_error("PostQueuedCompletionStatus", (int)GetLastError());
            ok = 0;
        }
    if (!ok || WaitForMultipleObjects(n_threads, threads, TRUE, STOP_TIMEOUT_MS) != WAIT_OBJECT_0)
        return -1;
    return 0;
}
// [stop]

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, "127.0.0.1"};
    static unsigned long long threads = 0, max_clients = 1000, buffer_size = 64 * 1024;
    static int quiet = 0, trace = 0, guard_contexts = 0; /* static: see chapter 1's client */
    const struct ovs_option options[] = {
        {"--threads", OVS_OPTION_NUMBER, &threads, 1, MAX_THREADS},
        {"--max-clients", OVS_OPTION_NUMBER, &max_clients, 1, 100000},
        {"--buffer", OVS_OPTION_NUMBER, &buffer_size, 16 * 1024, 1024 * 1024},
        {"--quiet", OVS_OPTION_FLAG, &quiet, 0, 0},
        {"--trace", OVS_OPTION_FLAG, &trace, 0, 0},
        {"--guard-contexts", OVS_OPTION_FLAG, &guard_contexts, 0, 0},
    };
    struct server sv;
    HANDLE workers[MAX_THREADS];
    DWORD n_workers = 0, t;
    SYSTEM_INFO system;
    unsigned long handles_at_start, handles_at_end;
    u_long non_blocking = 1;
    int rc, status = OVS_EXIT_OK, stopped, stop_ended = 1;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 1, 2);
    if (rc != 0)
        return rc;
    memset(&sv, 0, sizeof sv);
    sv.max_clients = (unsigned long)max_clients;
    sv.buffer_size = (DWORD)buffer_size;
    sv.quiet = quiet;
    sv.trace = trace;
    sv.guard_contexts = guard_contexts;
    GetSystemInfo(&system);
    if (threads == 0)
        threads = system.dwNumberOfProcessors < MAX_THREADS ? system.dwNumberOfProcessors
                                                            : MAX_THREADS;
    rc = ovs_start_server(usage, args[0], args[1], ovs_overlapped_socket, &sv.listener);
    if (rc != 0)
        return rc;
    if (ioctlsocket(sv.listener, FIONBIO, &non_blocking) == SOCKET_ERROR) {
        ovs_report_wsa_error("ioctlsocket");
        closesocket(sv.listener);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }

    /* Counted before the port, the workers and the stop machinery exist,
       and again after they are all gone; the listener, open now, is closed
       before the end, so it is left out of this count. */
    handles_at_start = ovs_count_handles() - 1;
    InitializeCriticalSection(&sv.lock);
    // [create_port]
    /* A new port, not yet tied to any handle. The last argument (0) lets as
       many threads run at once as there are processors. */
    sv.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    // [create_port]
    if (sv.port == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    } else if ((sv.all_gone = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    } else if ((sv.stop_event = ovs_stop_request_start()) == NULL) {
        status = OVS_EXIT_FAILURE;
    }
    for (t = 0; status == OVS_EXIT_OK && t < (DWORD)threads; t++) {
        workers[t] = CreateThread(NULL, 0, worker, &sv, 0, NULL);
        if (workers[t] == NULL) {
            ovs_report_error("CreateThread", (int)GetLastError());
            status = OVS_EXIT_FAILURE;
        } else {
            n_workers++;
        }
    }
    if (status == OVS_EXIT_OK) {
        printf("echoing with %lu worker threads (%lu processors); stop with Ctrl+C or a line "
               "on stdin\n",
               (unsigned long)n_workers, (unsigned long)system.dwNumberOfProcessors);
        fflush(stdout);
        accept_until_stopped(&sv);
    }

    /* No new clients from here on: the backlog is reset with the listener. */
    closesocket(sv.listener);
    if (n_workers == 0) {
        /* The set-up failed before any worker ran: nothing was accepted and
           there is nothing to stop. Close what was made, and leave. */
        if (sv.port != NULL)
            CloseHandle(sv.port);
        if (sv.all_gone != NULL)
            CloseHandle(sv.all_gone);
        if (sv.stop_event != NULL)
            ovs_stop_request_end();
        DeleteCriticalSection(&sv.lock);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    /* From here every worker runs on a port, with all_gone and the stop
       event made (a worker is started only then). */
    stopped = stop(&sv, workers, n_workers) == 0;
    if (!stopped) {
        /* Operations (or workers) may still use memory: free nothing, and
           skip WSACleanup, which would cancel them behind our back. */
        fprintf(stderr, "the stop did not complete within %lu ms\n",
                (unsigned long)STOP_TIMEOUT_MS);
        return OVS_EXIT_FAILURE;
    }
    for (t = 0; t < n_workers; t++)
        CloseHandle(workers[t]);
    if (sv.port != NULL)
        CloseHandle(sv.port);
    if (sv.all_gone != NULL)
        CloseHandle(sv.all_gone);
    if (sv.stop_event != NULL)
        stop_ended = ovs_stop_request_end();
    DeleteCriticalSection(&sv.lock);
    // [summary]
    handles_at_end = ovs_count_handles();
    printf("ends of stream during an echo: %ld\n", (long)sv.ends_during_echo);
    printf("stopped: %lu connections served, %llu bytes echoed, %lu contexts alive, "
           "handles: %lu at start, %lu at end%s\n",
           sv.served, sv.echoed, sv.alive, handles_at_start, handles_at_end,
           stop_ended ? "" : " (not compared: the stdin reader still waits for input)");
    if (stop_ended && handles_at_end != handles_at_start) {
        fprintf(stderr, "handle leak: %lu at start, %lu at end\n", handles_at_start,
                handles_at_end);
        status = OVS_EXIT_FAILURE;
    }
    // [summary]
    fflush(stdout);
    ovs_winsock_stop();
    return status;
}
