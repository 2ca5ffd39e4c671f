/*
 * Chapter 5 - many clients on one thread: the load client.
 *
 * Shows: one thread driving many connections with completion routines, the
 * client side of the server's pattern. Each connection sends a message,
 * checks every byte of its echo, then sends the next; while a message is
 * going out a receive is always posted, so even a 16 MiB message is read
 * back while it is still being written (an echo server cannot hold what a
 * client does not read).
 *
 * Every byte is known in advance: connection i's stream is a pseudo-random
 * pattern of 65521 bytes (a prime), repeated, that starts at position
 * i * 7919 (ovs_echo_byte() in common/ovs_load.c), so no two connections
 * send the same bytes and an echo from the wrong place, the wrong
 * connection or in the wrong order is caught.
 *
 * Usage: ch05_client [options] <host> <port>
 *   --connections C  connections at once (default 1)
 *   --messages M     messages per connection, one at a time (default 1)
 *   --size S         bytes per message (default 64; K and M allowed)
 *   --sizes A,B,...  message sizes in turn instead (e.g. 5,1M: a short
 *                    message, then a long one)
 *   --half-close     shut down the sending side after the last message and
 *                    expect the end of stream after the last echo
 *   --timeout MS     fail when nothing happens for MS milliseconds
 *                    (default 10000)
 *   --quiet          print only the result
 * Exit code 0 only when every byte of every echo was verified.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch05_client [--connections C] [--messages M] [--size S | --sizes A,B,...] "
    "[--half-close] [--timeout MS] [--quiet] <host> <port>";

#define RECEIVE_BUFFER (64u * 1024u)
#define MAX_SIZES 16
#define MAX_REPORTS 10 /* failures reported one by one; the rest are counted */

struct client;

/* One connection: its two operations, each with its own WSAOVERLAPPED. */
struct connection {
    WSAOVERLAPPED send_ov, recv_ov;
    struct client *client;
    SOCKET s;
    unsigned long index;
    unsigned long messages_started, messages_done;
    unsigned long long sent;        /* stream bytes handed to the system */
    unsigned long long message_end; /* stream offset where this message ends */
    unsigned long long verified;    /* stream bytes echoed and checked */
    int send_outstanding, recv_outstanding;
    int finished, failed;
    char buffer[RECEIVE_BUFFER];
};

struct client {
    struct connection *connections;
    unsigned long count, messages, finished, failures, reports;
    size_t n_sizes;
    unsigned long long sizes[MAX_SIZES];
    unsigned long long round_trips, bytes_verified;
    const char *pattern; /* from ovs_echo_pattern(): long enough for any message */
    int half_close, quiet;
    unsigned long progress; /* bumped by every routine: the time-out watches it */
};

static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags);
static void CALLBACK receive_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                       DWORD flags);

static void fail(struct connection *c, const char *what)
{
    struct client *cl = c->client;
    if (c->failed || c->finished)
        return;
    c->failed = 1;
    cl->failures++;
    if (cl->reports++ < MAX_REPORTS)
        fprintf(stderr, "connection %lu: %s\n", c->index + 1, what);
    /* Closing aborts what is still in flight; the routines still run. */
    closesocket(c->s);
}

static unsigned long long message_size(const struct client *cl, unsigned long message)
{
    return cl->sizes[message % cl->n_sizes];
}

// [post_send]
/* Sends the rest of the current message, straight from the shared pattern:
   ovs_echo_from() says where connection i's bytes from offset k are. */
static int post_send(struct connection *c)
{
    WSABUF buffer;
    unsigned long long left = c->message_end - c->sent;
    buffer.buf = (char *)ovs_echo_from(c->client->pattern, c->index, c->sent);
    buffer.len = (ULONG)left;
    memset(&c->send_ov, 0, sizeof c->send_ov);
    c->send_ov.hEvent = (WSAEVENT)c;
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send_ov, send_completed) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        char what[80];
        snprintf(what, sizeof what, "WSASend() failed at once: %d", WSAGetLastError());
        fail(c, what);
        return -1;
    }
    c->send_outstanding = 1;
    return 0;
}
// [post_send]

static int post_receive(struct connection *c)
{
    WSABUF buffer;
    DWORD flags = 0;
    buffer.buf = c->buffer;
    buffer.len = RECEIVE_BUFFER;
    memset(&c->recv_ov, 0, sizeof c->recv_ov);
    c->recv_ov.hEvent = (WSAEVENT)c;
    if (WSARecv(c->s, &buffer, 1, NULL, &flags, &c->recv_ov, receive_completed) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        char what[80];
        snprintf(what, sizeof what, "WSARecv() failed at once: %d", WSAGetLastError());
        fail(c, what);
        return -1;
    }
    c->recv_outstanding = 1;
    return 0;
}

