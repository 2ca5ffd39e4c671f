/*
 * Chapter 4 - the bare pattern: one WSASend completed by a completion routine.
 *
 * Shows the steps and nothing else: 1. post the send (start it) with a
 * completion routine; 2. if the call failed outright, no routine will ever
 * run; 3. otherwise (done at once or pending) the routine has been or will be
 * queued to this thread, and runs only while this thread waits alertably:
 * wait until it has run; 4. use what it recorded. client.c and server.c
 * follow the same pattern with every path printed, and the tests drive each
 * path.
 *
 * Usage: ch04_bare <host> <port>   (sends "Network is Computer" to ch04_server)
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: ch04_bare <host> <port>";

/* What the routine records for the code that waits. */
struct send_result {
    int done;
    DWORD error, bytes;
};

/* An alertable wait ran out of time, and the send is still running. Closing
   the socket aborts it, but its routine still has to run before the
   WSAOVERLAPPED may go: the caller goes on waiting for it. If it is still
   running after that, stop the program. The chapter explains this in "The
   alertable wait, and waiting again". */
static void give_up(SOCKET *s)
{
    if (*s == INVALID_SOCKET)
        exit(OVS_EXIT_FAILURE); /* never return while it may still run */
    closesocket(*s);
    *s = INVALID_SOCKET;
}

/* on_sent() is the completion routine. send_with_routine() sends the buffers
   with one WSASend and that routine; it returns the byte count, or -1 after
   reporting why (*s is INVALID_SOCKET if it had to be closed). It never
   returns while the send may still use `overlapped` or `r`. */
// [pattern]
static void CALLBACK on_sent(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped, DWORD flags)
{
    /* With a routine the system ignores hEvent: it carries our pointer. */
    struct send_result *r = (struct send_result *)overlapped->hEvent;
    (void)flags;
    r->error = error;
    r->bytes = bytes;
    r->done = 1;
}

static long long send_with_routine(SOCKET *s, WSABUF *buffers, DWORD count)
{
    WSAOVERLAPPED overlapped;
    struct send_result r = {0, 0, 0};

    memset(&overlapped, 0, sizeof overlapped);
    overlapped.hEvent = (WSAEVENT)&r;
    /* 1. Post, with the routine. The byte-count pointer is NULL. */
    if (WSASend(*s, buffers, count, NULL, 0, &overlapped, on_sent) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        /* 2. It never started: no routine will ever run for it. */
        ovs_report_wsa_error("WSASend");
        return -1;
    }
    /* 3. Done at once or pending, the routine runs on this thread, and only
          in an alertable wait. Wait until it has run. */
    while (!r.done)
        if (SleepEx(10000, TRUE) != WAIT_IO_COMPLETION)
            give_up(s); /* out of time: explained later in the chapter */
    /* 4. Use what the routine recorded. */
    if (r.error != 0) {
        ovs_report_error("WSASend", (int)r.error);
        return -1;
    }
    return r.bytes;
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
    sent = send_with_routine(&s, buffers, 2);
    /* A send that completed took everything it was given. Nothing is
       outstanding any more, so the blocking receive below is safe. */
    if (sent == (long long)(OVS_HEADER_SIZE + strlen(body))) {
        printf("sent %lld bytes with one WSASend and a completion routine\n", sent);
        status = ovs_receive_and_check_reply(s, body, strlen(body));
    } else if (sent >= 0) {
        fprintf(stderr, "WSASend completed with %lld bytes, not all of them\n", sent);
    }
    if (s != INVALID_SOCKET)
        closesocket(s);
    ovs_winsock_stop();
    return status;
}
