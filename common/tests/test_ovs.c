/*
 * test_ovs.c - unit tests of the helpers library (no network needed).
 *
 * Each check prints "ok" or "FAIL" with what it checked; the program exits 1
 * if any failed. The expected checksums were computed independently (FNV-1a
 * 32-bit in Python), not by this code.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_passed, n_failed;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (ok)
        n_passed++;
    else
        n_failed++;
}

static void test_parse_number(void)
{
    unsigned long long v = 0;
    check(ovs_parse_number("1024", 0, 2048, &v) == 0 && v == 1024, "number: 1024");
    check(ovs_parse_number("16M", 1, OVS_MAX_MESSAGE, &v) == 0 && v == 16777216u, "number: 16M");
    check(ovs_parse_number("64k", 1, OVS_MAX_MESSAGE, &v) == 0 && v == 65536u, "number: 64k");
    check(ovs_parse_number("0", 1, 10, &v) != 0, "number: below min rejected");
    check(ovs_parse_number("11", 1, 10, &v) != 0, "number: above max rejected");
    check(ovs_parse_number("", 0, 10, &v) != 0, "number: empty rejected");
    check(ovs_parse_number("-1", 0, 10, &v) != 0, "number: negative rejected");
    check(ovs_parse_number(" 5", 0, 10, &v) != 0, "number: leading blank rejected");
    check(ovs_parse_number("5x", 0, 10, &v) != 0, "number: trailing junk rejected");
    check(ovs_parse_number("99999999999999999999999", 0, ~0ull, &v) != 0, "number: overflow rejected");
    check(ovs_parse_number("300M", 0, OVS_MAX_MESSAGE, &v) != 0, "number: suffix overflow rejected");
}

static void test_parse_port(void)
{
    unsigned short p = 0;
    check(ovs_parse_port("0", 1, &p) == 0 && p == 0, "port: 0 allowed for a server");
    check(ovs_parse_port("0", 0, &p) != 0, "port: 0 rejected for a client");
    check(ovs_parse_port("65535", 0, &p) == 0 && p == 65535, "port: 65535");
    check(ovs_parse_port("65536", 1, &p) != 0, "port: 65536 rejected");
    check(ovs_parse_port("http", 1, &p) != 0, "port: name rejected");
    check(ovs_parse_port("1K", 1, &p) != 0, "port: suffix rejected");
}

static void test_parse_args(void)
{
    const char *usage = "usage: test [--size N] [--name T] [--flag] <a> [b]";
    static unsigned long long size = 0; /* static: addresses in an initializer */
    static const char *name = NULL;
    static int flag = 0;
    const struct ovs_option options[] = {
        {"--size", OVS_OPTION_NUMBER, &size, 1, 100},
        {"--name", OVS_OPTION_TEXT, (void *)&name, 0, 0},
        {"--flag", OVS_OPTION_FLAG, &flag, 0, 0},
    };
    const char *pos[2] = {NULL, "default"};
    char *good[] = {"test", "one", "--size", "42", "--flag", "--name", "x"};
    char *too_many[] = {"test", "a", "b", "c"};
    char *unknown[] = {"test", "--nope", "a"};
    char *missing_value[] = {"test", "a", "--size"};
    char *bad_value[] = {"test", "a", "--size", "101"};
    char *none[] = {"test"};

    printf("(the usage errors below are expected)\n");
    check(ovs_parse_args(7, good, usage, options, 3, pos, 1, 2) == 0 && size == 42 && flag == 1 &&
              name != NULL && strcmp(name, "x") == 0 && strcmp(pos[0], "one") == 0 &&
              strcmp(pos[1], "default") == 0,
          "args: options anywhere, defaults kept");
    check(ovs_parse_args(4, too_many, usage, options, 3, pos, 1, 2) == OVS_EXIT_USAGE, "args: too many");
    check(ovs_parse_args(3, unknown, usage, options, 3, pos, 1, 2) == OVS_EXIT_USAGE, "args: unknown option");
    check(ovs_parse_args(3, missing_value, usage, options, 3, pos, 1, 2) == OVS_EXIT_USAGE,
          "args: option without its value");
    check(ovs_parse_args(4, bad_value, usage, options, 3, pos, 1, 2) == OVS_EXIT_USAGE,
          "args: option value out of range");
    check(ovs_parse_args(1, none, usage, options, 3, pos, 1, 2) == OVS_EXIT_USAGE, "args: missing");
}

