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
    ovs_winsock_stop();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
