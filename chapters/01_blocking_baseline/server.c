/*
 * Chapter 1 - blocking baseline: the server.
 *
 * Shows: the plain blocking calls, socket/bind/listen/accept/recv/send, and
 * where each one stops the thread. It serves exactly one client: while it is
 * blocked in recv() for that client, nothing else can happen on this thread.
 *
 * Usage: ch01_server <port> [address]
 *   port     0 lets the system choose; the chosen port is printed as
 *            "listening on <address> port <N>"
 *   address  where to listen (default 127.0.0.1; ::1 for IPv6)
 */
#include "ovs.h"

#include <stdio.h>

static const char usage[] = "usage: ch01_server <port> [address]";

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, "127.0.0.1"};
    struct sockaddr_storage peer;
    int peer_length;
    char peer_text[OVS_ADDRESS_TEXT_MAX];
    struct ovs_digest digest;
    SOCKET listener, client;
    int rc, status = OVS_EXIT_FAILURE;

    rc = ovs_parse_args(argc, argv, usage, NULL, 0, args, 1, 2);
    if (rc != 0)
        return rc;
    /* socket(), bind(), listen(): see ovs_bind_and_listen() in common/. */
    rc = ovs_start_server(usage, args[0], args[1], NULL, &listener);
    if (rc != 0)
        return rc;

    // [accept]
    /* accept() blocks until a client connects. peer_length is in/out: it
       must hold the size of the whole address structure on the way in. */
    peer_length = (int)sizeof peer;
    client = accept(listener, (struct sockaddr *)&peer, &peer_length);
    // [accept]
    if (client == INVALID_SOCKET) {
        ovs_report_wsa_error("accept");
    } else {
        ovs_format_address((const struct sockaddr *)&peer, peer_text, sizeof peer_text);
        printf("accepted connection from %s\n", peer_text);
        fflush(stdout);
        // [receive_message]
        /* Header, then body, each with as many recv() calls as it takes:
           see ovs_receive_message() in common/. */
        rc = ovs_receive_message(client, NULL, &digest);
        // [receive_message]
        if (rc == 0) {
            ovs_print_received(&digest);
            if (ovs_send_reply(client, &digest) == 0)
                status = OVS_EXIT_OK;
        }
        // [close_client]
        /* shutdown(SD_SEND) sends FIN after the reply: the client's recv()
           then returns 0 instead of waiting for more. */
        if (shutdown(client, SD_SEND) == SOCKET_ERROR && status == OVS_EXIT_OK) {
            ovs_report_wsa_error("shutdown");
            status = OVS_EXIT_FAILURE;
        }
        closesocket(client);
        // [close_client]
    }
    closesocket(listener);
    ovs_winsock_stop();
    return status;
}
