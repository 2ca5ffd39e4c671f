/*
 * Chapter 9 - The fast paths.
 *
 * Shows: chapter 8's echo server (idle time-outs, a stop that loses no
 * byte) with the three things production servers add, each one switchable
 * so that the benchmark can show what it is worth:
 *   - skipping the port on success (SetFileCompletionNotificationModes with
 *     FILE_SKIP_COMPLETION_PORT_ON_SUCCESS): an operation that completes at
 *     once queues no packet and is handled right where it was posted, only
 *     when the provider returns IFS handles (XP1_IFS_HANDLES);
 *   - packets taken in batches (GetQueuedCompletionStatusEx);
 *   - no allocation per connection: contexts and buffers come from a pool
 *     reserved at the start for --max-clients connections.
 *
 * Usage: ch09_server [options] <port> [address]
 *   port               0 lets the system choose; printed as "listening on ..."
 *   address            where to listen (default 127.0.0.1; ::1 for IPv6)
 *   --no-skip          every completion goes through the port (chapter 8)
 *   --batch N          packets taken per call (default 32; 1 to 256)
 *   --no-pool          a calloc and a free per connection (chapter 8)
 *   --idle-timeout MS  drop a connection that sends nothing for MS ms
 *                      (default 0: never)
 *   --drain-timeout MS how long the stop lets connections finish before it
 *                      resets them (default 5000)
 *   --threads N        worker threads (default: two per processor, printed)
 *   --accepts N        AcceptEx calls kept posted (default 16)
 *   --max-clients N    serve at most N connections at once; more wait in the
 *                      listen backlog until one leaves (default 1000); the
 *                      pool has room for exactly N
 *   --buffer N         bytes in each of a connection's two buffers
 *                      (default 64K; from 16K to 1M)
 *   --quiet            no line per connection (for the benchmark)
 *   --trace            a line for every completion, with its thread
 *   --guard-contexts   for the tests: contexts at the top of the address
 *                      space, poisoned and decommitted when freed, so that
 *                      a late use faults
 *   --memory-after N   for the tests: note the private memory once N
 *                      connections were served, and compare it at the stop
 *   --race-window MS   for the tests: the idle sweep waits MS between
 *                      deciding to cancel and calling CancelIoEx
 * Stop it with Ctrl+C, Ctrl+Break or a line on its standard input.
 */
#include "ovs.h"

#include <mswsock.h>
#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch09_server [--no-skip] [--batch N] [--no-pool] [--idle-timeout MS] "
    "[--drain-timeout MS] [--threads N] [--accepts N] [--max-clients N] [--buffer N] [--quiet] "
    "[--trace] [--guard-contexts] [--memory-after N] [--race-window MS] <port> [address]";

/* How long the stop waits for the last operations once everything is
   closed, and for the workers. */
#define STOP_TIMEOUT_MS 10000u
/* The key of the packets that stop the workers: no connection lives at 0. */
#define STOP_KEY ((ULONG_PTR)0)
#define MAX_THREADS 64
/* How often the main thread posts again accepts whose post failed. */
#define ACCEPT_RETRY_MS 1000
/* How much the private memory may grow between --memory-after and the stop
   (the heap keeps some of what it was given; a leak of one context per
   connection is far more over thousands of connections). */
#define MEMORY_SLACK (1024u * 1024u)
/* The most packets one GetQueuedCompletionStatusEx call may take. */
#define MAX_BATCH 256
/* Operations of one connection handled in a row where they were posted;
   the next one goes through the port, so that one busy client cannot keep
   a worker (and its connection's lock) to itself. */
#define AT_ONCE_IN_A_ROW 16

struct connection;

// [operation]
/* One outstanding I/O. The OVERLAPPED comes first, but the code never relies
   on that: CONTAINING_RECORD finds the operation from the OVERLAPPED pointer
   that GetQueuedCompletionStatus hands back. */
enum op_kind { OP_RECEIVE = 0, OP_SEND = 1 };
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
    unsigned long long received, echoed, discarded;
    int receiving, sending; /* an operation of that kind is in flight */
    // [cancel_state]
    /* Set when the sweep called CancelIoEx on the receive in flight (or
       found it already complete): its packet still comes, and says what
       happened first. */
    int cancelled;
    int draining;      /* the stop began: no new receive for echoing */
    int half_closed;   /* shutdown(SD_SEND) done; waiting for the client's end */
    ULONGLONG last_active; /* GetTickCount64 at the last receive or send */
    const char *end_why;   /* why the half-close was done */
    // [cancel_state]
    // [at_once_state]
    /* Skipping the port on success is on for this socket: an operation
       that completes at once queues no packet. Such an operation is noted
       here by the post (done_at_once[kind], with its byte count) and
       handled by settle() before the connection's lock is left; one that
       settle() passed on to the port is marked in passed[kind]. */
    int skip;
    int done_at_once[2], passed[2];
    DWORD at_once_bytes[2];
    unsigned long at_once[2], passed_on; /* counted for the summary */
    // [at_once_state]
    unsigned long pool_index; /* its place in the pool */
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

// [pool]
/* Every connection's context and buffers, in one region reserved at the
   start: --max-clients places of slot_size bytes. A place is committed
   the first time it is used; a freed one goes back on the free list (and
   is decommitted with --guard-contexts). Under the server's lock. */
struct pool {
    char *base;
    size_t slot_size;
    unsigned long places, *free_list, free_head, free_count;
    unsigned char *committed;
    unsigned long in_use, most_in_use, most_committed, committed_now;
};
// [pool]

