/*
 * Chapter 3 - completion by event objects: the server.
 *
 * Shows: WSARecv with a WSAOVERLAPPED whose hEvent is an event object, and
 * both ways such a call can end. It returns 0 when data was already waiting
 * (completed at once: the byte count is valid and the event is set), or
 * fails with WSA_IO_PENDING when it has to wait for data; then the server
 * waits on the event with WSAWaitForMultipleEvents and asks
 * WSAGetOverlappedResult for the outcome. Before waiting it calls
 * WSAGetOverlappedResult(..., fWait=FALSE, ...) once, to show the error
 * WSA_IO_INCOMPLETE (996) that the blog post mistakes for a wait result.
 *
 * A message is a 4-byte length and then the body, and TCP delivers bytes in
 * pieces of any size: the server keeps posting receives until the whole
 * header, then the whole body, is in. It prints the path of the first
 * receive of the header and of the body, then totals.
 *
 * Usage: ch03_server [--wait-for-data] [--count N] [--timeout MS] <port> [address]
 *   port             0 lets the system choose; printed as "listening on ..."
 *   address          where to listen (default 127.0.0.1; ::1 for IPv6)
 *   --wait-for-data  wait until the client's data is there (WSAPoll) before
 *                    the first WSARecv, so that it completes at once
 *   --count N        serve N clients one after another (default 1)
 *   --timeout MS     give up on a client that sends nothing for MS
 *                    milliseconds (default 10000)
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch03_server [--wait-for-data] [--count N] [--timeout MS] <port> [address]";

/* How long a cancelled receive may take to end before the server stops. */
#define DRAIN_TIMEOUT_MS 5000u

/* Everything one connection's receives need, kept together so that the
   buffer and the WSAOVERLAPPED outlive every receive posted with them. */
struct receiver {
    SOCKET s;
    WSAEVENT event;
    WSAOVERLAPPED overlapped; /* one receive in flight at a time, so one */
    unsigned char header[OVS_HEADER_SIZE];
    char chunk[64 * 1024];
    DWORD timeout_ms;
    unsigned long completed_at_once, pending;
    int stuck; /* a cancelled receive never ended: never free or reuse this */
};

// [cancel]
/* A receive we stop waiting for is still running: the system may write into
   the buffer and the WSAOVERLAPPED until it completes. Ask for it to be
   cancelled, then wait (bounded) until it has really ended, before anything
   is freed or reused. Returns -1 when it never ended: then the receiver must
   not be touched again. */
static int cancel_and_drain(struct receiver *r)
{
    DWORD bytes, cancel_error = 0;
    int error, outcome;

    if (!CancelIoEx((HANDLE)r->s, &r->overlapped)) {
        cancel_error = GetLastError();
        /* ERROR_NOT_FOUND: nothing to cancel, the receive already completed. */
        if (cancel_error != ERROR_NOT_FOUND)
            ovs_report_error("CancelIoEx", (int)cancel_error);
    }
    /* Waits on the receive's event; if CancelIoEx failed, closes the socket
       first (see common/ovs_net.c). */
    outcome = ovs_drain_cancelled(&r->s, &r->overlapped, cancel_error, DRAIN_TIMEOUT_MS, &bytes,
                                  &error);
    if (outcome == 1)
        printf("the cancelled receive had completed anyway, with %lu bytes\n",
               (unsigned long)bytes);
    else if (outcome == 0 && error != 0)
        printf("the cancelled receive ended with %d\n", error);
    else if (outcome == 0)
        printf("the receive ended when its socket was closed\n");
    else
        fprintf(stderr, "the cancelled receive did not end within %lu ms\n",
                (unsigned long)DRAIN_TIMEOUT_MS);
    fflush(stdout);
    if (outcome < 0)
        r->stuck = 1;
    return outcome < 0 ? -1 : 0;
}
// [cancel]

