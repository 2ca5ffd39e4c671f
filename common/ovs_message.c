/*
 * ovs_message.c - the tiny message format every chapter speaks.
 *
 * A message is a 4-byte big-endian length and then the body. The server
 * replies "received <N> bytes, checksum <hex>" so that the client, and the
 * tests, can tell whether every byte made it across in order.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ovs_encode_length(uint32_t length, unsigned char header[OVS_HEADER_SIZE])
{
    header[0] = (unsigned char)(length >> 24);
    header[1] = (unsigned char)(length >> 16);
    header[2] = (unsigned char)(length >> 8);
    header[3] = (unsigned char)length;
}

uint32_t ovs_decode_length(const unsigned char header[OVS_HEADER_SIZE])
{
    return ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) |
           ((uint32_t)header[2] << 8) | (uint32_t)header[3];
}

uint32_t ovs_checksum_update(uint32_t state, const void *data, size_t length)
{
    const unsigned char *bytes = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < length; i++) {
        state ^= bytes[i];
        state *= 16777619u; /* FNV-1a 32-bit prime */
    }
    return state;
}

void ovs_fill_pattern(char *data, size_t length, unsigned long long offset)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t i;
    for (i = 0; i < length; i++)
        data[i] = alphabet[(offset + i) % (sizeof alphabet - 1)];
}

void ovs_describe_message(unsigned char header[OVS_HEADER_SIZE], const char *body, size_t length,
                          WSABUF buffers[2])
{
    ovs_encode_length((uint32_t)length, header);
    buffers[0].buf = (char *)header;
    buffers[0].len = OVS_HEADER_SIZE;
    buffers[1].buf = (char *)body; /* WSABUF has no const; WSASend only reads it */
    buffers[1].len = (ULONG)length;
}

