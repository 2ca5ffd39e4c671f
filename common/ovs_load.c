/*
 * ovs_load.c - what the echo load clients share (chapter 5 on): connecting
 * many sockets to one server, the byte pattern every echoed byte is checked
 * against, message-size lists, and the result line.
 *
 * The pattern: OVS_ECHO_PERIOD pseudo-random printable bytes, repeated;
 * connection i's stream starts at position (i * OVS_ECHO_STEP) modulo the
 * period. The period is a prime, so every connection of a run (fewer than
 * 65521) starts at a different place, and a stretch of the pattern matches
 * only itself: an echo from another connection, another offset or in
 * another order shows, unless it is a whole multiple of 65521 bytes off.
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Symbol j (0 <= j < OVS_ECHO_PERIOD) of the echo tests' pattern: a
   printable character picked by a 32-bit integer hash of j (the "lowbias32"
   mixer), so no stretch of the pattern resembles another. */
static char echo_symbol(uint32_t j)
{
    static const char symbols[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
    j ^= j >> 16;
    j *= 0x7feb352du;
    j ^= j >> 15;
    j *= 0x846ca68bu;
    j ^= j >> 16;
    return symbols[j & 63u];
}

/* Where connection `connection`'s stream is in the pattern at `offset`. */
static uint32_t echo_position(unsigned long connection, unsigned long long offset)
{
    return (uint32_t)((offset % OVS_ECHO_PERIOD +
                       (unsigned long long)(connection % OVS_ECHO_PERIOD) * OVS_ECHO_STEP) %
                      OVS_ECHO_PERIOD);
}

char ovs_echo_byte(unsigned long connection, unsigned long long offset)
{
    return echo_symbol(echo_position(connection, offset));
}

void ovs_echo_fill(char *data, size_t length, unsigned long connection, unsigned long long offset)
{
    uint32_t j = echo_position(connection, offset);
    size_t i;
    for (i = 0; i < length; i++) {
        data[i] = echo_symbol(j);
        if (++j == OVS_ECHO_PERIOD)
            j = 0;
    }
}

char *ovs_echo_pattern(unsigned long long longest)
{
    size_t size = (size_t)longest + OVS_ECHO_PERIOD;
    char *pattern = (char *)malloc(size);
    if (pattern != NULL)
        ovs_echo_fill(pattern, size, 0, 0);
    return pattern;
}

const char *ovs_echo_from(const char *pattern, unsigned long connection, unsigned long long offset)
{
    return pattern + echo_position(connection, offset);
}

int ovs_parse_number_list(const char *text, unsigned long long min, unsigned long long max,
                          unsigned long long *values, size_t max_count, size_t *count)
{
    char item[32];
    const char *p = text;
    *count = 0;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof item || *count == max_count)
            return -1;
        memcpy(item, p, n);
        item[n] = '\0';
        if (ovs_parse_number(item, min, max, &values[*count]) != 0)
            return -1;
        (*count)++;
        p += n;
        if (*p == ',')
            p++;
    }
    return *count > 0 ? 0 : -1;
}

int ovs_connect_many(const char *usage, const char *host, const char *port_text, SOCKET *sockets,
                     unsigned long count)
{
    struct sockaddr_storage peer;
    int peer_length = (int)sizeof peer;
    struct addrinfo one;
    unsigned long i;
    int rc = ovs_start_client(usage, host, port_text, ovs_overlapped_socket, &sockets[0]);

    if (rc != 0)
        return rc;
    /* The others go where the first one went (a name can have several
       addresses; they must all reach the same server). */
    if (getpeername(sockets[0], (struct sockaddr *)&peer, &peer_length) == SOCKET_ERROR) {
        ovs_report_wsa_error("getpeername");
        i = 1;
    } else {
        memset(&one, 0, sizeof one);
        one.ai_family = peer.ss_family;
        one.ai_socktype = SOCK_STREAM;
        one.ai_protocol = IPPROTO_TCP;
        one.ai_addr = (struct sockaddr *)&peer;
        one.ai_addrlen = (size_t)peer_length;
        for (i = 1; i < count; i++) {
            sockets[i] = ovs_connect(&one, ovs_overlapped_socket);
            if (sockets[i] == INVALID_SOCKET)
                break;
        }
        if (i == count)
            return 0;
    }
    fprintf(stderr, "only %lu of %lu connections could be made\n", i, count);
    while (i-- > 0)
        closesocket(sockets[i]);
    ovs_winsock_stop();
    return OVS_EXIT_FAILURE;
}

double ovs_seconds(void)
{
    LARGE_INTEGER now, frequency;
    /* Neither call can fail on Windows XP or later. */
    QueryPerformanceCounter(&now);
    QueryPerformanceFrequency(&frequency);
    return (double)now.QuadPart / (double)frequency.QuadPart;
}

void ovs_print_load_result(unsigned long connections, unsigned long messages,
                           unsigned long long round_trips, unsigned long long bytes, double seconds)
{
    double megabytes = seconds > 0 ? (double)bytes / seconds / 1e6 : 0.0;
    /* Small messages move little data: three decimals rather than "0.0". */
    printf("%lu connection(s) x %lu message(s): %llu round trips, %llu bytes verified in "
           "%.3f s (%.0f round trips/s, %.*f MB/s)\n",
           connections, messages, round_trips, bytes, seconds,
           seconds > 0 ? (double)round_trips / seconds : 0.0, megabytes < 1.0 ? 3 : 1,
           megabytes);
    fflush(stdout);
}