/* Posts one WSARecv for up to `length` bytes and returns only when it has
   completed: `*received` is then the byte count (0: the peer closed its
   side). With a `label` the path taken is printed (with `only_if_pending`,
   only when the receive has to wait); without, it is only counted. */
static int receive_some(struct receiver *r, char *data, size_t length, const char *label,
                        int only_if_pending, DWORD *received)
{
    WSABUF buffer;
    DWORD flags, wait_result;
    int error;

    buffer.buf = data;
    buffer.len = (ULONG)length;
    // [post_recv]
    /* The event is manual-reset and an earlier receive that completed at
       once left it set: clear it, so that "set" means "this receive". */
    if (!WSAResetEvent(r->event)) {
        ovs_report_wsa_error("WSAResetEvent");
        return -1;
    }
    memset(&r->overlapped, 0, sizeof r->overlapped);
    r->overlapped.hEvent = r->event;
    flags = 0; /* in/out: WSARecv may have changed it last time */
    /* lpNumberOfBytesRecvd is NULL: with an overlapped call the docs ask for
       NULL, and the count comes from WSAGetOverlappedResult on every path. */
    if (WSARecv(r->s, &buffer, 1, NULL, &flags, &r->overlapped, NULL) == 0) {
        r->completed_at_once++;
        // [post_recv]
        // [immediate]
        /* Done already. The event was set as well, but the result is
           handled here, once; nobody must wait for it again. */
        if (!WSAGetOverlappedResult(r->s, &r->overlapped, received, FALSE, &flags)) {
            ovs_report_wsa_error("WSAGetOverlappedResult");
            return -1;
        }
        if (label != NULL && !only_if_pending) {
            DWORD probe = WSAWaitForMultipleEvents(1, &r->event, FALSE, 0, FALSE);
            if (probe == WSA_WAIT_FAILED) {
                ovs_report_wsa_error("WSAWaitForMultipleEvents");
                return -1;
            }
            printf("%s: WSARecv completed at once with %lu bytes\n", label,
                   (unsigned long)*received);
            printf("%s: its event is set too (a wait with timeout 0 returned %lu)\n", label,
                   (unsigned long)probe);
            fflush(stdout);
        }
        return 0;
        // [immediate]
    }
    // [not_pending]
    error = WSAGetLastError();
    if (error != WSA_IO_PENDING) {
        /* Any other error: the receive never started, and its event will
           never be set. Waiting for it would wait forever. */
        ovs_report_error("WSARecv", error);
        return -1;
    }
    // [not_pending]
    r->pending++;
    // [incomplete]
    /* Asking for the result of a receive that is still running fails with
       WSA_IO_INCOMPLETE (996). That is an error code of this call, meaning
       "not yet"; it is never a value that a wait function returns. */
    if (WSAGetOverlappedResult(r->s, &r->overlapped, received, FALSE, &flags)) {
        if (label != NULL)
            printf("%s: WSARecv pending, then completed before we asked\n", label);
    } else {
        error = WSAGetLastError();
        if (error != WSA_IO_INCOMPLETE) {
            ovs_report_error("WSAGetOverlappedResult", error);
            return -1;
        }
        if (label != NULL) {
            /* Printed only after the check above, so that a peer waiting
               for this line cannot make the data arrive before it. */
            printf("%s: WSARecv pending (%d WSA_IO_PENDING)\n", label, (int)WSA_IO_PENDING);
            printf("%s: WSAGetOverlappedResult(fWait=FALSE) failed with %d "
                   "(WSA_IO_INCOMPLETE): not finished yet\n", label, error);
            fflush(stdout);
        }
        // [incomplete]
        // [wait]
        /* The thread blocks here until the receive completes and the system
           sets the event, or until the timeout: never wait without a bound. */
        wait_result = WSAWaitForMultipleEvents(1, &r->event, FALSE, r->timeout_ms, FALSE);
        if (wait_result == WSA_WAIT_TIMEOUT) {
            printf("no data for %lu ms: cancelling the pending WSARecv\n",
                   (unsigned long)r->timeout_ms);
            fflush(stdout);
            cancel_and_drain(r);
            fprintf(stderr, "the client sent nothing for %lu ms\n", (unsigned long)r->timeout_ms);
            return -1;
        }
        if (wait_result != WSA_WAIT_EVENT_0) {
            if (wait_result == WSA_WAIT_FAILED)
                ovs_report_wsa_error("WSAWaitForMultipleEvents");
            else
                fprintf(stderr, "WSAWaitForMultipleEvents returned %lu, not an event index\n",
                        (unsigned long)wait_result);
            cancel_and_drain(r);
            return -1;
        }
        if (label != NULL) {
            printf("%s: WSAWaitForMultipleEvents returned %lu (WSA_WAIT_EVENT_0 + %lu)\n",
                   label, (unsigned long)wait_result,
                   (unsigned long)(wait_result - WSA_WAIT_EVENT_0));
        }
        /* The event is set, so the receive is over: this call does not wait.
           It fails if the receive failed (e.g. the peer reset). */
        if (!WSAGetOverlappedResult(r->s, &r->overlapped, received, FALSE, &flags)) {
            ovs_report_wsa_error("WSAGetOverlappedResult");
            return -1;
        }
        // [wait]
        if (label != NULL)
            printf("%s: WSAGetOverlappedResult: %lu bytes\n", label, (unsigned long)*received);
    }
    if (label != NULL)
        fflush(stdout);
    return 0;
}