static void test_message_format(void)
{
    unsigned char header[OVS_HEADER_SIZE];
    char buffer[100], text[64];
    struct ovs_digest d;

    ovs_encode_length(0x01020304u, header);
    check(header[0] == 1 && header[1] == 2 && header[2] == 3 && header[3] == 4, "header: big-endian");
    check(ovs_decode_length(header) == 0x01020304u, "header: round trip");

    check(ovs_checksum_update(OVS_CHECKSUM_INIT, "a", 1) == 0xe40c292cu, "checksum: FNV-1a of \"a\"");
    check(ovs_checksum_update(OVS_CHECKSUM_INIT, OVS_DEFAULT_MESSAGE, strlen(OVS_DEFAULT_MESSAGE)) ==
              0xc3848014u,
          "checksum: default message");

    ovs_fill_pattern(buffer, 100, 0);
    check(memcmp(buffer, "0123456789abcdefghijklmnopqrstuvwxyz0123", 40) == 0, "pattern: start");
    check(ovs_checksum_update(OVS_CHECKSUM_INIT, buffer, 100) == 0x030c8c99u, "pattern: checksum of 100");
    ovs_fill_pattern(buffer, 10, 36);
    check(memcmp(buffer, "0123456789", 10) == 0, "pattern: offset continues it");

    /* A message fed in pieces digests the same as in one go. */
    ovs_fill_pattern(buffer, 100, 0);
    ovs_digest_init(&d);
    ovs_digest_add(&d, buffer, 7);
    ovs_digest_add(&d, buffer + 7, 93);
    ovs_digest_reply(&d, text, sizeof text);
    check(strcmp(text, "received 100 bytes, checksum 030c8c99") == 0, "digest: reply text");
    check(d.preview_length == OVS_PREVIEW_MAX && strlen(d.preview) == OVS_PREVIEW_MAX,
          "digest: preview is bounded");

    ovs_digest_init(&d);
    ovs_digest_reply(&d, text, sizeof text);
    check(strcmp(text, "received 0 bytes, checksum 811c9dc5") == 0, "digest: empty message");

    {
        WSABUF two[2];
        ovs_describe_message(header, buffer, 100, two);
        check(ovs_decode_length(header) == 100 && two[0].buf == (char *)header &&
                  two[0].len == OVS_HEADER_SIZE && two[1].buf == buffer && two[1].len == 100,
              "describe message: header then body, nothing copied");
    }
}

static void test_addresses(void)
{
    struct addrinfo *ai = NULL;
    char text[OVS_ADDRESS_TEXT_MAX];

    check(ovs_resolve("127.0.0.1", 8080, 0, &ai) == 0 && ai != NULL, "resolve: 127.0.0.1");
    if (ai != NULL) {
        ovs_format_address(ai->ai_addr, text, sizeof text);
        check(strcmp(text, "127.0.0.1 port 8080") == 0, "format: IPv4");
        freeaddrinfo(ai);
        ai = NULL;
    }
    check(ovs_resolve("::1", 1, 0, &ai) == 0 && ai != NULL, "resolve: ::1");
    if (ai != NULL) {
        ovs_format_address(ai->ai_addr, text, sizeof text);
        check(strcmp(text, "::1 port 1") == 0, "format: IPv6");
        freeaddrinfo(ai);
        ai = NULL;
    }
    /* A name with spaces cannot be a host name: it fails without asking DNS. */
    check(ovs_resolve("no such host", 1, 0, &ai) != 0, "resolve: unknown host fails");
}

static void test_advance_buffers(void)
{
    char a[10], b[20];
    WSABUF bufs[2], *cursor = bufs;
    DWORD count = 2;

    bufs[0].buf = a;
    bufs[0].len = sizeof a;
    bufs[1].buf = b;
    bufs[1].len = sizeof b;
    check(ovs_advance_buffers(&cursor, &count, 14) == 0 && count == 1 && cursor == &bufs[1] &&
              cursor[0].buf == b + 4 && cursor[0].len == 16,
          "advance: past the first buffer and into the second");
    /* The guard every sender relies on: a completed send that took nothing
       must not be posted again for ever. */
    check(ovs_advance_buffers(&cursor, &count, 0) == -1 && count == 1 && cursor[0].len == 16,
          "advance: 0 bytes with bytes left is refused, nothing changed");
    check(ovs_advance_buffers(&cursor, &count, 17) == -1 && cursor[0].len == 16,
          "advance: more bytes than offered is refused");
    check(ovs_advance_buffers(&cursor, &count, 16) == 0 && count == 0, "advance: to the end");
    check(ovs_advance_buffers(&cursor, &count, 0) == 0, "advance: 0 bytes with nothing left is fine");
}

