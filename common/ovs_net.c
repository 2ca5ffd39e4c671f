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
    SOCKET s = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
    if (s == INVALID_SOCKET)
        ovs_report_wsa_error("socket");
    return s;
}

// [make_overlapped_socket]
/* WSA_FLAG_OVERLAPPED: the socket accepts a WSAOVERLAPPED in WSASend,
   WSARecv, AcceptEx and friends (chapter 3 on); calls without one still block.
   WSA_FLAG_NO_HANDLE_INHERIT: the handle is not copied into child processes
   that are started with handle inheritance on; without it, a child would
   keep the connection open after this program closes it.
   WSASocketW, not WSASocket: with no WSAPROTOCOL_INFO the two forms do the
   same, and Visual Studio marks WSASocketA (what WSASocket means in a
   build without UNICODE) as deprecated.
   An accepted socket gets the attributes of its listener, so a server only
   needs to make its listener this way. */
SOCKET ovs_overlapped_socket(const struct addrinfo *address)
{
    SOCKET s = WSASocketW(address->ai_family, address->ai_socktype, address->ai_protocol,
                          NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        ovs_report_wsa_error("WSASocketW");
    return s;
}
// [make_overlapped_socket]

SOCKET ovs_listen(const struct addrinfo *addresses, ovs_socket_factory make)
{
    const struct addrinfo *ai;
    if (make == NULL)
        make = make_plain_socket;
    for (ai = addresses; ai != NULL; ai = ai->ai_next) {
        SOCKET listener = make(ai); /* a failure is reported by the factory */
        if (listener == INVALID_SOCKET)
            continue;
        if (ovs_bind_and_listen(listener, ai) == 0)
            return listener;
        closesocket(listener);
    }
    return INVALID_SOCKET;
}

SOCKET ovs_connect(const struct addrinfo *addresses, ovs_socket_factory make)
{
    const struct addrinfo *ai;
    int connect_error = 0;

    if (make == NULL)
        make = make_plain_socket;
    /* A name can resolve to several addresses (::1 and 127.0.0.1 for
       "localhost"): try each until one accepts. */
    for (ai = addresses; ai != NULL; ai = ai->ai_next) {
        SOCKET s = make(ai); /* a failure is reported by the factory */
        if (s == INVALID_SOCKET)
            continue;
        if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0)
            return s;
        connect_error = WSAGetLastError();
        closesocket(s);
    }
    if (connect_error != 0)
        ovs_report_error("connect", connect_error);
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

long long ovs_recv_some(SOCKET s, char *data, size_t length)
{
    int chunk = length > 0x40000000u ? 0x40000000 : (int)length;
    int n = recv(s, data, chunk, 0);
    if (n == SOCKET_ERROR) {
        ovs_report_wsa_error("recv");
        return -1;
    }
    return n;
}

// [recv_exactly]
long long ovs_recv_exactly(SOCKET s, char *data, size_t length, ovs_receive_function receive)
{
    size_t received = 0;
    if (receive == NULL)
        receive = ovs_recv_some;
    while (received < length) {
        /* A receive returns whatever has arrived, from 1 byte up: TCP is a
           byte stream, and one send() can arrive as several pieces. */
        long long n = receive(s, data + received, length - received);
        if (n < 0)
            return -1;
        if (n == 0) /* the peer closed its sending side */
            break;
        received += (size_t)n;
    }
    return (long long)received;
}
// [recv_exactly]

int ovs_wait_readable(SOCKET s, DWORD timeout_ms)
{
    WSAPOLLFD entry;
    int rc;
    entry.fd = s;
    entry.events = POLLRDNORM;
    entry.revents = 0;
    rc = WSAPoll(&entry, 1, (INT)timeout_ms);
    if (rc == SOCKET_ERROR) {
        ovs_report_wsa_error("WSAPoll");
        return -1;
    }
    return rc > 0 ? 1 : 0;
}

unsigned long long ovs_buffers_length(const WSABUF *buffers, DWORD count)
{
    unsigned long long total = 0;
    DWORD i;
    for (i = 0; i < count; i++)
        total += buffers[i].len;
    return total;
}

DWORD ovs_offer_buffers(const WSABUF *buffers, DWORD count, unsigned long long limit,
                        WSABUF *offer)
{
    unsigned long long offered = 0;
    DWORD n = 0;
    while (n < count && (limit == 0 || offered < limit)) {
        offer[n] = buffers[n];
        if (limit != 0 && offer[n].len > limit - offered)
            offer[n].len = (ULONG)(limit - offered);
        offered += offer[n].len;
        n++;
    }
    return n;
}

// [advance_buffers]
int ovs_advance_buffers(WSABUF **buffers, DWORD *count, DWORD sent)
{
    unsigned long long left = ovs_buffers_length(*buffers, *count);
    /* A completed send that took nothing would be posted again and again,
       and a count larger than what was offered is not a real count. */
    if ((sent == 0 && left > 0) || sent > left)
        return -1;
    /* Skip the buffers that went out whole... */
    while (*count > 0 && sent >= (*buffers)[0].len) {
        sent -= (*buffers)[0].len;
        (*buffers)++;
        (*count)--;
    }
    /* ...then trim the first one that went out only in part. */
    if (*count > 0) {
        (*buffers)[0].buf += sent;
        (*buffers)[0].len -= sent;
    }
    return 0;
}
// [advance_buffers]

// [drain_cancelled]
int ovs_drain_cancelled(SOCKET *s, WSAOVERLAPPED *overlapped, DWORD cancel_error,
                        DWORD timeout_ms, DWORD *bytes, int *error)
{
    DWORD flags = 0, waited;

    *bytes = 0;
    *error = 0;
    if (cancel_error != 0 && cancel_error != ERROR_NOT_FOUND) {
        /* The cancel request failed, so nothing says the operation will
           ever end. Closing the socket aborts every operation on it. */
        closesocket(*s);
        *s = INVALID_SOCKET;
    }
    /* CancelIoEx only asks: the operation ends when its event is set. */
    waited = WSAWaitForMultipleEvents(1, &overlapped->hEvent, FALSE, timeout_ms, FALSE);
    if (waited == WSA_WAIT_FAILED) {
        ovs_report_wsa_error("WSAWaitForMultipleEvents");
        return -1;
    }
    if (waited != WSA_WAIT_EVENT_0)
        return -1; /* still running: its buffers still belong to the system */
    if (*s == INVALID_SOCKET)
        return 0; /* it ended; a closed socket has no result to ask for */
    /* The event is set, so this does not wait. */
    if (WSAGetOverlappedResult(*s, overlapped, bytes, FALSE, &flags))
        return 1;
    *error = WSAGetLastError();
    return 0;
}
// [drain_cancelled]

int ovs_resolve_failure_is_usage(int code)
{
    /* No such name, no address of that family, no such service: the
       command line asked for something that does not exist. Anything else
       (WSATRY_AGAIN, WSA_NOT_ENOUGH_MEMORY, WSANO_RECOVERY, ...) is a
       failure of the moment, not of the command line. */
    return code == WSAHOST_NOT_FOUND || code == WSANO_DATA || code == WSAEAFNOSUPPORT ||
           code == WSATYPE_NOT_FOUND;
}

/* What ovs_start_server and ovs_start_client share: check the port, start
   Winsock, resolve, then listen or connect. On failure everything is
   reported and released, and the exit code for main() is returned. */
static int start_endpoint(const char *usage, const char *host, const char *port_text,
                          int server, ovs_socket_factory make, SOCKET *s)
{
    struct addrinfo *addresses = NULL;
    unsigned short port;
    int rc;

    if (ovs_parse_port(port_text, server, &port) != 0)
        return ovs_usage_error(usage, server ? "port must be a number from 0 to 65535"
                                             : "port must be a number from 1 to 65535");
    if (ovs_winsock_start() != 0)
        return OVS_EXIT_FAILURE;
    rc = ovs_resolve(host, port, server, &addresses);
    if (rc != 0) {
        ovs_report_error("getaddrinfo", rc);
        ovs_winsock_stop();
        if (!ovs_resolve_failure_is_usage(rc))
            return OVS_EXIT_FAILURE;
        return ovs_usage_error(usage, server ? "cannot listen on that address" : "unknown host");
    }
    *s = server ? ovs_listen(addresses, make) : ovs_connect(addresses, make);
    freeaddrinfo(addresses);
    if (*s == INVALID_SOCKET) {
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    return 0;
}

int ovs_start_server(const char *usage, const char *port_text, const char *address,
                     ovs_socket_factory make, SOCKET *listener)
{
    return start_endpoint(usage, address, port_text, 1, make, listener);
}

int ovs_start_client(const char *usage, const char *host, const char *port_text,
                     ovs_socket_factory make, SOCKET *s)
{
    struct sockaddr_storage peer;
    int peer_length = (int)sizeof peer;
    char text[OVS_ADDRESS_TEXT_MAX];
    int rc = start_endpoint(usage, host, port_text, 0, make, s);

    if (rc != 0)
        return rc;
    /* Say where we really are connected: a name may have several addresses. */
    if (getpeername(*s, (struct sockaddr *)&peer, &peer_length) == 0) {
        ovs_format_address((const struct sockaddr *)&peer, text, sizeof text);
        printf("connected to %s\n", text);
        fflush(stdout);
    }
    return 0;
}