/* Receives one whole message: the 4-byte header, then the body a chunk at a
   time. Either part can take several receives. */
static int receive_message(struct receiver *r, struct ovs_digest *digest)
{
    size_t header_length = 0;
    unsigned long long announced, remaining;
    char later_label[40];
    int shown_later_pending = 0;
    DWORD n;

    ovs_digest_init(digest);
    // [receive_loop]
    while (header_length < sizeof r->header) {
        if (receive_some(r, (char *)r->header + header_length, sizeof r->header - header_length,
                         header_length == 0 ? "header" : NULL, 0, &n) != 0)
            return -1;
        if (n == 0) {
            fprintf(stderr, "the client closed the connection before sending a message\n");
            return -1;
        }
        header_length += n;
    }
    announced = remaining = ovs_decode_length(r->header);
    if (announced > OVS_MAX_MESSAGE) {
        fprintf(stderr, "the client announced %llu bytes, more than the limit\n", announced);
        return -1;
    }
    printf("the message body is %llu bytes\n", announced);
    fflush(stdout);
    while (remaining > 0) {
        size_t wanted = remaining < sizeof r->chunk ? (size_t)remaining : sizeof r->chunk;
        unsigned long pending_before = r->pending;
        /* Shown: the first receive of the body, and the first later one
           that has to wait for data (the rest are only counted). */
        const char *label = NULL;
        snprintf(later_label, sizeof later_label, "body at byte %llu", digest->length);
        if (remaining == announced)
            label = "body";
        else if (!shown_later_pending)
            label = later_label;
        if (receive_some(r, r->chunk, wanted, label, remaining != announced, &n) != 0)
            return -1;
        if (label == later_label && r->pending != pending_before)
            shown_later_pending = 1;
        if (n == 0) {
            fprintf(stderr, "the client closed the connection after %llu of %llu bytes\n",
                    digest->length, announced);
            return -1;
        }
        ovs_digest_add(digest, r->chunk, n);
        remaining -= n;
    }
    // [receive_loop]
    return 0;
}

/* With --wait-for-data: block (bounded) until the socket has data, so the
   first WSARecv finds it there and completes at once. */
static int wait_for_data(SOCKET s, DWORD timeout_ms)
{
    int rc = ovs_wait_readable(s, timeout_ms);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        fprintf(stderr, "the client sent nothing for %lu ms\n", (unsigned long)timeout_ms);
        return -1;
    }
    printf("data is waiting: the first WSARecv should complete at once\n");
    fflush(stdout);
    return 0;
}

