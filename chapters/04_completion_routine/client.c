/*
 * Chapter 4 - completion routines: the client.
 *
 * Shows: WSASend with a completion routine. The routine learns how many
 * bytes went; when that is fewer than the message (a partial send, or a
 * deliberately small --chunk), it posts WSASend again for the rest. main()
 * waits in SleepEx(..., TRUE), the alertable wait in which the routine runs,
 * and checks that it returned WAIT_IO_COMPLETION. The reply is then received
 * with the blocking helper, as in chapter 1.
 *
 * Usage: ch04_client [--size N] [--chunk N] <host> <port> [message]
 *   message    the text to send (default "Network is Computer")
 *   --size N   send a generated message of N bytes instead (K and M allowed)
 *   --chunk N  hand WSASend at most N bytes at a time, so that the routine
 *              has to post the rest, as it would after a partial send
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch04_client [--size N] [--chunk N] <host> <port> [message]";

/* A bound on each alertable wait: a send that never completes is an error,
   not a reason to wait for ever. */
#define SEND_WAIT_MS 10000u

// [send_state]
/* The message being sent and the send in flight. Both must stay put until
   the routine for the last WSASend has run. */
struct outgoing {
    WSAOVERLAPPED overlapped;
    SOCKET socket;
    unsigned char header[OVS_HEADER_SIZE];
    const char *body;
    size_t body_length;
    unsigned long long total; /* header and body */
    unsigned long long sent;
    unsigned long long chunk; /* 0: no limit */
    int send_outstanding;
    int failed;
};
// [send_state]

static DWORD main_thread_id;

static void CALLBACK send_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                    DWORD flags);

// [post_send]
/* Posts one WSASend for everything not yet sent (at most --chunk bytes):
   the rest of the header and the body, gathered from two buffers. */
static int post_send(struct outgoing *o)
{
    WSABUF buffers[2];
    DWORD n_buffers = 0;
    unsigned long long offset = o->sent, budget = o->total - o->sent, offered = 0;
    int rc;

    if (o->chunk != 0 && budget > o->chunk)
        budget = o->chunk;
    if (offset < OVS_HEADER_SIZE) {
        ULONG len = (ULONG)(OVS_HEADER_SIZE - offset);
        if (len > budget)
            len = (ULONG)budget;
        buffers[n_buffers].buf = (char *)o->header + offset;
        buffers[n_buffers].len = len;
        n_buffers++;
        offered += len;
        offset = OVS_HEADER_SIZE;
    }
    if (offered < budget) {
        buffers[n_buffers].buf = (char *)o->body + (offset - OVS_HEADER_SIZE);
        buffers[n_buffers].len = (ULONG)(budget - offered);
        n_buffers++;
        offered = budget;
    }
    memset(&o->overlapped, 0, sizeof o->overlapped);
    o->overlapped.hEvent = (WSAEVENT)o; /* ignored by the system: ours */
    rc = WSASend(o->socket, buffers, n_buffers, NULL, 0, &o->overlapped, send_completed);
    if (rc == SOCKET_ERROR && WSAGetLastError() != WSA_IO_PENDING) {
        /* Nothing was started, so no routine will come for it. */
        ovs_report_wsa_error("WSASend");
        return -1;
    }
    o->send_outstanding = 1;
    printf("WSASend of %llu bytes: %s\n", offered,
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
    o->sent += bytes;
    printf("send routine on thread %lu (%s): %lu bytes went, %llu of %llu\n",
           (unsigned long)thread,
           thread == main_thread_id ? "the same thread as main" : "another thread",
           (unsigned long)bytes, o->sent, o->total);
    /* Fewer bytes than offered is not an error: send the rest. */
    if (o->sent < o->total && post_send(o) != 0)
        o->failed = 1;
}
// [send_routine]

int main(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, OVS_DEFAULT_MESSAGE};
    static unsigned long long generated_size = 0, chunk = 0; /* see ch01 */
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
        {"--chunk", OVS_OPTION_NUMBER, &chunk, 1, OVS_MAX_MESSAGE},
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
    body = ovs_make_body(args[2], generated_size, &length);
    if (body != NULL) {
        o = (struct outgoing *)calloc(1, sizeof *o);
        if (o == NULL)
            ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
    }
    if (o != NULL) {
        o->socket = s;
        o->body = body;
        o->body_length = length;
        o->total = OVS_HEADER_SIZE + (unsigned long long)length;
        o->chunk = chunk;
        ovs_encode_length((uint32_t)length, o->header);
        // [send_wait]
        if (post_send(o) == 0) {
            while (o->send_outstanding) {
                DWORD waited = SleepEx(SEND_WAIT_MS, TRUE);
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
