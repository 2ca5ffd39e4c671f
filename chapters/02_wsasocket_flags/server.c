/*
 * Chapter 2 - WSASocket and its flags: the server.
 *
 * Shows: a listening socket made by WSASocket with WSA_FLAG_OVERLAPPED and
 * WSA_FLAG_NO_HANDLE_INHERIT, what the socket's protocol information
 * (getsockopt SO_PROTOCOL_INFO) says about it, and WSARecv with a WSABUF and
 * lpOverlapped = NULL. Without a WSAOVERLAPPED the call blocks exactly like
 * recv() in chapter 1: the socket *can* do overlapped I/O, this program just
 * does not ask for it yet.
 *
 * Usage: ch02_server <port> [address]
 *   port     0 lets the system choose; the chosen port is printed as
 *            "listening on <address> port <N>"
 *   address  where to listen (default 127.0.0.1; ::1 for IPv6)
 */
#include "ovs.h"

#include <stdio.h>

static const char usage[] = "usage: ch02_server <port> [address]";

/* The service flags of a protocol, in bit order, so every bit gets a name. */
static const struct {
    DWORD bit;
    const char *name;
} service_flags[] = {
    {XP1_CONNECTIONLESS, "XP1_CONNECTIONLESS"},
    {XP1_GUARANTEED_DELIVERY, "XP1_GUARANTEED_DELIVERY"},
    {XP1_GUARANTEED_ORDER, "XP1_GUARANTEED_ORDER"},
    {XP1_MESSAGE_ORIENTED, "XP1_MESSAGE_ORIENTED"},
    {XP1_PSEUDO_STREAM, "XP1_PSEUDO_STREAM"},
    {XP1_GRACEFUL_CLOSE, "XP1_GRACEFUL_CLOSE"},
    {XP1_EXPEDITED_DATA, "XP1_EXPEDITED_DATA"},
    {XP1_CONNECT_DATA, "XP1_CONNECT_DATA"},
    {XP1_DISCONNECT_DATA, "XP1_DISCONNECT_DATA"},
    {XP1_SUPPORT_BROADCAST, "XP1_SUPPORT_BROADCAST"},
    {XP1_SUPPORT_MULTIPOINT, "XP1_SUPPORT_MULTIPOINT"},
    {XP1_MULTIPOINT_CONTROL_PLANE, "XP1_MULTIPOINT_CONTROL_PLANE"},
    {XP1_MULTIPOINT_DATA_PLANE, "XP1_MULTIPOINT_DATA_PLANE"},
    {XP1_QOS_SUPPORTED, "XP1_QOS_SUPPORTED"},
    {XP1_INTERRUPT, "XP1_INTERRUPT"},
    {XP1_UNI_SEND, "XP1_UNI_SEND"},
    {XP1_UNI_RECV, "XP1_UNI_RECV"},
    {XP1_IFS_HANDLES, "XP1_IFS_HANDLES"},
    {XP1_PARTIAL_MESSAGE, "XP1_PARTIAL_MESSAGE"},
    {XP1_SAN_SUPPORT_SDP, "XP1_SAN_SUPPORT_SDP"},
};

/* Prints what the system says about a socket: its protocol provider, the
   provider's service flags, and whether the handle is inheritable. */