char *ovs_make_body(const char *text, unsigned long long generated_size, size_t *length)
{
    size_t n = generated_size != 0 ? (size_t)generated_size : strlen(text);
    /* +1 so that an empty message still gets a real allocation. */
    char *body = (char *)malloc(n + 1);
    if (body == NULL) {
        ovs_report_error("malloc", ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    if (generated_size != 0)
        ovs_fill_pattern(body, n, 0);
    else
        memcpy(body, text, n);
    *length = n;
    return body;
}

void ovs_digest_init(struct ovs_digest *digest)
{
    memset(digest, 0, sizeof *digest);
    digest->checksum = OVS_CHECKSUM_INIT;
}

void ovs_digest_add(struct ovs_digest *digest, const char *data, size_t length)
{
    size_t room = OVS_PREVIEW_MAX - digest->preview_length;
    size_t keep = length < room ? length : room;
    memcpy(digest->preview + digest->preview_length, data, keep);
    digest->preview_length += keep;
    digest->preview[digest->preview_length] = '\0';
    digest->length += length;
    digest->checksum = ovs_checksum_update(digest->checksum, data, length);
}

void ovs_digest_reply(const struct ovs_digest *digest, char *text, size_t size)
{
    snprintf(text, size, "received %llu bytes, checksum %08lx", digest->length,
             (unsigned long)digest->checksum);
}

void ovs_print_received(const struct ovs_digest *digest)
{
    char reply[64];
    char shown[OVS_PREVIEW_MAX + 1];
    size_t i;

    for (i = 0; i < digest->preview_length; i++) {
        unsigned char c = (unsigned char)digest->preview[i];
        shown[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    shown[i] = '\0';
    ovs_digest_reply(digest, reply, sizeof reply);
    printf("%s: \"%s\"%s\n", reply, shown,
           digest->length > digest->preview_length ? "..." : "");
    fflush(stdout);
}

int ovs_receive_message(SOCKET s, ovs_receive_function receive, struct ovs_digest *digest)
{
    static char chunk[64 * 1024];
    unsigned char header[OVS_HEADER_SIZE];
    unsigned long long announced, remaining;
    long long n;

    ovs_digest_init(digest);
    // [receive_header]
    n = ovs_recv_exactly(s, (char *)header, sizeof header, receive);
    if (n < 0)
        return -1;
    if (n < (long long)sizeof header) {
        fprintf(stderr, "the client closed the connection before sending a message\n");
        return -1;
    }
    announced = remaining = ovs_decode_length(header);
    if (announced > OVS_MAX_MESSAGE) {
        fprintf(stderr, "the client announced %llu bytes, more than the limit\n", announced);
        return -1;
    }
    // [receive_header]
    // [receive_body]
    /* The body may be far larger than any buffer we want to hold, so it is
       received a chunk at a time; each receive blocks until data arrives. */
    while (remaining > 0) {
        size_t wanted = remaining < sizeof chunk ? (size_t)remaining : sizeof chunk;
        n = ovs_recv_exactly(s, chunk, wanted, receive);
        if (n < 0)
            return -1;
        ovs_digest_add(digest, chunk, (size_t)n);
        if ((size_t)n < wanted) {
            fprintf(stderr, "the client closed the connection after %llu of %llu bytes\n",
                    digest->length, announced);
            return -1;
        }
        remaining -= (unsigned long long)n;
    }
    // [receive_body]
    return 0;
}

int ovs_send_message(SOCKET s, const char *body, size_t length)
{
    unsigned char header[OVS_HEADER_SIZE];
    if (length > OVS_MAX_MESSAGE) {
        fprintf(stderr, "message of %llu bytes is larger than the limit of %u\n",
                (unsigned long long)length, OVS_MAX_MESSAGE);
        return -1;
    }
    ovs_encode_length((uint32_t)length, header);
    if (ovs_send_all(s, (const char *)header, sizeof header) != 0)
        return -1;
    return ovs_send_all(s, body, length);
}

int ovs_send_reply(SOCKET s, const struct ovs_digest *digest)
{
    char reply[64];
    ovs_digest_reply(digest, reply, sizeof reply);
    if (ovs_send_message(s, reply, strlen(reply)) != 0)
        return -1;
    printf("replied \"%s\"\n", reply);
    fflush(stdout);
    return 0;
}

int ovs_receive_and_check_reply(SOCKET s, const char *body, size_t length)
{
    struct ovs_digest sent;
    ovs_digest_init(&sent);
    ovs_digest_add(&sent, body, length);
    return ovs_receive_and_check_digest(s, &sent);
}

int ovs_receive_and_check_digest(SOCKET s, const struct ovs_digest *sent)
{
    unsigned char header[OVS_HEADER_SIZE];
    char reply[128], expected[64];
    uint32_t reply_length;
    long long n;

    n = ovs_recv_exactly(s, (char *)header, sizeof header, NULL);
    if (n < 0)
        return OVS_EXIT_FAILURE;
    if (n < (long long)sizeof header) {
        fprintf(stderr, "the server closed the connection without replying\n");
        return OVS_EXIT_FAILURE;
    }
    reply_length = ovs_decode_length(header);
    if (reply_length >= sizeof reply) {
        fprintf(stderr, "the server's reply is too long (%lu bytes)\n",
                (unsigned long)reply_length);
        return OVS_EXIT_FAILURE;
    }
    n = ovs_recv_exactly(s, reply, reply_length, NULL);
    if (n < 0)
        return OVS_EXIT_FAILURE;
    if (n < (long long)reply_length) {
        fprintf(stderr, "the server closed the connection in the middle of its reply\n");
        return OVS_EXIT_FAILURE;
    }
    reply[reply_length] = '\0'; /* the reply carries no NUL of its own */
    printf("server replied \"%s\"\n", reply);

    ovs_digest_reply(sent, expected, sizeof expected);
    if (strcmp(reply, expected) != 0) {
        fprintf(stderr, "the reply does not match what was sent (%s)\n", expected);
        return OVS_EXIT_FAILURE;
    }
    printf("reply matches what was sent\n");
    fflush(stdout);
    return OVS_EXIT_OK;
}
