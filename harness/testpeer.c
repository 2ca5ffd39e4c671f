/*
 * testpeer - a scripted client for the failure cases that a well-behaved
 * chapter client never produces: a pause in the middle of a message, a
 * connection reset, a client that connects and leaves without a word.
 *
 * Usage: testpeer <host> <port> STEP...
 * Steps, run in order on one blocking connection:
 *   header:N    send a message header announcing N body bytes
 *   send:N      send the next N bytes of the test pattern
 *   message:T   send a whole message whose body is the text T
 *   sleep:MS    pause MS milliseconds (to split a message in time)
 *   wait        read one line from stdin (pairtest --release-on writes it)
 *   shutdown    shutdown(SD_SEND): no more data from this side
 *   reply       receive the server's reply and check it against every body
 *               byte sent so far
 *   reset       close abortively (SO_LINGER 0): the server sees a reset
 *   close       close gracefully
 * Exit code: 0 when every step worked, 1 otherwise, 2 on bad usage.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: testpeer <host> <port> STEP... (see the file header)";

static int send_pattern(SOCKET s, unsigned long long count, unsigned long long *offset,
                        struct ovs_digest *sent)
{
    char chunk[16 * 1024];
    while (count > 0) {
        size_t n = count < sizeof chunk ? (size_t)count : sizeof chunk;
        ovs_fill_pattern(chunk, n, *offset);
        if (ovs_send_all(s, chunk, n) != 0)
            return -1;
        ovs_digest_add(sent, chunk, n);
        *offset += n;
        count -= n;
    }
    return 0;
}

static int run_step(SOCKET *s, const char *step, unsigned long long *offset,
                    struct ovs_digest *sent)
{
    unsigned long long n = 0;
    const char *value = strchr(step, ':');
    if (value != NULL)
        value++;

    if (strncmp(step, "header:", 7) == 0 && ovs_parse_number(value, 0, OVS_MAX_MESSAGE, &n) == 0) {
        unsigned char header[OVS_HEADER_SIZE];
        ovs_encode_length((uint32_t)n, header);
        printf("sending a header announcing %llu bytes\n", n);
        return ovs_send_all(*s, (const char *)header, sizeof header);
    }
    if (strncmp(step, "send:", 5) == 0 && ovs_parse_number(value, 0, OVS_MAX_MESSAGE, &n) == 0) {
        printf("sending %llu bytes\n", n);
        return send_pattern(*s, n, offset, sent);
    }
    if (strncmp(step, "message:", 8) == 0) {
        printf("sending the message \"%s\"\n", value);
        ovs_digest_add(sent, value, strlen(value));
        return ovs_send_message(*s, value, strlen(value));
    }
    if (strncmp(step, "sleep:", 6) == 0 && ovs_parse_number(value, 0, 60000, &n) == 0) {
        printf("pausing %llu ms\n", n);
        fflush(stdout);
        Sleep((DWORD)n);
        return 0;
    }
    if (strcmp(step, "wait") == 0) {
        char line[16];
        printf("waiting for the go-ahead on stdin\n");
        fflush(stdout);
        return fgets(line, sizeof line, stdin) != NULL ? 0 : -1;
    }
    if (strcmp(step, "shutdown") == 0) {
        printf("shutting down the sending side\n");
        if (shutdown(*s, SD_SEND) == SOCKET_ERROR) {
            ovs_report_wsa_error("shutdown");
            return -1;
        }
        return 0;
    }
    if (strcmp(step, "reply") == 0)
        return ovs_receive_and_check_digest(*s, sent) == OVS_EXIT_OK ? 0 : -1;
    if (strcmp(step, "reset") == 0 || strcmp(step, "close") == 0) {
        if (step[0] == 'r') {
            /* Linger on with a zero timeout: closesocket sends RST, not FIN. */
            struct linger abortive = {1, 0};
            if (setsockopt(*s, SOL_SOCKET, SO_LINGER, (const char *)&abortive,
                           sizeof abortive) == SOCKET_ERROR) {
                ovs_report_wsa_error("setsockopt");
                return -1;
            }
        }
        printf("%s the connection\n", step[0] == 'r' ? "resetting" : "closing");
        closesocket(*s);
        *s = INVALID_SOCKET;
        return 0;
    }
    fprintf(stderr, "error: bad step '%s'\n%s\n", step, usage);
    return -2;
}

int main(int argc, char **argv)
{
    struct ovs_digest sent;
    unsigned long long offset = 0;
    SOCKET s;
    int i, status = OVS_EXIT_OK;

    if (argc < 4)
        return ovs_usage_error(usage, "missing arguments");
    status = ovs_start_client(usage, argv[1], argv[2], NULL, &s);
    if (status != 0)
        return status;
    ovs_digest_init(&sent);
    for (i = 3; i < argc && status == OVS_EXIT_OK; i++) {
        int rc;
        if (s == INVALID_SOCKET) {
            fprintf(stderr, "step '%s' comes after the connection was closed\n", argv[i]);
            status = OVS_EXIT_USAGE;
            break;
        }
        rc = run_step(&s, argv[i], &offset, &sent);
        fflush(stdout);
        if (rc == -2)
            status = OVS_EXIT_USAGE;
        else if (rc != 0)
            status = OVS_EXIT_FAILURE;
    }
    if (s != INVALID_SOCKET)
        closesocket(s);
    ovs_winsock_stop();
    return status;
}