struct server {
    HANDLE port;
    SOCKET listener;
    int family; /* the listener's: AF_INET or AF_INET6 */
    LPFN_ACCEPTEX accept_ex;
    LPFN_GETACCEPTEXSOCKADDRS get_addresses;
    struct accept_slot *slots;
    unsigned long n_slots, posted; /* slots with an AcceptEx in flight */
    unsigned long starting; /* accepted, not yet counted in `alive` */
    HANDLE stop_event, all_gone; /* all_gone: the last context and accept are gone */
    CRITICAL_SECTION lock;       /* the list, the slots and the counters below */
    struct connection *first;
    unsigned long alive, open, served, next_id, max_clients, accepts_aborted;
    unsigned long long received, echoed, discarded; /* of freed connections */
    volatile LONG ends_during_echo; /* ends of stream while an echo was going out */
    /* Idle drops, and how each cancel ended; connections ended by the stop. */
    volatile LONG idle_cancels, idle_dropped, data_won, drained, forced, failed_in_stop;
    DWORD buffer_size, idle_timeout, drain_timeout;
    int stopping, quiet, trace, guard_contexts, at_limit;
    unsigned long memory_after;
    DWORD race_window; /* tests only: see sweep() */
    SIZE_T memory_noted; /* private bytes when memory_after were served */
    /* The fast paths: each can be switched off (see main). */
    int skip;           /* set FILE_SKIP_COMPLETION_PORT_ON_SUCCESS on sockets */
    ULONG batch;        /* packets per GetQueuedCompletionStatusEx */
    int use_pool;       /* contexts from the pool, not calloc */
    struct pool pool;
    /* Of freed connections, and of ended workers. */
    unsigned long long at_once[2], passed_on, packets, batches;
    ULONG largest_batch;
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

// [pool_take]
/* Under sv->lock: a place from the pool. Normally the place freed last
   (its pages are committed and warm, and the commit charge stays at the
   most connections ever open at once); with --guard-contexts the place
   freed first, so that a late use of a freed context finds pages that
   are still decommitted, and faults. NULL when every place is taken,
   which --max-clients prevents, or when committing fails. */
static struct connection *pool_take(struct server *sv)
{
    struct pool *pool = &sv->pool;
    unsigned long index;
    struct connection *c;
    if (pool->free_count == 0)
        return NULL;
    if (sv->guard_contexts) {
        index = pool->free_list[pool->free_head];
        pool->free_head = (pool->free_head + 1) % pool->places;
    } else {
        index = pool->free_list[(pool->free_head + pool->free_count - 1) % pool->places];
    }
    c = (struct connection *)(pool->base + (size_t)index * pool->slot_size);
    if (!pool->committed[index]) {
        /* New pages come zeroed. */
        if (VirtualAlloc(c, pool->slot_size, MEM_COMMIT, PAGE_READWRITE) == NULL) {
            if (sv->guard_contexts) /* give the place back where it was */
                pool->free_head = (pool->free_head + pool->places - 1) % pool->places;
            return NULL;
        }
        pool->committed[index] = 1;
        if (++pool->committed_now > pool->most_committed)
            pool->most_committed = pool->committed_now;
    } else {
        memset(c, 0, sizeof *c); /* the buffers need no zeroing */
    }
    pool->free_count--;
    if (++pool->in_use > pool->most_in_use)
        pool->most_in_use = pool->in_use;
    c->pool_index = index;
    return c;
}
// [pool_take]

/* Under sv->lock: the place goes back on the free list. */
static void pool_give(struct server *sv, struct connection *c)
{
    struct pool *pool = &sv->pool;
    unsigned long index = c->pool_index;
    if (sv->guard_contexts) {
        /* The pages go too: a late use faults instead of reading garbage. */
        if (VirtualFree(c, pool->slot_size, MEM_DECOMMIT)) {
            pool->committed[index] = 0;
            pool->committed_now--;
        } else {
            ovs_report_error("VirtualFree", (int)GetLastError());
        }
    }
    pool->free_list[(pool->free_head + pool->free_count) % pool->places] = index;
    pool->free_count++;
    pool->in_use--;
}

/* A connection and its two buffers, in one block: from the pool, or (with
   --no-pool) from calloc, or with --guard-contexts from pages of its own at
   the top of the address space (VirtualAlloc, MEM_TOP_DOWN), above 4 GiB
   in a 64-bit process, where a key truncated to a DWORD points nowhere. */
static struct connection *new_connection(struct server *sv)
{
    size_t size = sizeof(struct connection) + 2 * (size_t)sv->buffer_size;
    struct connection *c;
    if (sv->use_pool) {
        EnterCriticalSection(&sv->lock);
        c = pool_take(sv);
        LeaveCriticalSection(&sv->lock);
    } else if (sv->guard_contexts) {
        c = (struct connection *)VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                                              PAGE_READWRITE);
    } else {
        c = (struct connection *)calloc(1, size);
    }
    if (c == NULL)
        return NULL;
    c->buffer[0] = (char *)(c + 1);
    c->buffer[1] = c->buffer[0] + sv->buffer_size;
    return c;
}

