/*
 * inherited_sockets - counts the sockets this process holds without having
 * made any: the ones it inherited from the program that started it.
 *
 * Usage: inherited_sockets [anything...]
 *   The arguments are ignored; a test passes {refused_port} so that pairtest
 *   has made its refusing socket before this program starts.
 * Prints one line per socket found ("socket handle H: bound to <address>
 * port <N>", or "...: not bound"), then "sockets inherited: N", and exits 0
 * (1 when Winsock cannot start or stop).
 *
 * How: handle values are multiples of 4, and this process opens no socket
 * of its own, so every handle value from 4 to 65536 that a socket call
 * accepts is a socket handle that came from the parent. Two calls are tried
 * on each value, because neither is enough everywhere:
 *   getsockopt(SO_TYPE)  the obvious test; but Wine 8 (Debian 12) refuses it
 *                        with WSAENOTSOCK for a socket that this process did
 *                        not create itself, inherited or not;
 *   getsockname          under Wine 8 it reaches an inherited socket and
 *                        succeeds when that socket is bound (pipes and files
 *                        fail with WSAEOPNOTSUPP, other handle values with
 *                        WSAENOTSOCK). It fails with WSAEINVAL for an
 *                        unbound socket, but so it does for the NUL device,
 *                        so that error proves nothing.
 * So under Wine 8 only bound sockets are found; the one a test cares about,
 * pairtest's {refused_port} socket, is bound. (Measured under Wine 8 only;
 * the scan takes about half a second there.)
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stdio.h>
#include <string.h>

/* Far above the handle values a freshly started small program holds. */
#define HIGHEST_HANDLE_VALUE 65536u

/* Describes the socket behind one handle value into text; returns 1 when
   the value is a socket, 0 when it is anything else. */
static int describe_socket(SOCKET s, char *text, size_t size)
{
    struct sockaddr_storage address;
    int length = (int)sizeof address;
    int type = 0;
    int type_length = (int)sizeof type;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getsockname(s, (struct sockaddr *)&address, &length) != 0) {
        /* Not bound, or not a socket: only getsockopt can still tell. */
        if (getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &type_length) == 0) {
            snprintf(text, size, "not bound");
            return 1;
        }
        return 0;
    }
    if (address.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&address;
        if (inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host) == NULL)
            snprintf(host, sizeof host, "?");
        port = ntohs(v4->sin_port);
    } else if (address.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&address;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host) == NULL)
            snprintf(host, sizeof host, "?");
        port = ntohs(v6->sin6_port);
    }
    snprintf(text, size, "bound to %s port %u", host, port);
    return 1;
}

int main(void)
{
    WSADATA wsa;
    unsigned long value, found = 0;
    char text[INET6_ADDRSTRLEN + 32];
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);

    if (rc != 0) {
        fprintf(stderr, "WSAStartup() failed: %d\n", rc);
        return 1;
    }
    for (value = 4; value <= HIGHEST_HANDLE_VALUE; value += 4) {
        if (describe_socket((SOCKET)value, text, sizeof text)) {
            printf("socket handle %lu: %s\n", value, text);
            found++;
        }
    }
    printf("sockets inherited: %lu\n", found);
    if (WSACleanup() != 0) {
        fprintf(stderr, "WSACleanup() failed: %d\n", WSAGetLastError());
        return 1;
    }
    return 0;
}
