/*
 * Chapter 2 - WSASocket and its flags: the client.
 *
 * Shows: a socket made by WSASocket(..., WSA_FLAG_OVERLAPPED |
 * WSA_FLAG_NO_HANDLE_INHERIT), and a gather send: the 4-byte length header
 * and the body leave from separate buffers, described by an array of WSABUFs,
 * in ONE WSASend call. lpOverlapped is NULL, so the call blocks like send().
 *
 * Usage: ch02_client [--size N] [--pieces N] [--per-call N] <host> <port> [message]
 *   message       the text to send (default "Network is Computer")
 *   --size N      send a generated message of N bytes instead (K and M
 *                 allowed, e.g. --size 100K)
 *   --pieces N    describe the body with N WSABUFs instead of 1 (1 to 16),
 *                 to show that the pieces leave as one byte stream
 *   --per-call N  offer WSASend at most N bytes per call (the program holds
 *                 the rest back), to watch the loop send what is left
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: ch02_client [--size N] [--pieces N] [--per-call N] <host> <port> [message]";

#define MAX_PIECES 16

// [send_gathered]
/* Sends every byte that the WSABUF array describes (and changes the array on
   the way). per_call is 0, or the most bytes to offer per call (--per-call):
   then the program itself holds the rest back for the next call. */
static int send_gathered(SOCKET s, WSABUF *buffers, DWORD count, unsigned long long per_call)
{
    WSABUF offer[1 + MAX_PIECES];
    while (count > 0) {
        unsigned long long left = ovs_buffers_length(buffers, count);
        DWORD sent = 0, n_offer = ovs_offer_buffers(buffers, count, per_call, offer);
        unsigned long long offered = ovs_buffers_length(offer, n_offer);
        if (offered < left)
            printf("offered %llu of %llu bytes (--per-call)\n", offered, left);
        /* lpOverlapped and the completion routine are NULL: the call blocks
           until the system has taken the data, and says how much it took
           through lpNumberOfBytesSent. */
        if (WSASend(s, offer, n_offer, &sent, 0, NULL, NULL) == SOCKET_ERROR) {
            ovs_report_wsa_error("WSASend");
            return -1;
        }
        /* A blocking WSASend takes everything it is offered. Checking the
           count anyway is defensive: if a call ever took less, the rest
           would be sent from the right place, and a count that makes no
           progress is refused by ovs_advance_buffers (it would loop
           forever). */
        if (sent != offered)
            printf("WSASend took %lu of the %llu bytes offered\n", (unsigned long)sent, offered);
        if (ovs_advance_buffers(&buffers, &count, sent) != 0) {
            fprintf(stderr, "WSASend() reported %lu of the %llu bytes offered: giving up\n",
                    (unsigned long)sent, offered);
            return -1;
        }
    }
    return 0;
}
// [send_gathered]

// [build_buffers]
/* Describes one message as header + body pieces: the header is a buffer of
   its own, and the body is cut into `pieces` consecutive parts. Nothing is
   copied; each WSABUF only points at the bytes. Returns the buffer count. */
static DWORD describe_message(unsigned char header[OVS_HEADER_SIZE], char *body,
                              size_t length, DWORD pieces, WSABUF *buffers)
{
    DWORD i, count = 0;
    size_t offset = 0;

    ovs_encode_length((uint32_t)length, header);
    buffers[count].buf = (char *)header;
    buffers[count].len = OVS_HEADER_SIZE;
    count++;
    for (i = 0; i < pieces; i++) {
        /* The first (length % pieces) parts get one byte more. */
        size_t part = length / pieces + (i < length % pieces ? 1u : 0u);
        buffers[count].buf = body + offset;
        buffers[count].len = (ULONG)part;
        offset += part;
        count++;
    }
    return count;
}
// [build_buffers]

int main(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, OVS_DEFAULT_MESSAGE};
    static unsigned long long generated_size = 0, pieces = 1, per_call = 0; /* see ch01 */
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
        {"--pieces", OVS_OPTION_NUMBER, &pieces, 1, MAX_PIECES},
        {"--per-call", OVS_OPTION_NUMBER, &per_call, 1, OVS_MAX_MESSAGE},
    };
    unsigned char header[OVS_HEADER_SIZE];
    WSABUF buffers[1 + MAX_PIECES];
    DWORD count, i;
    char *body;
    size_t length;
    SOCKET s;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args,
                        2, 3);
    if (rc != 0)
        return rc;
    // [connect]
    rc = ovs_start_client(usage, args[0], args[1], ovs_overlapped_socket, &s);
    if (rc != 0)
        return rc;
    // [connect]
    body = ovs_make_body(args[2], generated_size, &length);
    if (body != NULL) {
        /* A body shorter than the piece count gets one byte per piece. */
        if (pieces > length)
            pieces = length;
        // [send]
        count = describe_message(header, body, length, (DWORD)pieces, buffers);
        printf("one WSASend of %lu buffers: header %lu bytes", (unsigned long)count,
               (unsigned long)buffers[0].len);
        for (i = 1; i < count; i++)
            printf("%s%lu", i == 1 ? ", body " : " + ", (unsigned long)buffers[i].len);
        printf("\n");
        if (send_gathered(s, buffers, count, per_call) == 0) {
            printf("sent %llu bytes\n", (unsigned long long)length);
            status = ovs_receive_and_check_reply(s, body, length);
        }
        // [send]
    }
    free(body);
    closesocket(s);
    ovs_winsock_stop();
    return status;
}
