/*
 * Chapter 3 - the bare pattern: one overlapped WSASend completed by an event.
 *
 * Shows the four steps and nothing else: post the send (start it) with a
 * WSAOVERLAPPED whose hEvent is an event object; check which of three results
 * the call gave (done at once, pending, failed); wait on the event if it is
 * pending; collect the outcome with WSAGetOverlappedResult. client.c and server.c follow the same pattern
 * with every path printed, and the tests drive each path.
 *
 * Usage: ch03_bare <host> <port>   (sends "Network is Computer" to ch03_server)
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: ch03_bare <host> <port>";

/* A send we stop waiting for is still running: the system may read the
   buffers and write the WSAOVERLAPPED until it ends. So ask for it to be
   cancelled, wait (bounded) until it has ended, and only then let the caller
   go on; if it never ends, stop the program instead. The chapter explains
   this in "Giving up on a receive is not the end of it". Returns -1. */
static long long give_up(SOCKET *s, WSAOVERLAPPED *overlapped)
{
    DWORD cancel_error = CancelIoEx((HANDLE)*s, overlapped) ? 0 : GetLastError();
    DWORD sent;
    int error;

    if (ovs_drain_cancelled(s, overlapped, cancel_error, 5000, &sent, &error) < 0)
        exit(OVS_EXIT_FAILURE); /* never return while it may still run */
    fprintf(stderr, "WSASend did not complete in time\n");
    WSACloseEvent(overlapped->hEvent);
    return -1;
}

/* Sends the buffers with one overlapped WSASend; returns the byte count, or
   -1 after reporting why (*s is INVALID_SOCKET if it had to be closed). The
   buffers and the WSAOVERLAPPED must stay put until the send has ended, so
   this function never returns before that. */
// [pattern]
static long long send_overlapped(SOCKET *s, WSABUF *buffers, DWORD count)
{
    WSAOVERLAPPED overlapped;
    DWORD sent = 0, flags = 0;
    long long result = -1;

    memset(&overlapped, 0, sizeof overlapped);
    overlapped.hEvent = WSACreateEvent(); /* manual-reset, not signalled */
    if (overlapped.hEvent == WSA_INVALID_EVENT) {
        ovs_report_wsa_error("WSACreateEvent");
        return -1;
    }
    /* 1. Post: start the send. The byte-count pointer is NULL. */
    if (WSASend(*s, buffers, count, NULL, 0, &overlapped, NULL) == SOCKET_ERROR) {
        /* 2. Not done at once: either it is running, or it never started
              (and then no event will ever be set). */
        if (WSAGetLastError() != WSA_IO_PENDING) {
            ovs_report_wsa_error("WSASend");
            WSACloseEvent(overlapped.hEvent);
            return -1;
        }
        /* 3. Wait for the event, with a time limit. */
        if (WSAWaitForMultipleEvents(1, &overlapped.hEvent, FALSE, 10000, FALSE) !=
            WSA_WAIT_EVENT_0)
            return give_up(s, &overlapped); /* explained later in the chapter */
    }
    /* 4. Collect: done at once or after the wait, the outcome comes from here. */
    if (WSAGetOverlappedResult(*s, &overlapped, &sent, FALSE, &flags))
        result = sent;
    else
        ovs_report_wsa_error("WSAGetOverlappedResult");
    WSACloseEvent(overlapped.hEvent);
    return result;
}
// [pattern]

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, NULL};
    unsigned char header[OVS_HEADER_SIZE];
    const char *body = OVS_DEFAULT_MESSAGE;
    WSABUF buffers[2];
    long long sent;
    SOCKET s;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, NULL, 0, args, 2, 2);
    if (rc != 0)
        return rc;
    rc = ovs_start_client(usage, args[0], args[1], ovs_overlapped_socket, &s);
    if (rc != 0)
        return rc;
    ovs_describe_message(header, body, strlen(body), buffers);
    sent = send_overlapped(&s, buffers, 2);
    /* An overlapped send that completed took everything it was given. */
    if (sent == (long long)(OVS_HEADER_SIZE + strlen(body))) {
        printf("sent %lld bytes with one overlapped WSASend\n", sent);
        status = ovs_receive_and_check_reply(s, body, strlen(body));
    } else if (sent >= 0) {
        fprintf(stderr, "WSASend completed with %lld bytes, not all of them\n", sent);
    }
    if (s != INVALID_SOCKET)
        closesocket(s);
    ovs_winsock_stop();
    return status;
}
