/*
 * Chapter 3 - completion by event objects: the client.
 *
 * Shows: WSASend with a WSAOVERLAPPED whose hEvent is an event object - the
 * blog post's sending client, done right (see docs/errata.md). The call either completes at once
 * (returns 0: the event is set too) or fails with WSA_IO_PENDING (the data
 * is still going out; wait on the event). Either way WSAGetOverlappedResult
 * says how many bytes went. Any other failure means nothing was started and
 * no event will ever be set. A send that is still pending when the time
 * limit runs out is cancelled, and its buffers are kept until it has ended.
 *
 * Usage: ch03_client [--size N] [--per-call N] [--send-timeout MS] <host> <port> [message]
 *   message          the text to send (default "Network is Computer")
 *   --size N         send a generated message of N bytes instead (K and M
 *                    allowed; with --size 16M WSASend returns WSA_IO_PENDING)
 *   --per-call N     offer each WSASend at most N bytes (the program holds
 *                    the rest back), to watch the rest being posted again
 *   --send-timeout MS  give up on a WSASend still pending after MS
 *                    milliseconds (default 10000)
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: ch03_client [--size N] [--per-call N] [--send-timeout MS] "
                            "<host> <port> [message]";

/* How long a cancelled send may take to end before the client stops. */
#define DRAIN_TIMEOUT_MS 5000u

/* The send in flight: the WSAOVERLAPPED and the buffers it points to live
   here, on the heap, until the send has ended, whatever happens. */
struct sender {
    SOCKET s;
    WSAEVENT event;
    WSAOVERLAPPED overlapped;
    unsigned char header[OVS_HEADER_SIZE];
    WSABUF buffers[2]; /* what is left to send: header, body */
    DWORD send_timeout_ms;
    int stuck; /* a cancelled send never ended: never free this */
};

/* Waits for a pending WSASend and fetches its byte count. If it does not
   complete in time, it is cancelled, and the client waits (bounded) until it
   has really ended: the buffers and the WSAOVERLAPPED must not go away while
   the system may still read them. */
static int finish_pending_send(struct sender *c, DWORD *sent)
{
    DWORD flags = 0, wait_result, cancel_error = 0;
    int error, outcome;
    // [wait_send]
    /* The thread blocks here until the system has taken all the bytes (or
       failed) and set the event - or until the time limit. */
    wait_result = WSAWaitForMultipleEvents(1, &c->event, FALSE, c->send_timeout_ms, FALSE);
    if (wait_result == WSA_WAIT_EVENT_0) {
        printf("WSAWaitForMultipleEvents returned %lu (WSA_WAIT_EVENT_0 + %lu)\n",
               (unsigned long)wait_result, (unsigned long)(wait_result - WSA_WAIT_EVENT_0));
        if (WSAGetOverlappedResult(c->s, &c->overlapped, sent, FALSE, &flags)) {
            printf("WSAGetOverlappedResult: %lu bytes sent\n", (unsigned long)*sent);
            return 0;
        }
        ovs_report_wsa_error("WSAGetOverlappedResult");
        return -1;
    }
    // [wait_send]
    if (wait_result == WSA_WAIT_TIMEOUT)
        printf("WSASend still pending after %lu ms: cancelling it\n",
               (unsigned long)c->send_timeout_ms);
    else if (wait_result == WSA_WAIT_FAILED)
        ovs_report_wsa_error("WSAWaitForMultipleEvents");
    else
        fprintf(stderr, "WSAWaitForMultipleEvents returned %lu, not an event index\n",
                (unsigned long)wait_result);
    fflush(stdout);
    if (!CancelIoEx((HANDLE)c->s, &c->overlapped)) {
        cancel_error = GetLastError();
        if (cancel_error != ERROR_NOT_FOUND)
            ovs_report_error("CancelIoEx", (int)cancel_error);
    }
    /* Bounded wait for the send to end (the socket is closed first if the
       cancel request failed): see ovs_drain_cancelled in common/. */
    outcome = ovs_drain_cancelled(&c->s, &c->overlapped, cancel_error, DRAIN_TIMEOUT_MS, sent,
                                  &error);
    if (outcome == 0 && error != 0)
        printf("the cancelled send ended with %d\n", error);
    else if (outcome == 0)
        printf("the send ended when its socket was closed\n");
    else if (outcome == 1)
        printf("the cancelled send had completed anyway (%lu bytes)\n", (unsigned long)*sent);
    else
        c->stuck = 1;
    fflush(stdout);
    return -1;
}

/* Sends every byte that c->buffers describes with overlapped WSASend calls,
   moving the array past what went out. A non-zero `per_call` offers each
   WSASend at most that many bytes: the program itself holds the rest back
   for the next call. */
