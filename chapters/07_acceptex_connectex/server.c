/*
 * Chapter 7 - AcceptEx and ConnectEx: the echo server with no accept thread.
 *
 * Shows: chapter 6's echo server, with accepting done by overlapped I/O as
 * well. AcceptEx calls are kept posted on the listener, each with a socket
 * made in advance; a client that connects completes one of them, and its
 * packet comes to the port like any receive or send. So only the workers
 * wait for I/O; the main thread waits for the stop, and once a second posts
 * again any accept whose post had failed.
 *
 * Usage: ch07_server [options] <port> [address]
 *   port             0 lets the system choose; printed as "listening on ..."
 *   address          where to listen (default 127.0.0.1; ::1 for IPv6)
 *   --threads N      worker threads (default: one per processor, printed)
 *   --accepts N      AcceptEx calls kept posted (default 16)
 *   --max-clients N  serve at most N connections at once; more wait in the
 *                    listen backlog until one leaves (default 1000)
 *   --buffer N       bytes in each of a connection's two buffers
 *                    (default 64K; from 16K to 1M)
 *   --quiet          no line per connection (for the benchmark)
 *   --trace          a line for every completion packet, with its thread
 *   --guard-contexts for the tests: every connection gets pages of its own
 *                    at the top of the address space, poisoned and released
 *                    when freed, so that a late use faults
 * Stop it with Ctrl+C, Ctrl+Break or a line on its standard input. It closes
 * the listener (which ends every AcceptEx) and every connection, waits
 * until every operation has completed, stops the workers with one packet
 * each, and prints a summary.
 */
#include "ovs.h"

#include <mswsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: ch07_server [--threads N] [--accepts N] [--max-clients N] "
                            "[--buffer N] [--quiet] [--trace] [--guard-contexts] <port> [address]";

/* How long the stop waits for the last operations, and for the workers. */
#define STOP_TIMEOUT_MS 10000u
/* The key of the packets that stop the workers: no connection lives at 0. */
#define STOP_KEY ((ULONG_PTR)0)
#define MAX_THREADS 64
/* How often the main thread posts again accepts whose post failed. */
#define ACCEPT_RETRY_MS 1000

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

// [accept_slot]
/* One AcceptEx kept posted on the listener: its OVERLAPPED, the socket made
   in advance for the next connection, and room for the two addresses that
   AcceptEx writes (each at least 16 bytes more than the largest address). */
#define ADDRESS_ROOM (sizeof(struct sockaddr_storage) + 16)
struct accept_slot {
    OVERLAPPED overlapped;
    SOCKET s; /* INVALID_SOCKET while the slot is idle */
    char addresses[2 * ADDRESS_ROOM];
};
// [accept_slot]

struct server {
    HANDLE port;
    SOCKET listener;
    int family; /* the listener's: AF_INET or AF_INET6 */
    LPFN_ACCEPTEX accept_ex;
    LPFN_GETACCEPTEXSOCKADDRS get_addresses;
    struct accept_slot *slots;
    unsigned long n_slots, posted; /* slots with an AcceptEx in flight */
    /* Accepted sockets on their way from the accept packet to the list of
       connections (start_connection()): their places under --max-clients
       are kept for them meanwhile. */
    unsigned long starting;
    HANDLE stop_event, all_gone; /* all_gone: the last context and accept are gone */
    CRITICAL_SECTION lock;       /* the list, the slots and the counters below */
    struct connection *first;
    unsigned long alive, open, served, next_id, max_clients, accepts_aborted;
    unsigned long long echoed;
    volatile LONG ends_during_echo; /* ends of stream while an echo was going out */
    DWORD buffer_size;
    int stopping, quiet, trace, guard_contexts, at_limit;
};

static void post_accepts(struct server *sv);

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
    sv->alive--;
    if (sv->stopping && sv->alive == 0 && sv->posted == 0 && sv->starting == 0)
        SetEvent(sv->all_gone);
    post_accepts(sv); /* a place below --max-clients may have opened */
    LeaveCriticalSection(&sv->lock);
    DeleteCriticalSection(&c->lock);
    free_connection(c);
}
// [release]