static void test_resolve_failures(void)
{
    check(ovs_resolve_failure_is_usage(WSAHOST_NOT_FOUND), "resolve failure: no such host is a usage error");
    check(ovs_resolve_failure_is_usage(WSANO_DATA), "resolve failure: no address is a usage error");
    check(ovs_resolve_failure_is_usage(WSAEAFNOSUPPORT), "resolve failure: no such family is a usage error");
    check(!ovs_resolve_failure_is_usage(WSATRY_AGAIN), "resolve failure: a temporary failure is not");
    check(!ovs_resolve_failure_is_usage(WSA_NOT_ENOUGH_MEMORY), "resolve failure: no memory is not");
    check(!ovs_resolve_failure_is_usage(WSANO_RECOVERY), "resolve failure: a failed server is not");
}

/* A connected pair of overlapped sockets on loopback. */
static int make_pair(SOCKET *a, SOCKET *b)
{
    struct addrinfo *ai = NULL;
    struct sockaddr_storage bound;
    int length = (int)sizeof bound;
    SOCKET listener;

    *a = *b = INVALID_SOCKET;
    if (ovs_resolve("127.0.0.1", 0, 1, &ai) != 0)
        return -1;
    listener = ovs_overlapped_socket(ai);
    if (listener != INVALID_SOCKET &&
        (bind(listener, ai->ai_addr, (int)ai->ai_addrlen) != 0 || listen(listener, 1) != 0 ||
         getsockname(listener, (struct sockaddr *)&bound, &length) != 0)) {
        closesocket(listener);
        listener = INVALID_SOCKET;
    }
    if (listener != INVALID_SOCKET) {
        *a = ovs_overlapped_socket(ai);
        if (*a != INVALID_SOCKET && connect(*a, (struct sockaddr *)&bound, length) == 0)
            *b = accept(listener, NULL, NULL);
        closesocket(listener);
    }
    freeaddrinfo(ai);
    return *b == INVALID_SOCKET ? -1 : 0;
}

/* Posts a WSARecv with an event on s; returns 0 when it is pending. */
static int post_pending_receive(SOCKET s, WSAOVERLAPPED *ov, char *data, ULONG size)
{
    WSABUF buffer;
    DWORD flags = 0;
    buffer.buf = data;
    buffer.len = size;
    memset(ov, 0, sizeof *ov);
    ov->hEvent = WSACreateEvent();
    if (ov->hEvent == WSA_INVALID_EVENT)
        return -1;
    if (WSARecv(s, &buffer, 1, NULL, &flags, ov, NULL) == 0)
        return 1;
    return WSAGetLastError() == WSA_IO_PENDING ? 0 : -1;
}

static void test_drain_cancelled(void)
{
    SOCKET a, b;
    WSAOVERLAPPED ov;
    char data[16];
    DWORD bytes, cancel_error;
    int error, rc;

    /* Each case has a fresh connection: Microsoft calls the continued use of
       a socket whose operations were cancelled undefined, and says to close
       it ("Overlapped I/O and Event Objects", Winsock). */

    /* Cancelled for real: the receive ends with 995 and the socket stays. */
    if (make_pair(&a, &b) != 0 || post_pending_receive(b, &ov, data, sizeof data) != 0) {
        check(0, "drain: set-up of a pending receive");
        return;
    }
    cancel_error = CancelIoEx((HANDLE)b, &ov) ? 0 : GetLastError();
    rc = ovs_drain_cancelled(&b, &ov, cancel_error, 5000, &bytes, &error);
    check(rc == 0 && error == WSA_OPERATION_ABORTED && b != INVALID_SOCKET,
          "drain: a cancelled receive ends with 995");
    WSACloseEvent(ov.hEvent);
    closesocket(b);
    closesocket(a);

    /* The data won the race: CancelIoEx finds nothing (ERROR_NOT_FOUND),
       and the receive's own result is returned. */
    if (make_pair(&a, &b) != 0 || post_pending_receive(b, &ov, data, sizeof data) != 0 ||
        send(a, "hello", 5, 0) != 5 ||
        WSAWaitForMultipleEvents(1, &ov.hEvent, FALSE, 5000, FALSE) != WSA_WAIT_EVENT_0) {
        check(0, "drain: set-up of a completed receive");
        return;
    }
    cancel_error = CancelIoEx((HANDLE)b, &ov) ? 0 : GetLastError();
    rc = ovs_drain_cancelled(&b, &ov, cancel_error, 5000, &bytes, &error);
    check(cancel_error == ERROR_NOT_FOUND && rc == 1 && bytes == 5,
          "drain: a receive that completed first keeps its 5 bytes");
    WSACloseEvent(ov.hEvent);
    closesocket(b);
    closesocket(a);

    /* CancelIoEx failed for another reason (here pretended): the socket must
       be closed, which ends the receive, and the wait must not be endless.
       Without the close this call would wait for data that never comes. */
    if (make_pair(&a, &b) != 0 || post_pending_receive(b, &ov, data, sizeof data) != 0) {
        check(0, "drain: set-up of a third pending receive");
        return;
    }
    rc = ovs_drain_cancelled(&b, &ov, ERROR_INVALID_HANDLE, 5000, &bytes, &error);
    check(rc == 0 && b == INVALID_SOCKET,
          "drain: a failed CancelIoEx closes the socket and the receive ends");
    WSACloseEvent(ov.hEvent);
    closesocket(a);
}

