/*
 * Chapter 7 - AcceptEx and ConnectEx: the load client, connecting with
 * ConnectEx.
 *
 * Shows: chapter 6's client with the connects done by overlapped I/O too.
 * Each socket is bound, tied to the port, and connected with ConnectEx; the
 * connect's packet arrives like any other, and its worker starts the
 * connection's receive and first message. With --send-with-connect the first
 * message goes out with the connect itself.
 *
 * Usage: ch07_client [options] <host> <port>
 *   --threads N          worker threads (default: one per processor)
 *   --connections C      connections at once (default 1)
 *   --messages M         messages per connection, one at a time (default 1)
 *   --size S             bytes per message (default 64; K and M allowed)
 *   --sizes A,B,...      message sizes in turn instead (e.g. 5,1M)
 *   --send-with-connect  send the first message with ConnectEx
 *   --half-close         shut down the sending side after the last message
 *                        and expect the end of stream after the last echo
 *   --timeout MS         fail when nothing happens for MS milliseconds
 *                        (default 10000)
 *   --quiet              print only the result
 * Every connection goes to the first address the host resolves to.
 * Exit code 0 only when every byte of every echo was verified.
 */
#include "ovs.h"

#include <mswsock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch07_client [--threads N] [--connections C] [--messages M] [--size S | "
    "--sizes A,B,...] [--send-with-connect] [--half-close] [--timeout MS] [--quiet] <host> "
    "<port>";

#define RECEIVE_BUFFER (64u * 1024u)
#define MAX_SIZES 16
#define MAX_THREADS 64
#define MAX_REPORTS 10 /* failures reported one by one; the rest are counted */
#define STOP_KEY ((ULONG_PTR)0)
#define CONNECT_DATA (16u * 1024u) /* the most sent with the connect */

enum op_kind { OP_CONNECT, OP_RECEIVE, OP_SEND };
struct operation {
    OVERLAPPED overlapped; /* recovered with CONTAINING_RECORD */
    enum op_kind kind;
};

struct client;

struct connection {
    struct operation connect, receive, send;
    CRITICAL_SECTION lock; /* its two completions may run on two workers */
    struct client *client;
    SOCKET s;
    unsigned long index, messages_done;
    unsigned long long sent, message_end, verified;
    /* The packets of one connection can be handled in any order by two
       workers: the echo of a message can be seen before the packet of the
       send that carried it. The next message waits for both. */
    int send_in_flight, echo_done;
    int ended; /* finished or failed: counted once */
    DWORD connect_sent; /* ConnectEx's byte count: lives as long as the call */
    char buffer[RECEIVE_BUFFER];
};

struct client {
    HANDLE port, all_ended;
    struct connection *connections;
    unsigned long count, messages;
    unsigned long long sizes[MAX_SIZES];
    size_t n_sizes;
    const char *pattern;
    LPFN_CONNECTEX connect_ex;
    struct sockaddr_storage server; /* where every connection goes */
    int server_length;
    int half_close, send_with_connect;
    volatile LONG outstanding; /* operations in flight, all connections */
    volatile LONG ended, failures, reports, progress, connected;
};

/* Under c->lock: this connection is over (well or badly); the last one to
   end wakes main(). */
static void end_connection(struct connection *c, int failed, const char *what)
{
    struct client *cl = c->client;
    if (c->ended)
        return;
    c->ended = 1;
    if (failed) {
        InterlockedIncrement(&cl->failures);
        if (InterlockedIncrement(&cl->reports) <= MAX_REPORTS)
            fprintf(stderr, "connection %lu: %s\n", c->index + 1, what);
    }
    /* Closing aborts what is still in flight; those packets still come. */
    closesocket(c->s);
    if ((unsigned long)InterlockedIncrement(&cl->ended) == cl->count)
        SetEvent(cl->all_ended);
}

/* Under c->lock: ends the connection with the failure of `call`, in the
   words every program here uses: "<call>() failed: <code> <text>". */
static void end_with_error(struct connection *c, const char *call, int code)
{
    char text[512], what[640];
    ovs_format_error(code, text, sizeof text);
    snprintf(what, sizeof what, "%s() failed: %d %s", call, code, text);
    end_connection(c, 1, what);
}

// [post_send]
/* Under c->lock: sends the rest of the current message from the shared
   pattern. The count of operations in flight goes up first: the packet can
   be taken by another worker before WSASend returns. */