static void accept_completed(struct server *sv, struct accept_slot *slot, DWORD error);

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
            /* No packet at all: the port itself failed. This worker ends. */
            ovs_report_error("GetQueuedCompletionStatus", (int)GetLastError());
            return 1;
        }
        if (overlapped == NULL) {
            /* The stop packet (key 0), posted once per worker. */
            if (key == STOP_KEY)
                return 0;
            continue;
        }
        if (!ok)
            error = GetLastError();
        if (key == (ULONG_PTR)sv) {
            /* The listener's key is the server itself: an AcceptEx packet. */
            accept_completed(sv, CONTAINING_RECORD(overlapped, struct accept_slot, overlapped),
                             error);
            continue;
        }
        c = (struct connection *)key;
        op = CONTAINING_RECORD(overlapped, struct operation, overlapped);
        EnterCriticalSection(&c->lock);
        if (op->kind == OP_RECEIVE)
            c->receiving = 0;
        else
            c->sending = 0;
        if (!ok && !c->closed) {
            /* GetLastError gave the system's code; WSAGetOverlappedResult
               gives the Winsock one (10054 for a reset). */
            DWORD ignored_bytes, ignored_flags;
            if (!WSAGetOverlappedResult(c->s, overlapped, &ignored_bytes, FALSE, &ignored_flags))
                error = (DWORD)WSAGetLastError();
        }
        if (sv->trace) {
            printf("thread %lu: connection %lu: %s packet: %lu bytes, error %lu\n",
                   (unsigned long)GetCurrentThreadId(), c->id,
                   op->kind == OP_RECEIVE ? "receive" : "send", (unsigned long)bytes,
                   (unsigned long)error);
            fflush(stdout);
        }
        drop_owner = completed(c, op, bytes, error);
        LeaveCriticalSection(&c->lock);
        if (drop_owner)
            release(c);
        release(c); /* this operation's reference */
    }
}
// [worker]

/* An accepted socket that will not become a connection after all: the
   place accept_completed() kept for it is given back. */
static void give_back_place(struct server *sv)
{
    EnterCriticalSection(&sv->lock);
    sv->starting--;
    LeaveCriticalSection(&sv->lock);
}

/* A new connection on an accepted socket: its context, its place on the
   port, its first receive. accept_completed() kept a place for it under
   --max-clients (sv->starting); every path below gives that place back
   under sv->lock, as a connection alive or as nothing. Returns 0, or -1
   when the socket was closed. */
static int start_connection(struct server *sv, SOCKET s, const struct sockaddr *peer)
{
    char text[OVS_ADDRESS_TEXT_MAX];
    struct connection *c = new_connection(sv);
    int drop_owner;

    if (c == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        closesocket(s);
        give_back_place(sv);
        return -1;
    }
    c->receive.kind = OP_RECEIVE;
    c->send.kind = OP_SEND;
    c->references = 1; /* the owner's */
    InitializeCriticalSection(&c->lock);
    c->server = sv;
    c->s = s;
    if (CreateIoCompletionPort((HANDLE)s, sv->port, (ULONG_PTR)c, 0) == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        DeleteCriticalSection(&c->lock);
        free_connection(c);
        closesocket(s);
        give_back_place(sv);
        return -1;
    }
    /* The connection's lock first (the order the workers use too), held
       until its first receive is posted: a stop that finds it in the list
       in between must wait, or it could close the socket under this post. */
    EnterCriticalSection(&c->lock);
    EnterCriticalSection(&sv->lock);
    sv->starting--; /* the kept place: a connection alive now, or nothing */
    if (sv->stopping) {
        /* Accepted just as the stop began: the stop has already closed
           the connections it knows of, so this one is closed here. */
        LeaveCriticalSection(&sv->lock);
        LeaveCriticalSection(&c->lock);
        DeleteCriticalSection(&c->lock);
        free_connection(c);
        closesocket(s);
        return -1;
    }
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
    drop_owner = post_receive(c, 0);
    LeaveCriticalSection(&c->lock);
    if (drop_owner)
        release(c);
    return 0;
}