static void test_handle_count(void)
{
    unsigned long before = ovs_count_handles(), with_event;
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    with_event = ovs_count_handles();
    if (event != NULL)
        CloseHandle(event);
    check(before > 0 && with_event == before + 1 && ovs_count_handles() == before,
          "handle count: one more with an event open, back after closing it");
}

/* The echo tests' stream. The expected bytes were computed independently
   (the same hash in Python). */
static void test_echo_pattern(void)
{
    char data[32], *pattern = ovs_echo_pattern(100);
    unsigned long i;
    int all_match = 1, same_as_36 = 1;
    for (i = 0; i < 16; i++) {
        data[i] = ovs_echo_byte(0, i);
        data[16 + i] = ovs_echo_byte(36, i);
    }
    check(memcmp(data, "001th+XCWHZXINC7", 16) == 0 &&
              memcmp(data + 16, "m8HzsKygER3T96gG", 16) == 0,
          "echo stream: connections 0 and 36 start as computed, and differ");
    for (i = 0; i < 200; i++)
        if (ovs_echo_byte(5, i) != ovs_echo_byte(41, i))
            same_as_36 = 0;
    check(!same_as_36, "echo stream: connection i+36 is not connection i");
    check(ovs_echo_byte(3, OVS_ECHO_PERIOD + 40) == ovs_echo_byte(3, 40) &&
              ovs_echo_byte(3, 40) != ovs_echo_byte(3, 41),
          "echo stream: it repeats after OVS_ECHO_PERIOD bytes");
    ovs_echo_fill(data, 8, 3, OVS_ECHO_PERIOD + 40);
    check(memcmp(data, "I2HvD0IO", 8) == 0, "echo fill: connection 3 from byte 65561 as computed");
    check(pattern != NULL, "echo pattern: allocated");
    if (pattern != NULL) {
        /* The last connection a client can have, near the end of the buffer. */
        const char *from = ovs_echo_from(pattern, 9999, 70000);
        for (i = 0; i < 100; i++)
            if (from[i] != ovs_echo_byte(9999, 70000 + i))
                all_match = 0;
        check(all_match && from + 100 <= pattern + 100 + OVS_ECHO_PERIOD,
              "echo from: 100 bytes of the shared pattern are the stream, inside the buffer");
        free(pattern);
    }
}

static void test_load_helpers(void)
{
    unsigned long long sizes[4];
    size_t n = 0;
    test_echo_pattern();
    check(ovs_parse_number_list("5,4M", 1, OVS_MAX_MESSAGE, sizes, 4, &n) == 0 && n == 2 &&
              sizes[0] == 5 && sizes[1] == 4u * 1024u * 1024u,
          "number list: 5,4M");
    check(ovs_parse_number_list("5,,6", 1, 100, sizes, 4, &n) != 0 &&
              ovs_parse_number_list("", 1, 100, sizes, 4, &n) != 0 &&
              ovs_parse_number_list("1,2,3,4,5", 1, 100, sizes, 4, &n) != 0 &&
              ovs_parse_number_list("0", 1, 100, sizes, 4, &n) != 0,
          "number list: empty items, an empty list, too many, out of range refused");
}

static void test_errors(void)
{
    char text[512];
    ovs_format_error(WSAECONNREFUSED, text, sizeof text);
    check(text[0] != '\0' && text[strlen(text) - 1] != '\n' && text[strlen(text) - 1] != '\r',
          "error text: present, on one line");
    ovs_format_error(0x7fffabcd, text, sizeof text);
    check(strstr(text, "no description") != NULL, "error text: placeholder for unknown code");
}

int main(void)
{
    if (ovs_winsock_start() != 0)
        return 1;
    test_parse_number();
    test_parse_port();
    test_parse_args();
    test_message_format();
    test_addresses();
    test_errors();
    test_advance_buffers();
    test_resolve_failures();
    test_drain_cancelled();
    test_handle_count();
    test_load_helpers();
    ovs_winsock_stop();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
