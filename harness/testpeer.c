/*
 * testpeer - a scripted peer for the cases that a well-behaved chapter
 * program never produces: a pause in the middle of a message, a connection
 * reset, a client that connects and leaves without a word. It is a client,
 * or with --listen a server that takes one connection.
 *
 * Usage: testpeer <host> <port> STEP...
 *        testpeer --listen <port> [address] STEP...
 *   As a client it connects to host and port. With --listen it listens on
 *   port (0 lets the system choose) at address (default 127.0.0.1; ::1 for
 *   IPv6), prints "listening on <address> port <N>" like every server here,
 *   accepts ONE connection ("accepted connection from <address> port <N>"),
 *   stops listening, and runs the steps on that connection. A third argument
 *   that is not a step is the address.
 * Steps, run in order on one blocking connection:
 *   header:N    send a message header announcing N body bytes
 *   send:N      send the next N bytes of the test pattern
 *   message:T   send a whole message whose body is the text T
 *   recv:N      receive exactly N bytes ("received N bytes"); fails if the
 *               peer closes its side first
 *   drain       receive until the peer closes its side ("received N bytes,
 *               then end of stream")
 *   sleep:MS    pause MS milliseconds (to split a message in time)
 *   wait        read one line from stdin (pairtest --release-on writes it to
 *               a client, --release-server-on to a server); fails when stdin
 *               ends first
 *   shutdown    shutdown(SD_SEND): no more data from this side
 *   reply       receive the server's reply and check it against every body
 *               byte sent so far
 *   reset       close abortively (SO_LINGER 0): the peer sees a reset
 *   close       close gracefully
 * Exit code: 0 when every step worked, 1 otherwise, 2 on bad usage.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: testpeer <host> <port> STEP... | testpeer --listen <port> "
                            "[address] STEP... (see the file header)";

/* Every step's name, for telling a --listen address from the first step. */
static const char *const step_names[] = {"header", "send", "message", "recv", "drain",
                                         "sleep", "wait", "shutdown", "reply", "reset",
                                         "close"};

static int is_step(const char *arg)
{
    size_t length = strcspn(arg, ":"), i;
    for (i = 0; i < sizeof step_names / sizeof step_names[0]; i++)
        if (strlen(step_names[i]) == length && strncmp(arg, step_names[i], length) == 0)
            return 1;
    return 0;
}

/* Receives exactly count bytes, a chunk at a time. Returns 0, or -1 after
   saying why (the peer closed first, or the receive failed). */
static int receive_count(SOCKET s, unsigned long long count)
{
    char chunk[16 * 1024];
    unsigned long long received = 0;
    while (received < count) {
        size_t want = count - received < sizeof chunk ? (size_t)(count - received) : sizeof chunk;
        long long n = ovs_recv_exactly(s, chunk, want, NULL);
        if (n < 0)
            return -1;
        received += (unsigned long long)n;
        if ((size_t)n < want) {
            fprintf(stderr, "the peer closed the connection after %llu of %llu bytes\n", received,
                    count);
            return -1;
        }
    }
    printf("received %llu bytes\n", count);
    return 0;
}

/* Receives until the peer closes its sending side, and says how much came. */
static int receive_to_end(SOCKET s)
{
    char chunk[16 * 1024];
    unsigned long long received = 0;
    for (;;) {
        long long n = ovs_recv_some(s, chunk, sizeof chunk);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        received += (unsigned long long)n;
    }
    printf("received %llu bytes, then end of stream\n", received);
    return 0;
}

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
    if (strncmp(step, "recv:", 5) == 0 && ovs_parse_number(value, 0, OVS_MAX_MESSAGE, &n) == 0)
        return receive_count(*s, n);
    if (strcmp(step, "drain") == 0)
        return receive_to_end(*s);
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
        if (fgets(line, sizeof line, stdin) == NULL) {
            fprintf(stderr, "stdin ended before the go-ahead came\n");
            return -1;
        }
        return 0;
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

/* The server side of --listen: listen, take one connection, stop listening.
   Returns 0 with *s connected (Winsock started), or the exit code. */
static int accept_one(const char *port_text, const char *address, SOCKET *s)
{
    struct sockaddr_storage peer;
    int peer_length = (int)sizeof peer;
    char text[OVS_ADDRESS_TEXT_MAX];
    SOCKET listener;
    int status = ovs_start_server(usage, port_text, address, NULL, &listener);

    if (status != 0)
        return status;
    *s = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (*s == INVALID_SOCKET)
        ovs_report_wsa_error("accept");
    /* One connection only: nobody else may connect from now on. */
    if (closesocket(listener) == SOCKET_ERROR)
        ovs_report_wsa_error("closesocket");
    if (*s == INVALID_SOCKET) {
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    ovs_format_address((const struct sockaddr *)&peer, text, sizeof text);
    printf("accepted connection from %s\n", text);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct ovs_digest sent;
    unsigned long long offset = 0;
    SOCKET s;
    int i, first_step = 3, status = OVS_EXIT_OK;

    if (argc >= 2 && strcmp(argv[1], "--listen") == 0) {
        const char *address = "127.0.0.1";
        if (argc > 3 && !is_step(argv[3])) {
            address = argv[3];
            first_step = 4;
        }
        if (argc <= first_step)
            return ovs_usage_error(usage, "missing arguments");
        status = accept_one(argv[2], address, &s);
    } else {
        if (argc < 4)
            return ovs_usage_error(usage, "missing arguments");
        status = ovs_start_client(usage, argv[1], argv[2], NULL, &s);
    }
    if (status != 0)
        return status;
    ovs_digest_init(&sent);
    for (i = first_step; i < argc && status == OVS_EXIT_OK; i++) {
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