static void start_message(struct connection *c)
{
    c->message_end = c->sent + message_size(c->client, c->messages_started);
    c->messages_started++;
    (void)post_send(c);
}

/* The next message may start only when the whole echo is back AND the
   send's routine has run: it reuses send_ov, and nothing orders the
   routines of two different operations. Called by both routines. */
static void start_next_if_due(struct connection *c)
{
    if (!c->failed && !c->finished && !c->send_outstanding && c->sent == c->message_end &&
        c->verified == c->message_end && c->messages_started < c->client->messages)
        start_message(c);
}

static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags)
{
    struct connection *c = (struct connection *)overlapped->hEvent;
    (void)flags;
    c->send_outstanding = 0;
    c->client->progress++;
    if (c->failed || c->finished)
        return;
    if (error != 0) {
        char what[64];
        snprintf(what, sizeof what, "the send failed with %lu", (unsigned long)error);
        fail(c, what);
        return;
    }
    if (bytes == 0 || bytes > c->message_end - c->sent) {
        fail(c, "WSASend reported an impossible count");
        return;
    }
    c->sent += bytes;
    if (c->sent < c->message_end) {
        (void)post_send(c); /* defensive: an overlapped send takes it all */
    } else if (c->client->half_close && c->messages_started == c->client->messages) {
        /* Nothing more to send: say so. The echo of the rest, then the end
           of stream, must still come. */
        if (shutdown(c->s, SD_SEND) == SOCKET_ERROR) {
            char what[64];
            snprintf(what, sizeof what, "shutdown() failed: %d", WSAGetLastError());
            fail(c, what);
        }
    } else {
        start_next_if_due(c); /* the echo may be back already */
    }
}