static int serve_client(SOCKET listener, struct receiver *r, int wait_first)
{
    struct sockaddr_storage peer;
    int peer_length = (int)sizeof peer;
    char peer_text[OVS_ADDRESS_TEXT_MAX];
    struct ovs_digest digest;
    int status = OVS_EXIT_FAILURE;

    r->s = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (r->s == INVALID_SOCKET) {
        ovs_report_wsa_error("accept");
        return -1;
    }
    ovs_format_address((const struct sockaddr *)&peer, peer_text, sizeof peer_text);
    printf("accepted connection from %s\n", peer_text);
    fflush(stdout);
    r->completed_at_once = r->pending = 0;
    if ((!wait_first || wait_for_data(r->s, r->timeout_ms) == 0) &&
        receive_message(r, &digest) == 0) {
        printf("receives: %lu completed at once, %lu pending\n", r->completed_at_once,
               r->pending);
        ovs_print_received(&digest);
        if (ovs_send_reply(r->s, &digest) == 0)
            status = OVS_EXIT_OK;
    }
    /* FIN after the reply: the client's last recv() returns 0. */
    if (status == OVS_EXIT_OK && shutdown(r->s, SD_SEND) == SOCKET_ERROR) {
        ovs_report_wsa_error("shutdown");
        status = OVS_EXIT_FAILURE;
    }
    /* Every receive has completed (or was cancelled and has ended) by now,
       so closing the socket cannot pull anything from under the system.
       (A failed cancel may have closed it already.) */
    if (r->s != INVALID_SOCKET && !r->stuck)
        closesocket(r->s);
    r->s = INVALID_SOCKET;
    return status;
}

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, "127.0.0.1"};
    static int wait_first = 0; /* static: see chapter 1's client */
    static unsigned long long count = 1, timeout_ms = 10000;
    unsigned long long served;
    const struct ovs_option options[] = {
        {"--wait-for-data", OVS_OPTION_FLAG, &wait_first, 0, 0},
        {"--count", OVS_OPTION_NUMBER, &count, 1, 1000},
        {"--timeout", OVS_OPTION_NUMBER, &timeout_ms, 1, 600000},
    };
    struct receiver *r;
    SOCKET listener;
    int rc, status = OVS_EXIT_OK;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 1, 2);
    if (rc != 0)
        return rc;
    rc = ovs_start_server(usage, args[0], args[1], ovs_overlapped_socket, &listener);
    if (rc != 0)
        return rc;

    // [create_event]
    /* A manual-reset event, not signalled: the system sets it when the
       receive it is attached to completes. The receiver, with its 64 KiB
       buffer, lives on the heap until every client has been served. */
    r = (struct receiver *)calloc(1, sizeof *r);
    if (r == NULL)
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
    else if ((r->event = WSACreateEvent()) == WSA_INVALID_EVENT)
        ovs_report_wsa_error("WSACreateEvent");
    // [create_event]
    if (r == NULL || r->event == WSA_INVALID_EVENT) {
        status = OVS_EXIT_FAILURE;
    } else {
        r->timeout_ms = (DWORD)timeout_ms;
        for (served = 0; served < count; served++) {
            rc = serve_client(listener, r, wait_first);
            if (r->stuck) {
                /* A receive still owns r's buffer: freeing r, or WSACleanup
                   cancelling behind our back, is not allowed. End here. */
                fprintf(stderr, "stopping: a receive is still outstanding\n");
                return OVS_EXIT_FAILURE;
            }
            if (rc < 0) {
                status = OVS_EXIT_FAILURE;
                break; /* accept failed: no point trying again */
            }
            if (rc != OVS_EXIT_OK)
                status = OVS_EXIT_FAILURE; /* reported; serve the next one */
        }
        if (!WSACloseEvent(r->event)) {
            ovs_report_wsa_error("WSACloseEvent");
            status = OVS_EXIT_FAILURE;
        }
    }
    free(r);
    closesocket(listener);
    ovs_winsock_stop();
    return status;
}
