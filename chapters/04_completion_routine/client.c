/*
 * Chapter 4 - completion routines: the client.
 *
 * Shows: WSASend with a completion routine. The routine learns how many
 * bytes went and, while bytes are left (with --per-call the program offers
 * only part of the message per call), posts WSASend again for the rest.
 * main() waits in SleepEx(..., TRUE), the alertable wait in which the
 * routine runs, and checks that it returned WAIT_IO_COMPLETION. The reply
 * is then received with the blocking helper, as in chapter 1: by then no
 * send is outstanding, so no routine can run inside that blocking call.
 *
 * Usage: ch04_client [--size N] [--per-call N] <host> <port> [message]
 *   message       the text to send (default "Network is Computer")
 *   --size N      send a generated message of N bytes instead (K and M allowed)
 *   --per-call N  offer each WSASend at most N bytes (the program holds the
 *                 rest back), so that the routine has to post the rest
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch04_client [--size N] [--per-call N] <host> <port> [message]";

/* A bound on each alertable wait: a send that never completes is an error,
   not a reason to wait forever. */
#define SEND_WAIT_MS 10000u

// [send_state]
/* The message being sent and the send in flight. Both must stay put until
   the routine for the last WSASend has run. */
struct outgoing {
    WSAOVERLAPPED overlapped;
    SOCKET socket;
    unsigned char header[OVS_HEADER_SIZE];
    WSABUF buffers[2];  /* header and body ... */
    WSABUF *left;       /* ... and the part of them still to send */
    DWORD left_count;
    unsigned long long total, sent;
    unsigned long long per_call; /* 0: no limit */
    unsigned long long offered;  /* by the send in flight */
    int send_outstanding;
    int failed;
};
// [send_state]

static DWORD main_thread_id;

static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags);

// [post_send]
/* Posts one WSASend for what is left (at most --per-call bytes), gathered
   from the header and body buffers, as in chapter 3. */
static int post_send(struct outgoing *o)
{
    WSABUF offer[2];
    DWORD n_offer = ovs_offer_buffers(o->left, o->left_count, o->per_call, offer);
    unsigned long long left = ovs_buffers_length(o->left, o->left_count);
    int rc;

    o->offered = ovs_buffers_length(offer, n_offer);
    if (o->offered < left)
        printf("offered %llu of %llu bytes (--per-call)\n", o->offered, left);
    memset(&o->overlapped, 0, sizeof o->overlapped);
    o->overlapped.hEvent = (WSAEVENT)o; /* ignored by the system: ours */
    rc = WSASend(o->socket, offer, n_offer, NULL, 0, &o->overlapped, send_completed);
    if (rc == SOCKET_ERROR && WSAGetLastError() != WSA_IO_PENDING) {
        /* Nothing was started, so no routine will come for it. */
        ovs_report_wsa_error("WSASend");
        return -1;
    }
    o->send_outstanding = 1;
    printf("WSASend of %llu bytes: %s\n", o->offered,
           rc == 0 ? "completed at once; its routine is queued all the same"
                   : "pending (WSA_IO_PENDING)");
    return 0;
}
// [post_send]

// [send_routine]
static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags)
{
    struct outgoing *o = (struct outgoing *)overlapped->hEvent;
    DWORD thread = GetCurrentThreadId();

    (void)flags;
    o->send_outstanding = 0;
    if (error != 0) {
        ovs_report_error("WSASend", (int)error);
        o->failed = 1;
        return;
    }
    printf("send routine on thread %lu (%s): %lu bytes went, %llu of %llu\n",
           (unsigned long)thread,
           thread == main_thread_id ? "the same thread as main" : "another thread",
           (unsigned long)bytes, o->sent + bytes, o->total);
    /* A completed overlapped send took all it was offered. The shared
       helper moves past it, and refuses a count that makes no progress:
       posting "the rest" again after 0 bytes would loop forever. */
    if (ovs_advance_buffers(&o->left, &o->left_count, bytes) != 0) {
        fprintf(stderr, "WSASend() reported %lu of the %llu bytes offered: giving up\n",
                (unsigned long)bytes, o->offered);
        o->failed = 1;
        return;
    }
    o->sent += bytes;
    /* The routine itself posts the next send (no blocking call in here). */
    if (o->left_count > 0 && post_send(o) != 0)
        o->failed = 1;
}
// [send_routine]

int main(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, OVS_DEFAULT_MESSAGE};
    static unsigned long long generated_size = 0, per_call = 0; /* see ch01 */
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
        {"--per-call", OVS_OPTION_NUMBER, &per_call, 1, OVS_MAX_MESSAGE},
    };
    struct outgoing *o = NULL;
    char *body;
    size_t length;
    SOCKET s;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 2, 3);
    if (rc != 0)
        return rc;
    rc = ovs_start_client(usage, args[0], args[1], ovs_overlapped_socket, &s);
    if (rc != 0)
        return rc;
    main_thread_id = GetCurrentThreadId();
    /* Printed so that the reader can compare it with the routine's thread. */
    printf("main thread %lu; the send routine will run here, in SleepEx\n",
           (unsigned long)main_thread_id);
    fflush(stdout);
    body = ovs_make_body(args[2], generated_size, &length);
    if (body != NULL) {
        o = (struct outgoing *)calloc(1, sizeof *o);
        if (o == NULL)
            ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
    }
    if (o != NULL) {
        o->socket = s;
        o->total = OVS_HEADER_SIZE + (unsigned long long)length;
        o->per_call = per_call;
        ovs_describe_message(o->header, body, length, o->buffers);
        o->left = o->buffers;
        o->left_count = 2;
        // [send_wait]
        if (post_send(o) == 0) {
            while (o->send_outstanding) {
                DWORD waited;
                printf("waiting in SleepEx(%lu ms, alertable)\n", (unsigned long)SEND_WAIT_MS);
                fflush(stdout);
                waited = SleepEx(SEND_WAIT_MS, TRUE);
                printf("SleepEx(%lu ms, alertable) returned %lu %s\n",
                       (unsigned long)SEND_WAIT_MS, (unsigned long)waited,
                       waited == WAIT_IO_COMPLETION ? "WAIT_IO_COMPLETION" : "the time ran out");
                if (waited != WAIT_IO_COMPLETION)
                    break;
            }
        }
        // [send_wait]
        fflush(stdout);
        if (o->send_outstanding) {
            /* The send is still in flight, so o and body must not be freed;
               closing the socket aborts it, and the process ends soon. */
            fprintf(stderr, "the send did not complete within %lu ms\n",
                    (unsigned long)SEND_WAIT_MS);
            closesocket(s);
            return OVS_EXIT_FAILURE;
        }
        if (!o->failed && o->sent == o->total) {
            printf("sent %llu bytes\n", (unsigned long long)length);
            status = ovs_receive_and_check_reply(s, body, length);
        }
    }
    free(o);
    free(body);
    closesocket(s);
    ovs_winsock_stop();
    return status;
}
