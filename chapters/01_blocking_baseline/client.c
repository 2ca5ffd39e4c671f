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
    unsigned long long generated_size = 0;
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &generated_size, 1, OVS_MAX_MESSAGE},
    };
    struct addrinfo *server = NULL;
    unsigned short port;
    char *body;
    size_t length;
    SOCKET s;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, options, 1, args, 2, 3);
    if (rc != 0)
        return rc;
    if (ovs_parse_port(args[1], 0, &port) != 0)
        return ovs_usage_error(usage, "port must be a number from 1 to 65535");
    if (ovs_winsock_start() != 0)
        return OVS_EXIT_FAILURE;
    rc = ovs_resolve(args[0], port, 0, &server);
    if (rc != 0) {
        ovs_report_error("getaddrinfo", rc);
        ovs_winsock_stop();
        return ovs_usage_error(usage, "unknown host");
    }

    // [connect]
    /* connect() blocks until the server's system accepts the connection
       (not until the server program calls accept()), or until it fails. */
    s = ovs_connect(server, NULL);
    // [connect]
    if (s != INVALID_SOCKET) {
        char text[OVS_ADDRESS_TEXT_MAX];
        ovs_format_address(server->ai_addr, text, sizeof text);
        printf("connected to %s\n", text);
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
    }
    freeaddrinfo(server);
    ovs_winsock_stop();
    return status;
}
