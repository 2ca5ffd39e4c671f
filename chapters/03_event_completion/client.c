/*
 * Chapter 3 - completion by event objects: the client.
 *
 * Shows: WSASend with a WSAOVERLAPPED whose hEvent is an event object - the
 * seed blog's sending client, done right. The call either completes at once
 * (returns 0: the event is set too) or fails with WSA_IO_PENDING (the data
 * is still going out; wait on the event). Either way WSAGetOverlappedResult
 * says how many bytes went. Any other failure means
 * nothing was started and no event will ever be set. A completed send may
 * have taken fewer bytes than offered: the rest is posted again.
 *
 * Usage: ch03_client [--size N] [--per-call N] <host> <port> [message]
 *   message    the text to send (default "Network is Computer")
 *   --size N   send a generated message of N bytes instead (K and M allowed;
 *              --size 16M is large enough to make WSASend pend)
 *   --per-call N  offer each WSASend at most N bytes, as if the system had
 *              taken only that much: shows the rest being posted again
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch03_client [--size N] [--per-call N] <host> <port> [message]";

/* How long one WSASend may stay pending before the client gives up. */
#define SEND_TIMEOUT_MS 10000u

/* Waits for a pending WSASend and fetches its byte count. On any failure the
   send is cancelled and drained first: the caller's buffers and `overlapped`
   must not go away while the system may still read them. */
static int finish_pending_send(SOCKET s, WSAEVENT event, WSAOVERLAPPED *overlapped,
                               DWORD *sent)
{
    DWORD flags = 0, wait_result;
    // [wait_send]
    /* The thread blocks here until the system has taken all the bytes (or
       failed) and set the event - or until the timeout. */
    wait_result = WSAWaitForMultipleEvents(1, &event, FALSE, SEND_TIMEOUT_MS, FALSE);
    if (wait_result == WSA_WAIT_EVENT_0) {
        printf("WSAWaitForMultipleEvents returned %lu (WSA_WAIT_EVENT_0 + %lu)\n",
               (unsigned long)wait_result, (unsigned long)(wait_result - WSA_WAIT_EVENT_0));
        if (WSAGetOverlappedResult(s, overlapped, sent, FALSE, &flags)) {
            printf("WSAGetOverlappedResult: %lu bytes sent\n", (unsigned long)*sent);
            return 0;
        }
        ovs_report_wsa_error("WSAGetOverlappedResult");
        return -1;
    }
    // [wait_send]
    if (wait_result == WSA_WAIT_TIMEOUT)
        fprintf(stderr, "WSASend still pending after %lu ms: cancelling it\n",
                (unsigned long)SEND_TIMEOUT_MS);
    else if (wait_result == WSA_WAIT_FAILED)
        ovs_report_wsa_error("WSAWaitForMultipleEvents");
    else
        fprintf(stderr, "WSAWaitForMultipleEvents returned %lu, not an event index\n",
                (unsigned long)wait_result);
    if (!CancelIoEx((HANDLE)s, overlapped) && GetLastError() != ERROR_NOT_FOUND)
        ovs_report_error("CancelIoEx", (int)GetLastError());
    /* fWait=TRUE (allowed: the send has an event) waits until the
       cancelled send is over; 995 is WSA_OPERATION_ABORTED. */
    if (!WSAGetOverlappedResult(s, overlapped, sent, TRUE, &flags))
        fprintf(stderr, "the cancelled send ended with %d\n", WSAGetLastError());
    return -1;
}

/* The most buffers send_all_overlapped() is given (header and body). */
#define MAX_BUFFERS 2

/* Sends every byte described by `buffers` with overlapped WSASend calls.
   The array is advanced past what was sent, so it is changed. A non-zero
   `per_call` offers each WSASend at most that many bytes, which makes every
   completed send a partial one - the case the system may produce at any time. */
static int send_all_overlapped(SOCKET s, WSAEVENT event, WSABUF *buffers, DWORD count,
                               unsigned long long per_call)
{
    WSAOVERLAPPED overlapped;
    WSABUF offer[MAX_BUFFERS];
    int error;

    while (count > 0) {
        unsigned long long left = ovs_buffers_length(buffers, count);
        DWORD sent = 0, offer_count = ovs_offer_buffers(buffers, count, per_call, offer);
        // [post_send]
        /* The event is manual-reset: clear it so that "set" means this send. */
        if (!WSAResetEvent(event)) {
            ovs_report_wsa_error("WSAResetEvent");
            return -1;
        }
        memset(&overlapped, 0, sizeof overlapped);
        overlapped.hEvent = event;
        /* lpNumberOfBytesSent is NULL, as the docs ask for an overlapped
           call: the count comes from WSAGetOverlappedResult on both paths. */
        if (WSASend(s, offer, offer_count, NULL, 0, &overlapped, NULL) == 0) {
            /* Completed at once: the event is set too, but this is the one
               place the result is handled. */
            DWORD flags = 0;
            if (!WSAGetOverlappedResult(s, &overlapped, &sent, FALSE, &flags)) {
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
            if (finish_pending_send(s, event, &overlapped, &sent) != 0)
                return -1;
        }
        // [post_send]
        // [partial_send]
        if (sent == 0) {
            fprintf(stderr, "WSASend completed without sending anything\n");
            return -1;
        }
        if (sent < left)
            printf("partial send: %lu of %llu bytes, posting the rest\n", (unsigned long)sent,
                   left);
        /* Move the array past what went out: whole buffers are skipped, a
           partly sent one is trimmed (ovs_advance_buffers, common/). */
        ovs_advance_buffers(&buffers, &count, sent);
        // [partial_send]
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, OVS_DEFAULT_MESSAGE};
    static unsigned long long generated_size = 0, per_call = 0; /* see ch01 */
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
        {"--per-call", OVS_OPTION_NUMBER, &per_call, 1, OVS_MAX_MESSAGE},
    };
    unsigned char header[OVS_HEADER_SIZE];
    WSABUF buffers[2];
    WSAEVENT event;
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
    // [create_event]
    /* Not signalled, manual-reset: the system sets it when the send
       attached to it completes. */
    event = WSACreateEvent();
    if (event == WSA_INVALID_EVENT)
        ovs_report_wsa_error("WSACreateEvent");
    // [create_event]
    if (body != NULL && event != WSA_INVALID_EVENT) {
        /* Header and body go out in one WSASend, gathered from two buffers
           that stay untouched until the send has completed. */
        ovs_encode_length((uint32_t)length, header);
        buffers[0].buf = (char *)header;
        buffers[0].len = (ULONG)sizeof header;
        buffers[1].buf = body;
        buffers[1].len = (ULONG)length;
        if (send_all_overlapped(s, event, buffers, 2, per_call) == 0) {
            printf("sent %llu bytes\n", (unsigned long long)length);
            status = ovs_receive_and_check_reply(s, body, length);
        }
    }
    if (event != WSA_INVALID_EVENT && !WSACloseEvent(event)) {
        ovs_report_wsa_error("WSACloseEvent");
        status = OVS_EXIT_FAILURE;
    }
    free(body);
    closesocket(s);
    ovs_winsock_stop();
    return status;
}
