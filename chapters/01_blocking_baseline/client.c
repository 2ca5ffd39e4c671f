/*
 * Chapter 1 - blocking baseline: the client.
 *
 * Shows: connect/send/recv on a blocking socket. Each call returns only when
 * its work is done (or failed), so the program reads top to bottom.
 *
 * Usage: ch01_client [--size N] <host> <port> [message]
 *   message    the text to send (default "Network is Computer")
 *   --size N   send a generated message of N bytes instead (K and M allowed,
 *              e.g. --size 1M)
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] = "usage: ch01_client [--size N] <host> <port> [message]";

int main(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, OVS_DEFAULT_MESSAGE};
    /* static: the option table below holds their addresses, and an
       initializer with the address of a local is an MSVC extension (C4221). */
    static unsigned long long generated_size = 0;
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
    };
    char *body;
    size_t length;
    SOCKET s;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, options, 1, args, 2, 3);
    if (rc != 0)
        return rc;
    // [connect]
    /* connect() (inside ovs_start_client) blocks until the server's system
       accepts the connection - not until the server program calls accept(). */
    rc = ovs_start_client(usage, args[0], args[1], NULL, &s);
    if (rc != 0)
        return rc;
    // [connect]
    body = ovs_make_body(args[2], generated_size, &length);
    // [send_and_wait]
    /* send() blocks only until the data is in the socket's send buffer;
       the recv() inside the reply check blocks until the server answers. */
    if (body != NULL && ovs_send_message(s, body, length) == 0) {
        printf("sent %llu bytes\n", (unsigned long long)length);
        status = ovs_receive_and_check_reply(s, body, length);
    }
    // [send_and_wait]
    free(body);
    closesocket(s);
    ovs_winsock_stop();
    return status;
}