static void free_connection(struct connection *c)
{
    struct server *sv = c->server;
    unsigned long index = c->pool_index;
    /* Poisoned first: a packet that still used it would find garbage instead
       of quietly reading the old values. */
    memset(c, 0xDD, sizeof *c);
    c->pool_index = index;
    if (sv->use_pool) {
        EnterCriticalSection(&sv->lock);
        pool_give(sv, c);
        LeaveCriticalSection(&sv->lock);
    } else if (sv->guard_contexts) {
        VirtualFree(c, 0, MEM_RELEASE);
    } else {
        free(c);
    }
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

// [abort]
/* Under c->lock: the abortive close. With SO_LINGER {1, 0} closesocket
   resets the connection at once and throws away what is still unsent; for
   a client that never ends its side, never for one that did. */
static int abort_connection(struct connection *c, const char *why)
{
    struct linger hard;
    if (c->closed)
        return 0;
    hard.l_onoff = 1;
    hard.l_linger = 0;
    if (setsockopt(c->s, SOL_SOCKET, SO_LINGER, (const char *)&hard, (int)sizeof hard) ==
        SOCKET_ERROR)
        ovs_report_wsa_error("setsockopt(SO_LINGER)");
    return close_connection(c, why);
}
// [abort]

/* Under c->lock: a failure that ends this connection alone. */
static int fail_connection(struct connection *c, const char *call, int error)
{
    char why[64];
    ovs_report_error(call, error);
    snprintf(why, sizeof why, "%s failed: %d", call, error);
    if (c->server->stopping)
        InterlockedIncrement(&c->server->failed_in_stop);
    return close_connection(c, why);
}

// [done_at_once]
/* Under c->lock, just after WSARecv or WSASend returned 0: the operation
   completed at once. Without the skip mode its packet is queued as usual
   and nothing is done here (handling it here as well would handle it
   twice). With it, no packet will come: the result is noted, and settle()
   handles it before the lock is left, exactly once. */
static void done_at_once(struct connection *c, struct operation *op, DWORD bytes)
{
    if (!c->skip)
        return;
    c->done_at_once[op->kind] = 1;
    c->at_once_bytes[op->kind] = bytes;
}

/* Where the call's byte count goes. With the skip mode, the call's own
   count: "the number, in bytes, of data received by this call if the
   receive operation completes immediately" (WSARecv); no packet will carry
   it, and nothing promises that the OVERLAPPED is written by then (libuv
   takes the count from the call too). Without the mode, NULL: Microsoft
   advises NULL when lpOverlapped is not NULL, "to avoid potentially
   erroneous results", and the packet brings the count. */
static DWORD *count_at_once(struct connection *c, DWORD *bytes)
{
    *bytes = 0;
    return c->skip ? bytes : NULL;
}
// [done_at_once]

// [post_receive]
/* Under c->lock. Takes a reference for the operation before it is posted:
   its packet may be taken by another worker before WSARecv even returns. */
static int post_receive(struct connection *c, int index)
{
    WSABUF buffer;
    DWORD flags = 0, bytes; /* flags: in/out, set before every call */
    buffer.buf = c->buffer[index];
    buffer.len = c->server->buffer_size;
    c->recv_buffer = index;
    memset(&c->receive.overlapped, 0, sizeof c->receive.overlapped);
    InterlockedIncrement(&c->references);
    c->receiving = 1;
    /* Pending: the packet comes. Done at once: see done_at_once(). */
    if (WSARecv(c->s, &buffer, 1, count_at_once(c, &bytes), &flags, &c->receive.overlapped,
                NULL) == 0) {
        done_at_once(c, &c->receive, bytes);
    } else if (WSAGetLastError() != WSA_IO_PENDING) {
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
    DWORD bytes;
    buffer.buf = c->buffer[c->send_buffer] + c->send_done;
    buffer.len = c->send_length - c->send_done;
    memset(&c->send.overlapped, 0, sizeof c->send.overlapped);
    InterlockedIncrement(&c->references);
    c->sending = 1;
    if (WSASend(c->s, &buffer, 1, count_at_once(c, &bytes), 0, &c->send.overlapped, NULL) ==
        0) {
        done_at_once(c, &c->send, bytes);
    } else if (WSAGetLastError() != WSA_IO_PENDING) {
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
    /* Draining: what has arrived is echoed, nothing new is asked for. */
    return c->end_of_stream || c->draining ? 0 : post_receive(c, 1 - index);
}

// [half_close]
/* Under c->lock, with nothing in flight but perhaps a receive: every byte
   that arrived went back. Our end of stream goes out (shutdown SD_SEND);
   if the client has already ended its side, the connection is done, else a
   receive (the one in flight, or a new one) waits for its end of stream;
   bytes that still come are counted and dropped: we said we were done. */
static int half_close(struct connection *c, const char *why)
{
    if (shutdown(c->s, SD_SEND) == SOCKET_ERROR)
        return fail_connection(c, "shutdown", WSAGetLastError());
    c->half_closed = 1;
    c->end_why = why;
    c->last_active = GetTickCount64();
    if (c->end_of_stream) {
        if (c->draining)
            InterlockedIncrement(&c->server->drained);
        return close_connection(c, why);
    }
    return c->receiving ? 0 : post_receive(c, 0);
}
// [half_close]

/* Under c->lock: the client finished and every byte went back. */
static int finish(struct connection *c)
{
    return half_close(c, "end of stream, everything echoed");
}

// [drain_step]
/* Under c->lock, during the stop: once nothing is left to echo, the
   connection is half-closed. A receive still in flight is not cancelled:
   it becomes the one that waits for the client's end of stream. */
static int drain_step(struct connection *c)
{
    if (c->closed || c->half_closed || c->cancelled || c->sending || c->waiting > 0)
        return 0;
    return half_close(c, "drained by the stop");
}
// [drain_step]

// [completed]
/* One completion packet of connection c, on some worker. `error` is 0 for
   a successful operation. Returns 1 when the owner's reference must go. */
static int completed(struct connection *c, struct operation *op, DWORD bytes, DWORD error)
{
    struct server *sv = c->server;
    if (op->kind == OP_RECEIVE && !c->half_closed)
        c->received += bytes; /* taken from the client: owed back as an echo */
    if (c->closed)
        return 0; /* aborted by our own close: nothing to do */
    if (op->kind == OP_RECEIVE && c->cancelled) {
        c->cancelled = 0;
        if (error == WSA_OPERATION_ABORTED) {
            /* The cancel won. Microsoft: "behavior is undefined for the
               continued use of a socket that has canceled outstanding
               operations", so no shutdown and no new receive: closesocket
               at once, which still ends the stream politely (no linger
               option set: a graceful close). */
            InterlockedIncrement(&sv->idle_dropped);
            return close_connection(c, "idle: dropped");
        }
        if (error == 0 && bytes > 0)
            InterlockedIncrement(&sv->data_won); /* the data won: echo it */
    }
    if (error != 0)
        return fail_connection(c, op->kind == OP_RECEIVE ? "WSARecv (its packet)"
                                                         : "WSASend (its packet)", (int)error);
    if (bytes > 0 && !c->half_closed)
        c->last_active = GetTickCount64(); /* bytes after our end do not count */
    if (op->kind == OP_RECEIVE && c->half_closed) {
        /* After our end of stream: only the client's end is awaited. */
        if (bytes > 0) {
            c->discarded += bytes;
            return post_receive(c, 0);
        }
        c->end_of_stream = 1;
        if (c->draining)
            InterlockedIncrement(&sv->drained);
        return close_connection(c, c->end_why);
    }
    if (op->kind == OP_RECEIVE) {
        if (bytes == 0) {
            c->end_of_stream = 1;
            if (c->send_length == c->send_done && c->waiting == 0)
                return finish(c);
            /* The echo is still going out: the send's packet finishes. */
            InterlockedIncrement(&sv->ends_during_echo);
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
    if (c->end_of_stream)
        return finish(c);
    return c->draining ? drain_step(c) : 0;
}
// [completed]

// [settle]
/* Under c->lock, before every LeaveCriticalSection that may follow a post:
   handles the operations that completed at once, one after the other (one
   may post the next), as their packets would have been handled. Each one's
   reference is dropped here; never the last, since the caller holds one
   too. After AT_ONCE_IN_A_ROW of them the next is passed to the port with
   PostQueuedCompletionStatus, with its reference, as the packet it would
   have been: other connections get their turn. Returns 1 when the owner's
   reference must go (`drop_owner` is what the caller already had). */
static int settle(struct connection *c, int drop_owner)
{
    struct server *sv = c->server;
    int in_a_row = 0;
    for (;;) {
        enum op_kind kind;
        struct operation *op;
        /* The send first: an echo that went out frees its buffer for the
           data of the receive. */
        if (c->done_at_once[OP_SEND])
            kind = OP_SEND;
        else if (c->done_at_once[OP_RECEIVE])
            kind = OP_RECEIVE;
        else
            return drop_owner;
        op = kind == OP_RECEIVE ? &c->receive : &c->send;
        c->done_at_once[kind] = 0;
        if (++in_a_row > AT_ONCE_IN_A_ROW &&
            PostQueuedCompletionStatus(sv->port, c->at_once_bytes[kind], (ULONG_PTR)c,
                                       &op->overlapped)) {
            c->passed[kind] = 1;
            c->passed_on++; /* still in flight: receiving or sending stays 1 */
            continue;
        }
        c->at_once[kind]++;
        if (kind == OP_RECEIVE)
            c->receiving = 0;
        else
            c->sending = 0;
        if (sv->trace) {
            printf("thread %lu: connection %lu: %s done at once: %lu bytes (no packet)\n",
                   (unsigned long)GetCurrentThreadId(), c->id,
                   kind == OP_RECEIVE ? "receive" : "send", (unsigned long)c->at_once_bytes[kind]);
            fflush(stdout);
        }
        if (completed(c, op, c->at_once_bytes[kind], 0))
            drop_owner = 1;
        InterlockedDecrement(&c->references); /* this operation's: never the last */
    }
}
// [settle]

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
    sv->received += c->received;
    sv->echoed += c->echoed;
    sv->discarded += c->discarded;
    sv->at_once[OP_RECEIVE] += c->at_once[OP_RECEIVE];
    sv->at_once[OP_SEND] += c->at_once[OP_SEND];
    sv->passed_on += c->passed_on;
    sv->alive--;
    /* Back in the pool before a new accept is posted for the place below
       --max-clients that this frees: that accept's connection takes it. */
    DeleteCriticalSection(&c->lock);
    free_connection(c);
    if (sv->stopping && sv->alive == 0 && sv->posted == 0 && sv->starting == 0)
        SetEvent(sv->all_gone);
    post_accepts(sv); /* a place below --max-clients may have opened */
    LeaveCriticalSection(&sv->lock);
}
// [release]


static void accept_completed(struct server *sv, struct accept_slot *slot);

// [packet]
/* One packet of connection c, taken by a worker. */
static void packet(struct server *sv, struct connection *c, OVERLAPPED *overlapped, DWORD bytes)
{
    struct operation *op = CONTAINING_RECORD(overlapped, struct operation, overlapped);
    DWORD error = 0;
    int drop_owner;
    EnterCriticalSection(&c->lock);
    if (op->kind == OP_RECEIVE)
        c->receiving = 0;
    else
        c->sending = 0;
    /* A batch entry does not say whether its operation failed: the
       OVERLAPPED does, through WSAGetOverlappedResult (a Winsock code, 10054
       for a reset). A closed socket is not asked: its packets change
       nothing but the references. Nor is a packet that settle() passed on:
       its operation succeeded at once, and settle() posted its count. */
    if (c->passed[op->kind]) {
        c->passed[op->kind] = 0;
    } else if (!c->closed) {
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
    drop_owner = settle(c, completed(c, op, bytes, error));
    LeaveCriticalSection(&c->lock);
    if (drop_owner)
        release(c);
    release(c); /* this operation's reference */
}
// [packet]

// [worker]
/* Takes up to --batch packets per call. The stop posts one stop packet per
   worker; a worker that finds more than one in its batch passes the others
   on, so that every worker gets exactly one. */
static DWORD WINAPI worker(LPVOID arg)
{
    struct server *sv = (struct server *)arg;
    OVERLAPPED_ENTRY entries[MAX_BATCH];
    unsigned long long packets = 0, batches = 0;
    ULONG largest = 0;
    DWORD status = 0;
    for (;;) {
        ULONG n = 0, i, stops = 0;
        if (!GetQueuedCompletionStatusEx(sv->port, entries, sv->batch, &n, INFINITE, FALSE)) {
            /* No packet at all: the port itself failed. This worker ends. */
            ovs_report_error("GetQueuedCompletionStatusEx", (int)GetLastError());
            status = 1;
            break;
        }
        batches++;
        packets += n;
        if (n > largest)
            largest = n;
        for (i = 0; i < n; i++) {
            OVERLAPPED_ENTRY *e = &entries[i];
            if (e->lpOverlapped == NULL) {
                if (e->lpCompletionKey == STOP_KEY)
                    stops++;
            } else if (e->lpCompletionKey == (ULONG_PTR)sv) {
                /* The listener's key is the server itself: an AcceptEx packet. */
                accept_completed(sv, CONTAINING_RECORD(e->lpOverlapped, struct accept_slot,
                                                       overlapped));
            } else {
                packet(sv, (struct connection *)e->lpCompletionKey, e->lpOverlapped,
                       e->dwNumberOfBytesTransferred);
            }
        }
        if (stops > 0) {
            for (i = 1; i < stops; i++)
                if (!PostQueuedCompletionStatus(sv->port, 0, STOP_KEY, NULL))
                    ovs_report_error("PostQueuedCompletionStatus", (int)GetLastError());
            break;
        }
    }
    EnterCriticalSection(&sv->lock);
    sv->packets += packets;
    sv->batches += batches;
    if (largest > sv->largest_batch)
        sv->largest_batch = largest;
    LeaveCriticalSection(&sv->lock);
    return status;
}
// [worker]

// [private_bytes]
/* The process's commit charge: the private memory committed for it, which
   a leak of contexts or buffers makes grow. Microsoft documents two fields
   for it: PagefileUsage (always 0 on Windows 7 and earlier) and PrivateUsage
   ("Same as PagefileUsage"); Wine 8 fills only the first (measured), so the
   larger of the two is taken. 0 when the system does not say. */
static SIZE_T private_bytes(void)
{
    PROCESS_MEMORY_COUNTERS_EX counters;
    memset(&counters, 0, sizeof counters);
    counters.cb = sizeof counters;
    if (!K32GetProcessMemoryInfo(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&counters,
                                 sizeof counters))
        return 0;
    return counters.PrivateUsage > counters.PagefileUsage ? counters.PrivateUsage
                                                          : counters.PagefileUsage;
}
// [private_bytes]

/* An accepted connection that could not be started gives back the place
   that accept_completed() reserved for it. */
static void not_starting(struct server *sv)
{
    EnterCriticalSection(&sv->lock);
    sv->starting--;
    LeaveCriticalSection(&sv->lock);
}

/* A new connection on an accepted socket: its context, its place on the
   port, its first receive. Returns 0, or -1 when the socket was closed. */
static int start_connection(struct server *sv, SOCKET s, const struct sockaddr *peer)
{
    char text[OVS_ADDRESS_TEXT_MAX];
    struct connection *c = new_connection(sv);
    int drop_owner;

    if (c == NULL) {
        ovs_report_error(sv->use_pool ? "pool_take" : "calloc", ERROR_NOT_ENOUGH_MEMORY);
        closesocket(s);
        not_starting(sv);
        return -1;
    }
    c->receive.kind = OP_RECEIVE;
    c->send.kind = OP_SEND;
    c->references = 1; /* the owner's */
    InitializeCriticalSection(&c->lock);
    c->server = sv;
    c->s = s;
    c->last_active = GetTickCount64();
    if (CreateIoCompletionPort((HANDLE)s, sv->port, (ULONG_PTR)c, 0) == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        DeleteCriticalSection(&c->lock);
        free_connection(c);
        closesocket(s);
        not_starting(sv);
        return -1;
    }
    // [skip_mode]
    /* Only for a provider that returns IFS handles (checked once, in main):
       from here an operation on this socket that completes at once queues
       no packet. If the call fails, the socket keeps the normal mode. */
    if (sv->skip) {
        if (SetFileCompletionNotificationModes((HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
            c->skip = 1;
        else
            ovs_report_error("SetFileCompletionNotificationModes", (int)GetLastError());
    }
    // [skip_mode]
    /* The connection's lock first (the order the workers use too), held
       until its first receive is posted: a stop that finds it in the list
       in between must wait, or it could close the socket under this post. */
    EnterCriticalSection(&c->lock);
    EnterCriticalSection(&sv->lock);
    sv->starting--; /* from here it counts in `alive`, or is gone */
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
    if (sv->memory_after != 0 && sv->served == sv->memory_after)
        sv->memory_noted = private_bytes();
    LeaveCriticalSection(&sv->lock);
    if (!sv->quiet) {
        ovs_format_address(peer, text, sizeof text);
        printf("connection %lu from %s%s\n", c->id, text,
               ((unsigned long long)(ULONG_PTR)c >> 32) != 0 ? " (context above 4 GiB)" : "");
        fflush(stdout);
    }
    drop_owner = settle(c, post_receive(c, 0));
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
   that clients beyond the limit wait in the backlog. Called after every
   accept packet and every freed connection, and once a second by the main
   thread, which retries the slots whose post failed. */
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
   a connection; on failure (a client that gave up) it is closed, and so is
   any accept that ends once the stop has begun (the stop closed the
   listener: 995 on Windows). Either way the slot is idle again and is
   posted anew unless the server is stopping. */
static void accept_completed(struct server *sv, struct accept_slot *slot)
{
    SOCKET s = slot->s;
    struct sockaddr *local = NULL, *peer = NULL;
    struct sockaddr_storage peer_copy;
    int local_length = 0, peer_length = 0, ready = 0, retry_now = 1;
    DWORD error = 0, ignored_bytes, ignored_flags;

    memset(&peer_copy, 0, sizeof peer_copy);
    EnterCriticalSection(&sv->lock);
    if (sv->stopping) {
        /* The listener is closed: not asked. The socket is closed unused. */
        sv->accepts_aborted++;
        error = WSA_OPERATION_ABORTED;
    } else if (!WSAGetOverlappedResult(sv->listener, &slot->overlapped, &ignored_bytes, FALSE,
                                       &ignored_flags)) {
        /* The batch entry does not say how the accept ended; the listener
           does (open: the stop closes it only under this lock). A client
           that reset before it was accepted (WSAECONNRESET; 10057 under
           Wine) costs only itself. Anything else could fail again at once:
           the main thread posts this slot again within a second instead. */
        error = (DWORD)WSAGetLastError();
        retry_now = error == WSAECONNRESET || error == WSAENOTCONN;
    } else {
        /* The addresses point into the slot's buffer, which the next
           AcceptEx of this slot will overwrite: the peer's is copied out. */
        sv->get_addresses(slot->addresses, 0, (DWORD)ADDRESS_ROOM, (DWORD)ADDRESS_ROOM, &local,
                          &local_length, &peer, &peer_length);
        if (peer != NULL && peer_length > 0 && (size_t)peer_length <= sizeof peer_copy)
            memcpy(&peer_copy, peer, (size_t)peer_length);
        /* The accepted socket takes the listener's properties only with
           this option. Under the lock, because the stop closes the
           listener under it. */
        if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&sv->listener,
                       (int)sizeof sv->listener) == SOCKET_ERROR)
            ovs_report_wsa_error("setsockopt(SO_UPDATE_ACCEPT_CONTEXT)");
        else
            ready = 1;
    }
    /* The slot is idle from here: another worker may post it again. In
       the same hold of the lock the new connection keeps its place under
       --max-clients: `starting` until start_connection() counts it. */
    slot->s = INVALID_SOCKET;
    sv->posted--;
    if (ready)
        sv->starting++;
    /* Posted again now (the peer's address is already copied out), so that
       reaching --max-clients is seen here, before this connection can
       even end; and once more below, for a place that start_connection()
       gives back. */
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

/* Under sv->lock: a reference of our own on every connection, so that none
   is freed while we use it outside sv->lock (a connection's lock must never
   be taken under sv->lock: the workers take them the other way round). One
   whose count already reached 0 is on its way out and is left alone. The
   caller releases each pin and frees the array; NULL when there is no
   connection or no memory (*failed is then 1). */
static struct connection **pin_all(struct server *sv, unsigned long *n, int *failed)
{
    struct connection **pinned = NULL, *c;
    *n = 0;
    *failed = 0;
    if (sv->alive == 0)
        return NULL;
    pinned = (struct connection **)calloc(sv->alive, sizeof *pinned);
    if (pinned == NULL) {
        *failed = 1;
        return NULL;
    }
    for (c = sv->first; c != NULL; c = c->next) {
        LONG refs = c->references;
        while (refs > 0) {
            LONG seen = InterlockedCompareExchange(&c->references, refs + 1, refs);
            if (seen == refs) {
                pinned[(*n)++] = c;
                break;
            }
            refs = seen;
        }
    }
    return pinned;
}

// [cancel_receive]
/* Under c->lock: asks for the receive in flight to be cancelled. Returns 1
   when the connection was closed instead. CancelIoEx only asks: the receive's packet still comes, with 995
   when the cancel took effect, or with the data when the data came first.
   When the receive has already completed (its packet is queued but not yet
   handled: 1168, ERROR_NOT_FOUND) there is nothing to cancel, and the
   packet tells the same story. The memory stays until that packet. */
static int cancel_receive(struct connection *c)
{
    BOOL asked = CancelIoEx((HANDLE)c->s, &c->receive.overlapped);
    DWORD error = asked ? 0 : GetLastError();
    if (c->server->trace) {
        printf("connection %lu: CancelIoEx(receive) for the idle time-out: %s\n", c->id,
               asked ? "requested" : "nothing to cancel (it has completed)");
        fflush(stdout);
    }
    if (!asked && error != ERROR_NOT_FOUND) {
        /* Could not even ask: closing the socket aborts the receive. */
        ovs_report_error("CancelIoEx", (int)error);
        return close_connection(c, "CancelIoEx failed");
    }
    c->cancelled = 1;
    return 0;
}
// [cancel_receive]

// [sweep]
/* The idle time-out, run by the main thread every quarter of it (at least
   once a second). A connection is idle when its receive has waited
   --idle-timeout ms with nothing to echo; its receive is cancelled, and the
   packet decides (see completed()). The race with a receive that completes
   meanwhile is settled by c->lock: the worker that handles the packet takes
   it too, so the sweep sees either "receiving" (the packet has not been
   handled) or the new state, never half of it. --race-window (tests only)
   holds the lock that long between the decision and the cancel, so that
   data sent meanwhile completes the receive first: the other outcome. */
static void sweep(struct server *sv)
{
    struct connection **pinned;
    unsigned long n, i;
    int failed, drop_owner;
    EnterCriticalSection(&sv->lock);
    pinned = sv->stopping ? NULL : pin_all(sv, &n, &failed);
    LeaveCriticalSection(&sv->lock);
    if (pinned == NULL)
        return; /* nothing to sweep, or no memory now: next time */
    for (i = 0; i < n; i++) {
        struct connection *c = pinned[i];
        ULONGLONG quiet_for;
        drop_owner = 0;
        EnterCriticalSection(&c->lock);
        quiet_for = GetTickCount64() - c->last_active;
        if (!c->closed && !c->draining && !c->half_closed && !c->cancelled && c->receiving &&
            !c->sending && c->waiting == 0 && quiet_for >= sv->idle_timeout) {
            InterlockedIncrement(&sv->idle_cancels);
            if (sv->race_window != 0)
                Sleep(sv->race_window);
            drop_owner = cancel_receive(c);
        }
        LeaveCriticalSection(&c->lock);
        if (drop_owner)
            release(c);
        release(c); /* our pin */
    }
    free(pinned);
}
// [sweep]

// [stop]
/* The stop, in two stages. Drain: close the listener (every AcceptEx
   completes with an error), ask for no new data, echo what has arrived,
   then half-close; each connection ends when its client ends its side. Force,
   when --drain-timeout runs out: reset what is left. Then wait until every
   operation has completed and every context is freed, and stop the workers:
   one packet each. */
static int stop(struct server *sv, HANDLE *threads, DWORD n_threads)
{
    struct connection **pinned;
    unsigned long n = 0, i, receiving = 0, sending = 0;
    int failed, ok = 1;
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
    pinned = pin_all(sv, &n, &failed);
    LeaveCriticalSection(&sv->lock);
    if (failed) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        return -1;
    }
    for (i = 0; i < n; i++) {
        EnterCriticalSection(&pinned[i]->lock);
        receiving += (unsigned long)pinned[i]->receiving;
        sending += (unsigned long)pinned[i]->sending;
        LeaveCriticalSection(&pinned[i]->lock);
    }
    printf("stopping: closing %lu connections (%lu receives and %lu sends in flight): draining "
           "for at most %lu ms\n",
           n, receiving, sending, (unsigned long)sv->drain_timeout);
    fflush(stdout);
    for (i = 0; i < n; i++) {
        struct connection *c = pinned[i];
        int drop_owner = 0;
        EnterCriticalSection(&c->lock);
        if (!c->closed) {
            c->draining = 1;
            /* Half-closed now, or by the packet it waits for: the send's
               (an echo going out), or the receive's (an idle cancel). */
            drop_owner = settle(c, drain_step(c));
        }
        LeaveCriticalSection(&c->lock);
        if (drop_owner)
            release(c);
        release(c); /* our pin */
    }
    free(pinned);
    if (WaitForSingleObject(sv->all_gone, sv->drain_timeout) == WAIT_TIMEOUT) {
        EnterCriticalSection(&sv->lock);
        pinned = pin_all(sv, &n, &failed);
        LeaveCriticalSection(&sv->lock);
        if (failed) {
            ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
            return -1;
        }
        printf("stopping: the drain took too long: resetting %lu connections\n", n);
        fflush(stdout);
        for (i = 0; i < n; i++) {
            int drop_owner;
            EnterCriticalSection(&pinned[i]->lock);
            drop_owner = abort_connection(pinned[i], "reset by the stop");
            LeaveCriticalSection(&pinned[i]->lock);
            if (drop_owner) {
                InterlockedIncrement(&sv->forced);
                release(pinned[i]);
            }
            release(pinned[i]); /* our pin */
        }
        free(pinned);
    }
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

// [ifs_check]
/* Whether the provider behind this socket returns IFS handles (the flag
   chapter 2 prints). Microsoft: skipping the port on success "is only
   compatible with Layered Service Providers (LSP) that return Installable
   File Systems (IFS) handles". The accepted sockets are made by the same
   provider (same family, type and protocol), so the listener is asked once. */
static int provider_has_ifs_handles(SOCKET s)
{
    WSAPROTOCOL_INFOW info;
    int length = (int)sizeof info;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &length) == SOCKET_ERROR) {
        ovs_report_wsa_error("getsockopt(SO_PROTOCOL_INFOW)");
        return 0; /* not known: the safe answer */
    }
    return (info.dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
}
// [ifs_check]

// [pool_reserve]
/* Reserves the pool: address space for --max-clients connections, no
   memory yet (each place is committed when first used). Returns 0, or -1
   (reported). */
static int pool_reserve(struct server *sv)
{
    struct pool *pool = &sv->pool;
    SYSTEM_INFO system;
    size_t size = sizeof(struct connection) + 2 * (size_t)sv->buffer_size;
    unsigned long i;
    GetSystemInfo(&system);
    pool->places = sv->max_clients;
    /* Each place on pages of its own, so that one can be decommitted. */
    pool->slot_size = (size + system.dwPageSize - 1) / system.dwPageSize * system.dwPageSize;
    if (pool->slot_size > (size_t)-1 / pool->places) {
        fprintf(stderr, "the pool would not fit in the address space: lower --max-clients or "
                        "--buffer\n");
        return -1;
    }
    pool->free_list = (unsigned long *)calloc(pool->places, sizeof *pool->free_list);
    pool->committed = (unsigned char *)calloc(pool->places, 1);
    if (pool->free_list == NULL || pool->committed == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        return -1;
    }
    pool->base = (char *)VirtualAlloc(NULL, pool->slot_size * pool->places,
                                      MEM_RESERVE | (sv->guard_contexts ? MEM_TOP_DOWN : 0),
                                      PAGE_NOACCESS);
    if (pool->base == NULL) {
        ovs_report_error("VirtualAlloc", (int)GetLastError());
        return -1;
    }
    for (i = 0; i < pool->places; i++)
        pool->free_list[i] = i;
    pool->free_count = pool->places;
    return 0;
}
// [pool_reserve]

static void pool_release(struct server *sv)
{
    if (sv->pool.base != NULL)
        VirtualFree(sv->pool.base, 0, MEM_RELEASE);
    free(sv->pool.free_list);
    free(sv->pool.committed);
    memset(&sv->pool, 0, sizeof sv->pool);
}

static void print_fast_paths(const struct server *sv, int no_skip)
{
    printf("fast paths: skipping the port on success %s, up to %lu packets per call, %s\n",
           sv->skip ? "on"
           : no_skip ? "off (--no-skip)"
                     : "off (the provider does not return IFS handles)",
           (unsigned long)sv->batch,
           sv->use_pool ? "connections from a pool" : "no pool (--no-pool)");
}

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, "127.0.0.1"};
    static unsigned long long threads = 0, accepts = 16, max_clients = 1000,
                              buffer_size = 64 * 1024, idle_timeout = 0, drain_timeout = 5000,
                              memory_after = 0, race_window = 0, batch = 32;
    static int quiet = 0, trace = 0, guard_contexts = 0, no_skip = 0, no_pool = 0;
    const struct ovs_option options[] = {
        {"--no-skip", OVS_OPTION_FLAG, &no_skip, 0, 0},
        {"--batch", OVS_OPTION_NUMBER, &batch, 1, MAX_BATCH},
        {"--no-pool", OVS_OPTION_FLAG, &no_pool, 0, 0},
        {"--idle-timeout", OVS_OPTION_NUMBER, &idle_timeout, 1, 3600000},
        {"--drain-timeout", OVS_OPTION_NUMBER, &drain_timeout, 0, 600000},
        {"--threads", OVS_OPTION_NUMBER, &threads, 1, MAX_THREADS},
        {"--accepts", OVS_OPTION_NUMBER, &accepts, 1, 1000},
        {"--max-clients", OVS_OPTION_NUMBER, &max_clients, 1, 100000},
        {"--buffer", OVS_OPTION_NUMBER, &buffer_size, 16 * 1024, 1024 * 1024},
        {"--quiet", OVS_OPTION_FLAG, &quiet, 0, 0},
        {"--trace", OVS_OPTION_FLAG, &trace, 0, 0},
        {"--guard-contexts", OVS_OPTION_FLAG, &guard_contexts, 0, 0},
        {"--memory-after", OVS_OPTION_NUMBER, &memory_after, 1, 1000000},
        {"--race-window", OVS_OPTION_NUMBER, &race_window, 1, 10000},
    };
    struct server sv;
    struct sockaddr_storage bound;
    int bound_length = (int)sizeof bound;
    HANDLE workers[MAX_THREADS];
    DWORD n_workers = 0, t, tick;
    ULONGLONG topped_up;
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
    sv.idle_timeout = (DWORD)idle_timeout;
    sv.drain_timeout = (DWORD)drain_timeout;
    sv.memory_after = (unsigned long)memory_after;
    sv.race_window = (DWORD)race_window;
    sv.batch = (ULONG)batch;
    sv.use_pool = !no_pool;
    GetSystemInfo(&system);
    // [threads]
    /* Two workers per processor. The port's concurrency value (0: "as many
       concurrently running threads as there are processors") still limits
       how many of them it lets run at once, a count, not a thread per
       processor; the others take over while one waits. Under Wine every
       socket call waits for wineserver, and twice the workers kept it
       busier (measured: the column "--threads" of the benchmark). */
    if (threads == 0)
        threads = 2 * system.dwNumberOfProcessors < MAX_THREADS
                      ? 2 * system.dwNumberOfProcessors
                      : MAX_THREADS;
    // [threads]
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
    sv.skip = !no_skip && provider_has_ifs_handles(sv.listener);

    /* Counted before the port, the workers, the accept sockets and the stop
       machinery exist, and again after they are all gone; the listener,
       open now, is closed before the end, so it is left out of this count. */
    handles_at_start = ovs_count_handles() - 1;
    InitializeCriticalSection(&sv.lock);
    if (sv.use_pool && pool_reserve(&sv) != 0)
        status = OVS_EXIT_FAILURE;
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
    if (status != OVS_EXIT_OK) {
        /* reported */
    } else if (sv.slots == NULL) {
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
        if (sv.idle_timeout != 0)
            printf("idle connections are dropped after %lu ms\n", (unsigned long)sv.idle_timeout);
        print_fast_paths(&sv, no_skip);
        fflush(stdout);
        LeaveCriticalSection(&sv.lock);
        // [wait_for_stop]
        /* Accepting, echoing and closing all happen in the workers. This
           thread waits for the stop; meanwhile it sweeps for idle
           connections every quarter of --idle-timeout, and once a second
           posts again any accept whose post failed. */
        tick = ACCEPT_RETRY_MS;
        if (sv.idle_timeout != 0 && sv.idle_timeout / 4 < tick)
            tick = sv.idle_timeout / 4 > 10 ? sv.idle_timeout / 4 : 10;
        topped_up = GetTickCount64();
        while (WaitForSingleObject(sv.stop_event, tick) == WAIT_TIMEOUT) {
            if (GetTickCount64() - topped_up >= ACCEPT_RETRY_MS) {
                EnterCriticalSection(&sv.lock);
                post_accepts(&sv);
                LeaveCriticalSection(&sv.lock);
                topped_up = GetTickCount64();
            }
            if (sv.idle_timeout != 0)
                sweep(&sv);
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
        pool_release(&sv);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
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
    printf("fast paths: %llu receives and %llu sends done at once (handled where they were "
           "posted), %llu passed on to the port\n",
           sv.at_once[OP_RECEIVE], sv.at_once[OP_SEND], sv.passed_on);
    printf("batches: %llu packets in %llu calls (at most %lu each, the largest had %lu)\n",
           sv.packets, sv.batches, (unsigned long)sv.batch, (unsigned long)sv.largest_batch);
    if (sv.use_pool)
        printf("pool: %lu places of %lu KiB, at most %lu in use at once, %lu committed at most, "
               "%lu in use at the stop\n",
               sv.pool.places, (unsigned long)(sv.pool.slot_size / 1024), sv.pool.most_in_use,
               sv.pool.most_committed, sv.pool.in_use);
    else
        printf("pool: off (a calloc and a free for each connection)\n");
    pool_release(&sv);
    handles_at_end = ovs_count_handles();
    printf("idle time-outs: %ld receives cancelled, %ld connections dropped, the data came "
           "first on %ld\n",
           (long)sv.idle_cancels, (long)sv.idle_dropped, (long)sv.data_won);
    printf("the stop: %ld connections drained, %ld reset, %ld failed\n", (long)sv.drained,
           (long)sv.forced, (long)sv.failed_in_stop);
    printf("bytes: %llu received, %llu echoed, %llu received but not echoed, %llu discarded "
           "after our end of stream\n",
           sv.received, sv.echoed, sv.received - sv.echoed, sv.discarded);
    if (sv.memory_noted != 0) {
        SIZE_T now = private_bytes();
        printf("private memory: %lu KiB after %lu connections, %lu KiB at the stop\n",
               (unsigned long)(sv.memory_noted / 1024), sv.memory_after,
               (unsigned long)(now / 1024));
        if (now > sv.memory_noted + MEMORY_SLACK) {
            fprintf(stderr, "memory grew by %lu KiB\n",
                    (unsigned long)((now - sv.memory_noted) / 1024));
            status = OVS_EXIT_FAILURE;
        }
    }
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