// [receive_completed]
static void CALLBACK receive_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                       DWORD flags)
{
    struct connection *c = (struct connection *)overlapped->hEvent;
    struct client *cl = c->client;
    DWORD i;
    (void)flags;
    c->recv_outstanding = 0;
    cl->progress++;
    if (c->failed || c->finished)
        return;
    if (error != 0) {
        char what[64];
        snprintf(what, sizeof what, "the receive failed with %lu", (unsigned long)error);
        fail(c, what);
        return;
    }
    if (bytes == 0) {
        char what[128];
        if (cl->half_close && c->messages_done == cl->messages) {
            c->finished = 1; /* the end of stream we were waiting for */
            cl->finished++;
            closesocket(c->s);
            return;
        }
        snprintf(what, sizeof what, "the server closed the connection after %llu of %llu bytes",
                 c->verified, c->message_end);
        fail(c, what);
        return;
    }
    /* Every byte checked against what was sent at that offset. */
    for (i = 0; i < bytes; i++) {
        if (c->verified + i >= c->message_end ||
            c->buffer[i] != ovs_echo_byte(c->index, c->verified + i)) {
            char what[128];
            snprintf(what, sizeof what, "echoed byte %llu is wrong (or was never sent)",
                     c->verified + i);
            fail(c, what);
            return;
        }
    }
    c->verified += bytes;
    cl->bytes_verified += bytes;
    if (c->verified == c->message_end) {
        /* A round trip: the whole message is back. */
        cl->round_trips++;
        c->messages_done++;
        if (c->messages_done == cl->messages && !cl->half_close) {
            c->finished = 1;
            cl->finished++;
            closesocket(c->s); /* graceful: everything sent was echoed */
            return;
        }
        start_next_if_due(c); /* unless the send's routine is still due */
    }
    /* More is due (the rest of this message, the next one, or the end of
       stream), unless a failed send has just closed the socket. */
    if (!c->failed)
        (void)post_receive(c);
}
// [receive_completed]

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, NULL};
    static unsigned long long connections = 1, messages = 1, size = 64, timeout = 10000;
    static const char *sizes_text = NULL;
    static int half_close = 0, quiet = 0; /* static: see chapter 1's client */
    const struct ovs_option options[] = {
        {"--connections", OVS_OPTION_NUMBER, &connections, 1, 10000},
        {"--messages", OVS_OPTION_NUMBER, &messages, 1, 100000000},
        {"--size", OVS_OPTION_NUMBER, &size, 1, OVS_MAX_MESSAGE},
        {"--sizes", OVS_OPTION_TEXT, &sizes_text, 0, 0},
        {"--half-close", OVS_OPTION_FLAG, &half_close, 0, 0},
        {"--timeout", OVS_OPTION_NUMBER, &timeout, 1, 600000},
        {"--quiet", OVS_OPTION_FLAG, &quiet, 0, 0},
    };
    struct client cl;
    unsigned long long largest = 0;
    unsigned long i, last_progress, outstanding;
    char *pattern = NULL;
    SOCKET *sockets;
    double started, elapsed;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 2, 2);
    if (rc != 0)
        return rc;
    memset(&cl, 0, sizeof cl);
    cl.count = (unsigned long)connections;
    cl.messages = (unsigned long)messages;
    cl.half_close = half_close;
    cl.quiet = quiet;
    cl.sizes[0] = size;
    cl.n_sizes = 1;
    if (sizes_text != NULL &&
        ovs_parse_number_list(sizes_text, 1, OVS_MAX_MESSAGE, cl.sizes, MAX_SIZES, &cl.n_sizes) != 0)
        return ovs_usage_error(usage, "--sizes needs sizes from 1 to 256M, separated by commas");
    for (i = 0; i < cl.n_sizes; i++)
        if (cl.sizes[i] > largest)
            largest = cl.sizes[i];

    // [connect_all]
    /* Every connection is made before any I/O is posted. connect blocks,
       and a blocking Winsock call waits alertably: with routines pending,
       one could run inside it. Here none can, because none is pending yet. */
    cl.connections = (struct connection *)calloc(cl.count, sizeof *cl.connections);
    sockets = (SOCKET *)calloc(cl.count, sizeof *sockets);
    pattern = ovs_echo_pattern(largest);
    if (cl.connections == NULL || sockets == NULL || pattern == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        free(cl.connections);
        free(sockets);
        free(pattern);
        return OVS_EXIT_FAILURE;
    }
    rc = ovs_connect_many(usage, args[0], args[1], sockets, cl.count);
    if (rc != 0) {
        free(cl.connections);
        free(sockets);
        free(pattern);
        return rc;
    }
    for (i = 0; i < cl.count; i++)
        cl.connections[i].s = sockets[i];
    free(sockets);
    cl.pattern = pattern;
    if (!quiet)
        printf("%lu connection(s) made; each sends %lu message(s)\n", cl.count, cl.messages);
    fflush(stdout);
    // [connect_all]

    // [run]
    started = ovs_seconds();
    for (i = 0; i < cl.count; i++) {
        struct connection *c = &cl.connections[i];
        c->client = &cl;
        c->index = i;
        /* A receive is always posted, so echoes are read while a long
           message is still being sent. */
        if (post_receive(c) == 0)
            start_message(c);
    }
    /* The one wait: every routine runs in here. It is bounded; a time-out
       with no routine run at all means the exchange is stuck. */
    last_progress = cl.progress;
    while (cl.finished + cl.failures < cl.count) {
        if (SleepEx((DWORD)timeout, TRUE) == WAIT_IO_COMPLETION || cl.progress != last_progress) {
            last_progress = cl.progress;
            continue;
        }
        fprintf(stderr, "nothing happened for %llu ms: giving up\n", timeout);
        for (i = 0; i < cl.count; i++)
            fail(&cl.connections[i], "stuck");
        break;
    }
    elapsed = ovs_seconds() - started;
    // [run]

    /* Nothing may be freed while a routine is still due (closing the
       sockets above aborted the operations; their routines come now). */
    for (;;) {
        outstanding = 0;
        for (i = 0; i < cl.count; i++)
            outstanding += (unsigned long)(cl.connections[i].send_outstanding +
                                           cl.connections[i].recv_outstanding);
        if (outstanding == 0 || SleepEx(5000, TRUE) != WAIT_IO_COMPLETION)
            break;
    }
    if (outstanding != 0) {
        /* The system may still write into the buffers and WSAOVERLAPPEDs:
           free nothing, and skip WSACleanup, which would cancel them
           behind our back (as the server does). */
        fprintf(stderr, "%lu operations still outstanding 5 s after the sockets were closed\n",
                outstanding);
        return OVS_EXIT_FAILURE;
    }

    ovs_print_load_result(cl.count, cl.messages, cl.round_trips, cl.bytes_verified, elapsed);
    if (cl.failures == 0 && cl.round_trips == (unsigned long long)cl.count * cl.messages) {
        printf("all %llu round trips verified%s\n", cl.round_trips,
               half_close ? ", then the end of stream on every connection" : "");
        status = OVS_EXIT_OK;
    } else {
        fprintf(stderr, "%lu of %lu connections failed\n", cl.failures, cl.count);
    }
    fflush(stdout);
    free(cl.connections);
    free(pattern);
    ovs_winsock_stop();
    return status;
}