static int describe_socket(SOCKET s)
{
    // [protocol_info]
    /* The ANSI structure and option are named explicitly, so that szProtocol
       is a char array whether or not the program is built with UNICODE. */
    WSAPROTOCOL_INFOA info;
    int info_length = (int)sizeof info;
    DWORD flags, unnamed, handle_flags;
    size_t i;

    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOA, (char *)&info, &info_length) ==
        SOCKET_ERROR) {
        ovs_report_wsa_error("getsockopt");
        return -1;
    }
    /* ChainLen 1 is a base provider (the system's own TCP/IP); more than 1
       means a layered service provider sits on top of it. */
    printf("protocol provider: \"%s\", %s (chain length %d)\n", info.szProtocol,
           info.ProtocolChain.ChainLen == BASE_PROTOCOL ? "a base provider" : "layered",
           info.ProtocolChain.ChainLen);
    flags = info.dwServiceFlags1;
    printf("service flags 0x%08lx:", (unsigned long)flags);
    unnamed = flags;
    for (i = 0; i < sizeof service_flags / sizeof service_flags[0]; i++) {
        if (flags & service_flags[i].bit) {
            printf(" %s", service_flags[i].name);
            unnamed &= ~service_flags[i].bit;
        }
    }
    if (unnamed != 0)
        printf(" (and unnamed bits 0x%08lx)", (unsigned long)unnamed);
    printf("\n");
    /* XP1_IFS_HANDLES: the SOCKET is a real file-system handle, so the
       system's own I/O manager completes its operations. The completion-port
       chapters use SetFileCompletionNotificationModes only when it is set. */
    printf("XP1_IFS_HANDLES %s\n", (flags & XP1_IFS_HANDLES)
                                       ? "is set: the socket is an ordinary file handle"
                                       : "is NOT set: a non-IFS provider handles this socket");
    // [protocol_info]
    // [inherit]
    /* A SOCKET from a base provider is a kernel handle, so the handle
       functions work on it; the cast is safe because SOCKET is exactly
       pointer-sized (UINT_PTR), like HANDLE. */
    if (!GetHandleInformation((HANDLE)s, &handle_flags)) {
        ovs_report_error("GetHandleInformation", (int)GetLastError());
        return -1;
    }
    printf("handle inherited by child processes: %s\n",
           (handle_flags & HANDLE_FLAG_INHERIT) ? "yes" : "no");
    // [inherit]
    fflush(stdout);
    return 0;
}

// [receive_some]
/* One blocking WSARecv into one buffer. Returns the byte count (0 when the
   client closed its sending side), or -1 after reporting the failure. */
static long long receive_some(SOCKET s, char *data, size_t length)
{
    WSABUF buffer;
    DWORD received = 0;
    /* lpFlags is in/out: WSARecv writes into it (MSG_PARTIAL, ...), so it
       is set again before every call, never carried over from the last. */
    DWORD flags = 0;

    buffer.buf = data;
    buffer.len = length > 0x40000000u ? 0x40000000ul : (ULONG)length;
    /* lpOverlapped and the completion routine are NULL: the call blocks
       until at least one byte has arrived (or the connection ends) and
       hands back the count through lpNumberOfBytesRecvd. */
    if (WSARecv(s, &buffer, 1, &received, &flags, NULL, NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSARecv");
        return -1;
    }
    return (long long)received;
}
// [receive_some]

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
    // [start]
    /* The same start-up as chapter 1, but every socket is made by our own
       factory instead of plain socket(). */
    rc = ovs_start_server(usage, args[0], args[1], ovs_overlapped_socket, &listener);
    if (rc != 0)
        return rc;
    // [start]
    if (describe_socket(listener) != 0) {
        closesocket(listener);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }

    /* accept() blocks, as in chapter 1. peer_length is in/out and must
       hold the size of the whole address structure on the way in. */
    peer_length = (int)sizeof peer;
    client = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (client == INVALID_SOCKET) {
        ovs_report_wsa_error("accept");
    } else {
        ovs_format_address((const struct sockaddr *)&peer, peer_text, sizeof peer_text);
        printf("accepted connection from %s\n", peer_text);
        fflush(stdout);
        /* The same framing loop as chapter 1 (ovs_receive_message), but
           every piece is received by our WSARecv-based receive_some. */
        if (ovs_receive_message(client, receive_some, &digest) == 0) {
            ovs_print_received(&digest);
            if (ovs_send_reply(client, &digest) == 0)
                status = OVS_EXIT_OK;
        }
        /* FIN after the reply, so the client's last receive returns 0. */
        if (shutdown(client, SD_SEND) == SOCKET_ERROR && status == OVS_EXIT_OK) {
            ovs_report_wsa_error("shutdown");
            status = OVS_EXIT_FAILURE;
        }
        closesocket(client);
    }
    closesocket(listener);
    ovs_winsock_stop();
    return status;
}