static void post_send(struct connection *c)
{
    WSABUF buffer;
    buffer.buf = (char *)ovs_echo_from(c->client->pattern, c->index, c->sent);
    buffer.len = (ULONG)(c->message_end - c->sent);
    memset(&c->send.overlapped, 0, sizeof c->send.overlapped);
    InterlockedIncrement(&c->client->outstanding);
    c->send_in_flight = 1;
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send.overlapped, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        char what[64];
        snprintf(what, sizeof what, "WSASend() failed at once: %d", WSAGetLastError());
        InterlockedDecrement(&c->client->outstanding); /* no packet will come */
        c->send_in_flight = 0;
        end_connection(c, 1, what);
    }
}
// [post_send]

static void post_receive(struct connection *c)
{
    WSABUF buffer;
    DWORD flags = 0;
    buffer.buf = c->buffer;
    buffer.len = RECEIVE_BUFFER;
    memset(&c->receive.overlapped, 0, sizeof c->receive.overlapped);
    InterlockedIncrement(&c->client->outstanding);
    if (WSARecv(c->s, &buffer, 1, NULL, &flags, &c->receive.overlapped, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        char what[64];
        snprintf(what, sizeof what, "WSARecv() failed at once: %d", WSAGetLastError());
        InterlockedDecrement(&c->client->outstanding);
        end_connection(c, 1, what);
    }
}

static void start_message(struct connection *c)
{
    struct client *cl = c->client;
    c->echo_done = 0;
    c->message_end = c->sent + cl->sizes[c->messages_done % cl->n_sizes];
    post_send(c);
}

/* Under c->lock: a message is over when its echo is verified and its send's
   packet has been handled, in whichever order they came. */
static void message_over(struct connection *c)
{
    struct client *cl = c->client;
    c->messages_done++;
    if (c->messages_done < cl->messages)
        start_message(c);
    else if (!cl->half_close)
        end_connection(c, 0, NULL);
}

/* Under c->lock: a send packet. */
static void send_completed(struct connection *c, DWORD bytes)
{
    if (bytes == 0 || bytes > c->message_end - c->sent) {
        end_connection(c, 1, "WSASend reported an impossible count");
        return;
    }
    c->sent += bytes;
    c->send_in_flight = 0;
    if (c->sent < c->message_end) {
        post_send(c); /* defensive: an overlapped send takes it all */
        return;
    }
    if (c->client->half_close && c->messages_done + 1 == c->client->messages &&
        shutdown(c->s, SD_SEND) == SOCKET_ERROR) {
        end_connection(c, 1, "shutdown() failed");
        return;
    }
    if (c->echo_done)
        message_over(c); /* the echo was handled first */
}

// [receive_completed]
/* Under c->lock: a receive packet. Every byte is checked against what was
   sent at that offset. */
static void receive_completed(struct connection *c, DWORD bytes)
{
    struct client *cl = c->client;
    DWORD i;
    if (bytes == 0) {
        if (cl->half_close && c->messages_done == cl->messages)
            end_connection(c, 0, NULL); /* the end of stream we waited for */
        else
            end_connection(c, 1, "the server closed the connection early");
        return;
    }
    for (i = 0; i < bytes; i++)
        if (c->verified + i >= c->message_end ||
            c->buffer[i] != ovs_echo_byte(c->index, c->verified + i)) {
            end_connection(c, 1, "an echoed byte is wrong (or was never sent)");
            return;
        }
    c->verified += bytes;
    if (c->verified == c->message_end) {
        c->echo_done = 1;
        if (!c->send_in_flight)
            message_over(c); /* else the send's packet finishes the message */
        if (c->ended)
            return;
    }
    post_receive(c); /* the rest of this message, or the end of stream */
}
// [receive_completed]

// [post_connect]
/* Under c->lock: connects the bound socket with ConnectEx. With
   --send-with-connect the start of the first message rides along (at most
   CONNECT_DATA bytes), and the connect's packet counts as that send. Not
   all of a long message: Microsoft strongly advises against sending a huge
   buffer with ConnectEx; and no receive can be posted before the
   connection exists, while a server that echoes to nobody reading stops
   taking bytes, so a connect carrying many megabytes might never
   complete. */
static void post_connect(struct connection *c)
{
    struct client *cl = c->client;
    const char *data = NULL;
    DWORD length = 0;
    if (cl->send_with_connect) {
        c->echo_done = 0;
        c->message_end = cl->sizes[0];
        c->send_in_flight = 1;
        data = ovs_echo_from(cl->pattern, c->index, 0);
        length = c->message_end < CONNECT_DATA ? (DWORD)c->message_end : CONNECT_DATA;
    }
    memset(&c->connect.overlapped, 0, sizeof c->connect.overlapped);
    InterlockedIncrement(&cl->outstanding);
    if (!cl->connect_ex(c->s, (const struct sockaddr *)&cl->server, cl->server_length,
                        (PVOID)data, length, &c->connect_sent, &c->connect.overlapped) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
        int error = WSAGetLastError();
        InterlockedDecrement(&cl->outstanding); /* no packet will come */
        c->send_in_flight = 0;
        end_with_error(c, "ConnectEx", error);
    }
}
// [post_connect]

// [connect_completed]
/* Under c->lock: the connect's packet, for a connection that is now
   established. ConnectEx leaves the socket "in the default state for a
   connected socket": the options set before the connect stay off until
   SO_UPDATE_CONNECT_CONTEXT is set. The option is also needed before
   shutdown (used by --half-close) or getpeername. */
static void connect_completed(struct connection *c, DWORD bytes)
{
    struct client *cl = c->client;
    if (setsockopt(c->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) == SOCKET_ERROR) {
        char what[80];
        snprintf(what, sizeof what, "setsockopt(SO_UPDATE_CONNECT_CONTEXT) failed: %d",
                 WSAGetLastError());
        end_connection(c, 1, what);
        return;
    }
    InterlockedIncrement(&cl->connected);
    post_receive(c); /* always one posted: echoes are read while sending */
    if (c->ended)
        return;
    if (!cl->send_with_connect)
        start_message(c);
    else if (bytes > 0)
        send_completed(c, bytes); /* the first message, or its start, went */
    else
        post_send(c);
}
// [connect_completed]

// [worker]
static DWORD WINAPI worker(LPVOID arg)
{
    struct client *cl = (struct client *)arg;
    for (;;) {
        DWORD bytes = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *overlapped = NULL;
        BOOL ok = GetQueuedCompletionStatus(cl->port, &bytes, &key, &overlapped, INFINITE);
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
        if (c->ended) {
            /* Aborted by our own close: nothing to do. */
        } else if (!ok) {
            /* `error` is the system's code; WSAGetOverlappedResult gives
               the Winsock one (10061 for a refused connect). */
            DWORD ignored_bytes, ignored_flags;
            int code = (int)error;
            if (!WSAGetOverlappedResult(c->s, overlapped, &ignored_bytes, FALSE, &ignored_flags))
                code = WSAGetLastError();
            end_with_error(c, op->kind == OP_CONNECT   ? "ConnectEx"
                              : op->kind == OP_RECEIVE ? "WSARecv"
                                                       : "WSASend",
                           code);
        } else if (op->kind == OP_CONNECT) {
            connect_completed(c, bytes);
        } else if (op->kind == OP_RECEIVE) {
            receive_completed(c, bytes);
        } else {
            send_completed(c, bytes);
        }
        LeaveCriticalSection(&c->lock);
        InterlockedIncrement(&cl->progress);
        InterlockedDecrement(&cl->outstanding); /* this packet's operation */
    }
}
// [worker]

/* Resolves the server's address as every client here does (a bad port or
   an unknown host is a usage error), keeping the first address. */
static int resolve_server(struct client *cl, const char *host, const char *port_text)
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
    memcpy(&cl->server, addresses->ai_addr, addresses->ai_addrlen);
    cl->server_length = (int)addresses->ai_addrlen;
    freeaddrinfo(addresses);
    return 0;
}