// [post_accept]
/* Under sv->lock: gives an idle slot a new socket and posts its AcceptEx.
   Receive-data length 0: the packet comes as soon as a connection is
   accepted, without waiting for its first bytes. Returns 0, or -1 when the
   slot stays idle (reported). */
static int post_accept(struct server *sv, struct accept_slot *slot)
{
    DWORD ignored = 0;
    slot->s = WSASocketW(sv->family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                         WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (slot->s == INVALID_SOCKET) {
        ovs_report_wsa_error("WSASocketW");
        return -1;
    }
    memset(&slot->overlapped, 0, sizeof slot->overlapped);
    sv->posted++;
    if (!sv->accept_ex(sv->listener, slot->s, slot->addresses, 0, (DWORD)ADDRESS_ROOM,
                       (DWORD)ADDRESS_ROOM, &ignored, &slot->overlapped) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
        /* Done at once or pending, a packet comes; anything else: none. */
        ovs_report_wsa_error("AcceptEx");
        sv->posted--;
        closesocket(slot->s);
        slot->s = INVALID_SOCKET;
        return -1;
    }
    return 0;
}
// [post_accept]

// [post_accepts]
/* Under sv->lock: keeps as many AcceptEx calls posted as --accepts asks,
   but never more than the connections still allowed by --max-clients, so
   that clients beyond the limit wait in the backlog. The connections
   counted are those alive and those still starting (accepted, not yet on
   the list). Called after every accept packet and every freed connection,
   and once a second by the main thread, which retries the slots whose post
   failed. */
static void post_accepts(struct server *sv)
{
    unsigned long i;
    int at_limit;
    if (sv->stopping)
        return;
    for (i = 0; i < sv->n_slots && sv->alive + sv->starting + sv->posted < sv->max_clients; i++)
        if (sv->slots[i].s == INVALID_SOCKET && post_accept(sv, &sv->slots[i]) != 0)
            break; /* reported; the next packet or close tries again */
    at_limit = sv->posted == 0 && sv->alive + sv->starting >= sv->max_clients;
    if (at_limit != sv->at_limit) {
        if (at_limit)
            printf("at the limit of %lu connections: new ones wait in the backlog\n",
                   sv->max_clients);
        else
            printf("below the limit again: accepting\n");
        fflush(stdout);
        sv->at_limit = at_limit;
    }
}
// [post_accepts]

// [accept_completed]
/* An AcceptEx packet, on some worker. On success the slot's socket becomes
   a connection; on failure (a client that gave up, or the listener closed
   by the stop: 995 under Wine) it is closed. Either way the slot is idle
   again and is posted anew unless the server is stopping. */
static void accept_completed(struct server *sv, struct accept_slot *slot, DWORD error)
{
    SOCKET s = slot->s;
    struct sockaddr *local = NULL, *peer = NULL;
    struct sockaddr_storage peer_copy;
    int local_length = 0, peer_length = 0, ready = 0, retry_now = 1;

    /* The addresses returned may point into the slot's buffer (they do in
       practice), which the next AcceptEx of this slot will overwrite: the
       peer's is copied out first. */
    memset(&peer_copy, 0, sizeof peer_copy);
    if (error == 0) {
        sv->get_addresses(slot->addresses, 0, (DWORD)ADDRESS_ROOM, (DWORD)ADDRESS_ROOM, &local,
                          &local_length, &peer, &peer_length);
        if (peer != NULL && peer_length > 0 && (size_t)peer_length <= sizeof peer_copy)
            memcpy(&peer_copy, peer, (size_t)peer_length);
    }
    EnterCriticalSection(&sv->lock);
    if (error != 0) {
        DWORD ignored_bytes, ignored_flags;
        if (sv->stopping) {
            sv->accepts_aborted++;
        } else {
            /* GetLastError gave the system's code; the Winsock one comes
               from the listener, which is open: the stop closes it only
               under this lock. */
            if (!WSAGetOverlappedResult(sv->listener, &slot->overlapped, &ignored_bytes, FALSE,
                                        &ignored_flags))
                error = (DWORD)WSAGetLastError();
            /* A client that reset before it was accepted (WSAECONNRESET;
               10057 under Wine) costs only itself. Anything else could fail
               again at once: the main thread posts this slot again within
               a second instead. */
            retry_now = error == WSAECONNRESET || error == WSAENOTCONN;
        }
    } else if (!sv->stopping) {
        /* The accepted socket takes the listener's properties only with
           this option. Under the lock, because the stop closes the
           listener under it: the listener must not be closed while this
           call uses it. */
        if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&sv->listener,
                       (int)sizeof sv->listener) == SOCKET_ERROR)
            ovs_report_wsa_error("setsockopt(SO_UPDATE_ACCEPT_CONTEXT)");
        else
            ready = 1;
    }
    /* The slot is idle from here: another worker may post it again. An
       accepted socket keeps its place under --max-clients, in this same
       hold of the lock, until start_connection() has made it a connection:
       counted nowhere in between, it would let another post_accepts() post
       one accept too many. */
    slot->s = INVALID_SOCKET;
    sv->posted--;
    if (ready)
        sv->starting++;
    /* Posted again now (the peer's address is already copied out), so that
       reaching --max-clients is seen here, before this connection can even
       end; and once more below, for a place that start_connection() gives
       back. */
    if (retry_now)
        post_accepts(sv);
    LeaveCriticalSection(&sv->lock);
    if (sv->trace) {
        printf("thread %lu: accept packet: error %lu\n", (unsigned long)GetCurrentThreadId(),
               (unsigned long)error);
        fflush(stdout);
    }
    if (error != 0 && error != WSA_OPERATION_ABORTED)
        ovs_report_error("AcceptEx (its packet)", (int)error); /* that client's problem */
    if (ready) {
        start_connection(sv, s, (const struct sockaddr *)&peer_copy);
    } else {
        closesocket(s);
    }
    EnterCriticalSection(&sv->lock);
    if (retry_now)
        post_accepts(sv); /* a place given back by a failed start */
    if (sv->stopping && sv->alive == 0 && sv->posted == 0 && sv->starting == 0)
        SetEvent(sv->all_gone);
    LeaveCriticalSection(&sv->lock);
}
// [accept_completed]