static int send_all_overlapped(struct sender *c, unsigned long long per_call)
{
    WSABUF offer[2], *left_buffers = c->buffers;
    DWORD count = 2;
    int error;

    while (count > 0) {
        unsigned long long left = ovs_buffers_length(left_buffers, count);
        DWORD sent = 0, n_offer = ovs_offer_buffers(left_buffers, count, per_call, offer);
        unsigned long long offered = ovs_buffers_length(offer, n_offer);
        if (offered < left)
            printf("offered %llu of %llu bytes (--per-call)\n", offered, left);
        // [post_send]
        /* The event is manual-reset: clear it so that "set" means this send. */
        if (!WSAResetEvent(c->event)) {
            ovs_report_wsa_error("WSAResetEvent");
            return -1;
        }
        memset(&c->overlapped, 0, sizeof c->overlapped);
        c->overlapped.hEvent = c->event;
        /* lpNumberOfBytesSent is NULL, as the docs ask for an overlapped
           call: the count comes from WSAGetOverlappedResult on both paths. */
        if (WSASend(c->s, offer, n_offer, NULL, 0, &c->overlapped, NULL) == 0) {
            /* Completed at once: the event is set too, but this is the one
               place the result is handled. */
            DWORD flags = 0;
            if (!WSAGetOverlappedResult(c->s, &c->overlapped, &sent, FALSE, &flags)) {
                ovs_report_wsa_error("WSAGetOverlappedResult");
                return -1;
            }
            printf("WSASend completed at once: %lu bytes sent\n", (unsigned long)sent);
        } else {
            error = WSAGetLastError();
            if (error != WSA_IO_PENDING) {
                /* Nothing was started: no event will come. Report, stop. */
                ovs_report_error("WSASend", error);
                return -1;
            }
            printf("WSASend pending (%d WSA_IO_PENDING): waiting on its event\n", error);
            if (finish_pending_send(c, &sent) != 0)
                return -1;
        }
        // [post_send]
        // [send_rest]
        /* An overlapped send completes when the system has taken all it was
           offered, so `sent` equals `offered`. The array is moved past what
           went out all the same; ovs_advance_buffers refuses a count that
           makes no progress, which would loop forever. */
        if (ovs_advance_buffers(&left_buffers, &count, sent) != 0) {
            fprintf(stderr, "WSASend() reported %lu of the %llu bytes offered: giving up\n",
                    (unsigned long)sent, offered);
            return -1;
        }
        // [send_rest]
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, OVS_DEFAULT_MESSAGE};
    static unsigned long long generated_size = 0, per_call = 0, send_timeout = 10000; /* see ch01 */
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
        {"--per-call", OVS_OPTION_NUMBER, &per_call, 1, OVS_MAX_MESSAGE},
        {"--send-timeout", OVS_OPTION_NUMBER, &send_timeout, 1, 600000},
    };
    struct sender *c;
    char *body;
    size_t length;
    SOCKET s;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 2,
                        3);
    if (rc != 0)
        return rc;
    rc = ovs_start_client(usage, args[0], args[1], ovs_overlapped_socket, &s);
    if (rc != 0)
        return rc;
    body = ovs_make_body(args[2], generated_size, &length);
    c = (struct sender *)calloc(1, sizeof *c);
    if (c == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        free(body);
        closesocket(s);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    c->s = s;
    c->send_timeout_ms = (DWORD)send_timeout;
    // [create_event]
    /* Not signalled, manual-reset: the system sets it when the send
       attached to it completes. */
    c->event = WSACreateEvent();
    if (c->event == WSA_INVALID_EVENT)
        ovs_report_wsa_error("WSACreateEvent");
    // [create_event]
    if (body != NULL && c->event != WSA_INVALID_EVENT) {
        /* Header and body go out in one WSASend, gathered from two buffers
           that stay untouched until the send has completed. */
        ovs_describe_message(c->header, body, length, c->buffers);
        if (send_all_overlapped(c, per_call) == 0) {
            printf("sent %llu bytes\n", (unsigned long long)length);
            status = ovs_receive_and_check_reply(c->s, body, length);
        }
    }
    if (c->stuck) {
        /* The system may still read `body` and write `c->overlapped`: free
           nothing, and skip WSACleanup (it would cancel behind our back). */
        fprintf(stderr, "stopping: the cancelled send did not end within %lu ms\n",
                (unsigned long)DRAIN_TIMEOUT_MS);
        return OVS_EXIT_FAILURE;
    }
    if (c->event != WSA_INVALID_EVENT && !WSACloseEvent(c->event)) {
        ovs_report_wsa_error("WSACloseEvent");
        status = OVS_EXIT_FAILURE;
    }
    if (c->s != INVALID_SOCKET)
        closesocket(c->s);
    free(c);
    free(body);
    ovs_winsock_stop();
    return status;
}