// [make_socket]
/* A socket for one connection: overlapped, bound to the wildcard address
   of the server's family (ConnectEx needs a bound socket), and tied to the
   port with the connection as its key. */
static int make_socket(struct client *cl, struct connection *c)
{
    struct sockaddr_storage local;
    c->s = WSASocketW(cl->server.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (c->s == INVALID_SOCKET) {
        ovs_report_wsa_error("WSASocketW");
        return -1;
    }
    memset(&local, 0, sizeof local); /* any address, port 0 */
    local.ss_family = cl->server.ss_family;
    if (bind(c->s, (const struct sockaddr *)&local, cl->server_length) == SOCKET_ERROR) {
        ovs_report_wsa_error("bind");
        return -1;
    }
    if (CreateIoCompletionPort((HANDLE)c->s, cl->port, (ULONG_PTR)c, 0) == NULL) {
        ovs_report_error("CreateIoCompletionPort", (int)GetLastError());
        return -1;
    }
    return 0;
}
// [make_socket]

// [load_connect_ex]
/* ConnectEx is a Microsoft extension: its address is asked of the provider
   behind a socket of the right kind. */
static int load_connect_ex(struct client *cl, SOCKET s)
{
    GUID id = WSAID_CONNECTEX;
    DWORD bytes = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &cl->connect_ex,
                 sizeof cl->connect_ex, &bytes, NULL, NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAIoctl(ConnectEx)");
        return -1;
    }
    return 0;
}
// [load_connect_ex]

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, NULL};
    static unsigned long long threads = 0, connections = 1, messages = 1, size = 64,
                              timeout = 10000;
    static const char *sizes_text = NULL;
    static int half_close = 0, quiet = 0, send_with_connect = 0; /* static: see chapter 1 */
    const struct ovs_option options[] = {
        {"--threads", OVS_OPTION_NUMBER, &threads, 1, MAX_THREADS},
        {"--connections", OVS_OPTION_NUMBER, &connections, 1, 10000},
        {"--messages", OVS_OPTION_NUMBER, &messages, 1, 100000000},
        {"--size", OVS_OPTION_NUMBER, &size, 1, OVS_MAX_MESSAGE},
        {"--sizes", OVS_OPTION_TEXT, &sizes_text, 0, 0},
        {"--send-with-connect", OVS_OPTION_FLAG, &send_with_connect, 0, 0},
        {"--half-close", OVS_OPTION_FLAG, &half_close, 0, 0},
        {"--timeout", OVS_OPTION_NUMBER, &timeout, 1, 600000},
        {"--quiet", OVS_OPTION_FLAG, &quiet, 0, 0},
    };
    struct client cl;
    HANDLE workers[MAX_THREADS];
    DWORD n_workers = 0, t;
    SYSTEM_INFO system;
    char *pattern, text[OVS_ADDRESS_TEXT_MAX];
    unsigned long long largest = 0, round_trips = 0, verified = 0;
    unsigned long i, made = 0;
    double started, elapsed;
    LONG seen;
    int rc, status = OVS_EXIT_FAILURE, clean = 1;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 2, 2);
    if (rc != 0)
        return rc;
    memset(&cl, 0, sizeof cl);
    cl.count = (unsigned long)connections;
    cl.messages = (unsigned long)messages;
    cl.half_close = half_close;
    cl.send_with_connect = send_with_connect;
    cl.sizes[0] = size;
    cl.n_sizes = 1;
    if (sizes_text != NULL &&
        ovs_parse_number_list(sizes_text, 1, OVS_MAX_MESSAGE, cl.sizes, MAX_SIZES, &cl.n_sizes) != 0)
        return ovs_usage_error(usage, "--sizes needs sizes from 1 to 256M, separated by commas");
    for (i = 0; i < cl.n_sizes; i++)
        if (cl.sizes[i] > largest)
            largest = cl.sizes[i];
    GetSystemInfo(&system);
    if (threads == 0)
        threads = system.dwNumberOfProcessors < MAX_THREADS ? system.dwNumberOfProcessors
                                                            : MAX_THREADS;
    rc = resolve_server(&cl, args[0], args[1]);
    if (rc != 0)
        return rc;

    cl.connections = (struct connection *)calloc(cl.count, sizeof *cl.connections);
    pattern = ovs_echo_pattern(largest);
    if (cl.connections == NULL || pattern == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        free(cl.connections);
        free(pattern);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    cl.pattern = pattern;

    // [set_up]
    /* One port for every connection, the workers, and a bound socket per
       connection, tied to the port. Nothing is connected yet. */
    cl.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    cl.all_ended = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (cl.port == NULL || cl.all_ended == NULL) {
        ovs_report_error("CreateIoCompletionPort/CreateEvent", (int)GetLastError());
        clean = 0;
    }
    for (i = 0; i < cl.count; i++) {
        struct connection *c = &cl.connections[i];
        c->client = &cl;
        c->index = i;
        c->s = INVALID_SOCKET;
        c->connect.kind = OP_CONNECT;
        c->receive.kind = OP_RECEIVE;
        c->send.kind = OP_SEND;
        InitializeCriticalSection(&c->lock);
        if (clean && make_socket(&cl, c) != 0)
            clean = 0;
    }
    if (clean && load_connect_ex(&cl, cl.connections[0].s) != 0)
        clean = 0;
    for (t = 0; clean && t < (DWORD)threads; t++) {
        workers[t] = CreateThread(NULL, 0, worker, &cl, 0, NULL);
        if (workers[t] == NULL) {
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
        for (t = 0; t < n_workers; t++)
            PostQueuedCompletionStatus(cl.port, 0, STOP_KEY, NULL);
        if (n_workers > 0)
            WaitForMultipleObjects(n_workers, workers, TRUE, 5000);
        for (t = 0; t < n_workers; t++)
            CloseHandle(workers[t]);
        for (i = 0; i < cl.count; i++) {
            if (cl.connections[i].s != INVALID_SOCKET)
                closesocket(cl.connections[i].s);
            DeleteCriticalSection(&cl.connections[i].lock);
        }
        if (cl.port != NULL)
            CloseHandle(cl.port);
        if (cl.all_ended != NULL)
            CloseHandle(cl.all_ended);
        free(cl.connections);
        free(pattern);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    if (!quiet) {
        ovs_format_address((const struct sockaddr *)&cl.server, text, sizeof text);
        printf("connecting %lu connection(s) to %s with ConnectEx, %lu worker threads; each "
               "sends %lu message(s)%s\n",
               cl.count, text, (unsigned long)n_workers, cl.messages,
               send_with_connect ? ", the first with the connect" : "");
    }
    fflush(stdout);

    // [run]
    started = ovs_seconds();
    for (i = 0; i < cl.count; i++) {
        struct connection *c = &cl.connections[i];
        EnterCriticalSection(&c->lock);
        post_connect(c);
        LeaveCriticalSection(&c->lock);
    }
    /* Wait until every connection has ended; fail if nothing happens at all
       for --timeout. */
    seen = cl.progress;
    while (WaitForSingleObject(cl.all_ended, (DWORD)timeout) == WAIT_TIMEOUT) {
        if (cl.progress != seen) {
            seen = cl.progress;
            continue;
        }
        fprintf(stderr, "nothing happened for %llu ms: giving up\n", timeout);
        for (i = 0; i < cl.count; i++) {
            EnterCriticalSection(&cl.connections[i].lock);
            end_connection(&cl.connections[i], 1, "stuck");
            LeaveCriticalSection(&cl.connections[i].lock);
        }
    }
    elapsed = ovs_seconds() - started;
    // [run]

    /* The last packets (a send that completed after its echo was checked,
       the operations the closes aborted) may still be on their way: the
       connections live until none is in flight, then the workers stop. */
    for (i = 0; cl.outstanding > 0 && i < 5000; i++)
        Sleep(1);
    if (cl.outstanding > 0) {
        fprintf(stderr, "operations still in flight: the memory is not freed\n");
        return OVS_EXIT_FAILURE;
    }
    for (t = 0; t < n_workers; t++)
        if (!PostQueuedCompletionStatus(cl.port, 0, STOP_KEY, NULL))
            ovs_report_error("PostQueuedCompletionStatus", (int)GetLastError());
    if (WaitForMultipleObjects(n_workers, workers, TRUE, 5000) != WAIT_OBJECT_0) {
        fprintf(stderr, "the worker threads did not stop\n");
        return OVS_EXIT_FAILURE;
    }
    for (i = 0; i < cl.count; i++) {
        round_trips += cl.connections[i].messages_done;
        verified += cl.connections[i].verified;
        DeleteCriticalSection(&cl.connections[i].lock);
    }
    made = (unsigned long)cl.connected;
    if (!quiet)
        printf("%lu of %lu connection(s) made with ConnectEx\n", made, cl.count);
    ovs_print_load_result(cl.count, cl.messages, round_trips, verified, elapsed);
    if (cl.failures == 0 && round_trips == (unsigned long long)cl.count * cl.messages) {
        printf("all %llu round trips verified%s\n", round_trips,
               half_close ? ", then the end of stream on every connection" : "");
        status = OVS_EXIT_OK;
    } else {
        fprintf(stderr, "%ld of %lu connections failed\n", (long)cl.failures, cl.count);
    }
    fflush(stdout);
    for (t = 0; t < n_workers; t++)
        CloseHandle(workers[t]);
    CloseHandle(cl.port);
    CloseHandle(cl.all_ended);
    free(cl.connections);
    free(pattern);
    ovs_winsock_stop();
    return status;
}