// [load_extensions]
/* AcceptEx and GetAcceptExSockaddrs are Microsoft extensions: their
   addresses are asked of the provider behind the listener. */
static int load_extensions(struct server *sv)
{
    GUID accept_id = WSAID_ACCEPTEX, addresses_id = WSAID_GETACCEPTEXSOCKADDRS;
    DWORD bytes = 0;
    if (WSAIoctl(sv->listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_id, sizeof accept_id,
                 &sv->accept_ex, sizeof sv->accept_ex, &bytes, NULL, NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAIoctl(AcceptEx)");
        return -1;
    }
    if (WSAIoctl(sv->listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &addresses_id,
                 sizeof addresses_id, &sv->get_addresses, sizeof sv->get_addresses, &bytes, NULL,
                 NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAIoctl(GetAcceptExSockaddrs)");
        return -1;
    }
    return 0;
}
// [load_extensions]

// [stop]
/* Closes the listener (every AcceptEx completes, with an error: 995 under
   Wine) and every connection, waits until every operation has completed
   and every context is freed, then stops the workers: one packet each. */
static int stop(struct server *sv, HANDLE *threads, DWORD n_threads)
{
    struct connection **pinned = NULL, *c;
    unsigned long n = 0, i, receiving = 0, sending = 0;
    int ok = 1;
    DWORD t;

    EnterCriticalSection(&sv->lock);
    sv->stopping = 1;
    /* Under the lock: no worker is posting an AcceptEx on it right now. */
    printf("stopping: closing the listener with %lu accepts pending\n", sv->posted);
    fflush(stdout);
    closesocket(sv->listener);
    sv->listener = INVALID_SOCKET;
    if (sv->alive == 0 && sv->posted == 0 && sv->starting == 0)
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
    static unsigned long long threads = 0, accepts = 16, max_clients = 1000,
                              buffer_size = 64 * 1024;
    static int quiet = 0, trace = 0, guard_contexts = 0; /* static: see chapter 1's client */
    const struct ovs_option options[] = {
        {"--threads", OVS_OPTION_NUMBER, &threads, 1, MAX_THREADS},
        {"--accepts", OVS_OPTION_NUMBER, &accepts, 1, 1000},
        {"--max-clients", OVS_OPTION_NUMBER, &max_clients, 1, 100000},
        {"--buffer", OVS_OPTION_NUMBER, &buffer_size, 16 * 1024, 1024 * 1024},
        {"--quiet", OVS_OPTION_FLAG, &quiet, 0, 0},
        {"--trace", OVS_OPTION_FLAG, &trace, 0, 0},
        {"--guard-contexts", OVS_OPTION_FLAG, &guard_contexts, 0, 0},
    };
    struct server sv;
    struct sockaddr_storage bound;
    int bound_length = (int)sizeof bound;
    HANDLE workers[MAX_THREADS];
    DWORD n_workers = 0, t;
    SYSTEM_INFO system;
    unsigned long handles_at_start, handles_at_end, i;
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
    if (getsockname(sv.listener, (struct sockaddr *)&bound, &bound_length) == SOCKET_ERROR) {
        ovs_report_wsa_error("getsockname");
        closesocket(sv.listener);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    sv.family = bound.ss_family;
    if (load_extensions(&sv) != 0) {
        closesocket(sv.listener);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }

    /* Counted before the port, the workers, the accept sockets and the stop
       machinery exist, and again after they are all gone; the listener,
       open now, is closed before the end, so it is left out of this count. */
    handles_at_start = ovs_count_handles() - 1;
    InitializeCriticalSection(&sv.lock);
    sv.n_slots = (unsigned long)accepts;
    sv.slots = (struct accept_slot *)calloc(sv.n_slots, sizeof *sv.slots);
    // [create_port]
    /* The listener goes on the port like any socket; its key is the server
       itself, so a worker can tell an AcceptEx packet from a connection's. */
    sv.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (sv.port != NULL &&
        CreateIoCompletionPort((HANDLE)sv.listener, sv.port, (ULONG_PTR)&sv, 0) == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    }
    // [create_port]
    if (sv.slots == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        status = OVS_EXIT_FAILURE;
    } else if (sv.port == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    } else if ((sv.all_gone = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        status = OVS_EXIT_FAILURE;
    } else if ((sv.stop_event = ovs_stop_request_start()) == NULL) {
        status = OVS_EXIT_FAILURE;
    }
    for (i = 0; sv.slots != NULL && i < sv.n_slots; i++)
        sv.slots[i].s = INVALID_SOCKET;
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
        EnterCriticalSection(&sv.lock);
        post_accepts(&sv);
        printf("echoing with %lu worker threads (%lu processors) and %lu accepts posted; stop "
               "with Ctrl+C or a line on stdin\n",
               (unsigned long)n_workers, (unsigned long)system.dwNumberOfProcessors, sv.posted);
        fflush(stdout);
        LeaveCriticalSection(&sv.lock);
        // [wait_for_stop]
        /* Accepting, echoing and closing all happen in the workers. This
           thread waits for the stop, and once a second posts again any
           accept whose post failed (no socket or memory then). */
        while (WaitForSingleObject(sv.stop_event, ACCEPT_RETRY_MS) == WAIT_TIMEOUT) {
            EnterCriticalSection(&sv.lock);
            post_accepts(&sv);
            LeaveCriticalSection(&sv.lock);
        }
        // [wait_for_stop]
    }

    if (n_workers == 0) {
        /* The set-up failed before any worker ran: no accept was posted and
           there is nothing to stop. Close what was made, and leave. */
        closesocket(sv.listener);
        if (sv.port != NULL)
            CloseHandle(sv.port);
        if (sv.all_gone != NULL)
            CloseHandle(sv.all_gone);
        if (sv.stop_event != NULL)
            ovs_stop_request_end();
        DeleteCriticalSection(&sv.lock);
        free(sv.slots);
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
    free(sv.slots);
    // [summary]
    handles_at_end = ovs_count_handles();
    printf("accepts aborted by the stop: %lu\n", sv.accepts_aborted);
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
