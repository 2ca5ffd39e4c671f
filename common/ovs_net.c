/*
 * ovs_net.c - resolving, listening, connecting, and the blocking I/O loops.
 *
 * Everything here is blocking and ordinary; the chapters replace pieces of it
 * with overlapped calls one idea at a time.
 */
#include "ovs.h"

#include <stdio.h>
#include <string.h>

int ovs_resolve(const char *host, unsigned short port, int passive, struct addrinfo **result)
{
    struct addrinfo hints;
    char port_text[8];

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; /* IPv4 or IPv6, whatever the name gives */
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    /* getaddrinfo returns its error code rather than setting the last error. */
    return getaddrinfo(host, port_text, &hints, result);
}

void ovs_format_address(const struct sockaddr *address, char *text, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        port = ntohs(v4->sin_port);
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        port = ntohs(v6->sin6_port);
    }
    snprintf(text, size, "%s port %u", host, port);
}

// [bind_and_listen]
int ovs_bind_and_listen(SOCKET listener, const struct addrinfo *address)
{
    struct sockaddr_storage bound;
    int bound_length = (int)sizeof bound; /* the size of the structure, not of an int */
    char text[OVS_ADDRESS_TEXT_MAX];

    if (bind(listener, address->ai_addr, (int)address->ai_addrlen) == SOCKET_ERROR) {
        ovs_report_wsa_error("bind");
        return -1;
    }
    if (listen(listener, SOMAXCONN) == SOCKET_ERROR) {
        ovs_report_wsa_error("listen");
        return -1;
    }
    /* Asked for port 0, the system chose one: getsockname says which. */
    if (getsockname(listener, (struct sockaddr *)&bound, &bound_length) == SOCKET_ERROR) {
        ovs_report_wsa_error("getsockname");
        return -1;
    }
    ovs_format_address((const struct sockaddr *)&bound, text, sizeof text);
    printf("listening on %s\n", text);
    /* stdout is a pipe under a test harness, so it is fully buffered:
       without the flush nobody would see the line until the server exits. */
    fflush(stdout);
    return 0;
}
// [bind_and_listen]

static SOCKET make_plain_socket(const struct addrinfo *address)
{
    return socket(address->ai_family, address->ai_socktype, address->ai_protocol);
}

SOCKET ovs_listen(const struct addrinfo *addresses, ovs_socket_factory make)
{
    const struct addrinfo *ai;
    if (make == NULL)
        make = make_plain_socket;
    for (ai = addresses; ai != NULL; ai = ai->ai_next) {
        SOCKET listener = make(ai);
        if (listener == INVALID_SOCKET) {
            ovs_report_wsa_error("socket");
            continue;
        }
        if (ovs_bind_and_listen(listener, ai) == 0)
            return listener;
        closesocket(listener);
    }
    return INVALID_SOCKET;
}

SOCKET ovs_connect(const struct addrinfo *addresses, ovs_socket_factory make)
{
    const struct addrinfo *ai;
    int last_error = WSAEADDRNOTAVAIL;
    const char *failed_call = "connect";

    if (make == NULL)
        make = make_plain_socket;
    /* A name can resolve to several addresses (::1 and 127.0.0.1 for
       "localhost"): try each until one accepts. */
    for (ai = addresses; ai != NULL; ai = ai->ai_next) {
        SOCKET s = make(ai);
        if (s == INVALID_SOCKET) {
            last_error = WSAGetLastError();
            failed_call = "socket";
            continue;
        }
        if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0)
            return s;
        last_error = WSAGetLastError();
        failed_call = "connect";
        closesocket(s);
    }
    ovs_report_error(failed_call, last_error);
    return INVALID_SOCKET;
}

// [send_all]
int ovs_send_all(SOCKET s, const char *data, size_t length)
{
    while (length > 0) {
        /* send() may take fewer bytes than offered; send the rest. */
        int chunk = length > 0x40000000u ? 0x40000000 : (int)length;
        int sent = send(s, data, chunk, 0);
        if (sent == SOCKET_ERROR) {
            ovs_report_wsa_error("send");
            return -1;
        }
        data += sent;
        length -= (size_t)sent;
    }
    return 0;
}
// [send_all]

// [recv_exactly]
long long ovs_recv_exactly(SOCKET s, char *data, size_t length)
{
    size_t received = 0;
    while (received < length) {
        /* recv() returns whatever has arrived, from 1 byte up: TCP is a
           byte stream, and one send() can arrive as several pieces. */
        size_t wanted = length - received;
        int chunk = wanted > 0x40000000u ? 0x40000000 : (int)wanted;
        int n = recv(s, data + received, chunk, 0);
        if (n == SOCKET_ERROR) {
            ovs_report_wsa_error("recv");
            return -1;
        }
        if (n == 0) /* the peer closed its sending side */
            break;
        received += (size_t)n;
    }
    return (long long)received;
}
// [recv_exactly]

int ovs_start_server(const char *usage, const char *port_text, const char *address,
                     ovs_socket_factory make, SOCKET *listener)
{
    struct addrinfo *addresses = NULL;
    unsigned short port;
    int rc;

    if (ovs_parse_port(port_text, 1, &port) != 0)
        return ovs_usage_error(usage, "port must be a number from 0 to 65535");
    if (ovs_winsock_start() != 0)
        return OVS_EXIT_FAILURE;
    rc = ovs_resolve(address, port, 1, &addresses);
    if (rc != 0) {
        ovs_report_error("getaddrinfo", rc);
        ovs_winsock_stop();
        return ovs_usage_error(usage, "cannot listen on that address");
    }
    *listener = ovs_listen(addresses, make);
    freeaddrinfo(addresses);
    if (*listener == INVALID_SOCKET) {
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    return 0;
}

int ovs_start_client(const char *usage, const char *host, const char *port_text,
                     ovs_socket_factory make, SOCKET *s)
{
    struct addrinfo *addresses = NULL;
    struct sockaddr_storage peer;
    int peer_length = (int)sizeof peer;
    char text[OVS_ADDRESS_TEXT_MAX];
    unsigned short port;
    int rc;

    if (ovs_parse_port(port_text, 0, &port) != 0)
        return ovs_usage_error(usage, "port must be a number from 1 to 65535");
    if (ovs_winsock_start() != 0)
        return OVS_EXIT_FAILURE;
    rc = ovs_resolve(host, port, 0, &addresses);
    if (rc != 0) {
        ovs_report_error("getaddrinfo", rc);
        ovs_winsock_stop();
        return ovs_usage_error(usage, "unknown host");
    }
    *s = ovs_connect(addresses, make);
    freeaddrinfo(addresses);
    if (*s == INVALID_SOCKET) {
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    /* Say where we really are connected: a name may have several addresses. */
    if (getpeername(*s, (struct sockaddr *)&peer, &peer_length) == 0) {
        ovs_format_address((const struct sockaddr *)&peer, text, sizeof text);
        printf("connected to %s\n", text);
        fflush(stdout);
    }
    return 0;
}
