/*
 * native_client.c - the benchmark's load client for Linux (not a chapter
 * program, not built by CMake: bench/bench.py compiles it with the host's
 * C compiler).
 *
 * Under Wine every socket operation of every Windows program goes through
 * the one wineserver, so a load client running under Wine spends the same
 * resource as the server it measures. This client runs natively, talks to
 * the Wine server over loopback like any other Linux program, and leaves
 * wineserver to the server alone. It does what ch05_client does: C
 * connections, M messages of S bytes each, one message in flight per
 * connection, every echoed byte checked against the same stream
 * (ovs_echo_byte() in common/ovs_load.c, written out again here: 65521
 * pseudo-random printable bytes, repeated, connection i starting at position
 * i * 7919), reading while it writes.
 *
 * Usage: native_client HOST PORT CONNECTIONS MESSAGES SIZE [SECONDS]
 * Prints how long the connections took to open, then the same result line
 * as ch05_client; exit 0 only when every byte was verified, 1 otherwise, 2 on
 * bad usage. With SECONDS, it stops after that long (the connections count
 * from when all are open) and prints the result line for what it verified
 * until then: exit 3. The benchmark uses it for servers too slow to finish a
 * load in reasonable time.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stdint.h>

/* The echo stream of common/ovs_load.c (ovs_echo_byte), which this file
   cannot link: keep the two the same. */
#define PERIOD 65521u
#define STEP 7919u

static char symbol(uint32_t j)
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

static uint32_t position(unsigned long connection, unsigned long long offset)
{
    return (uint32_t)((offset % PERIOD + (unsigned long long)(connection % PERIOD) * STEP) % PERIOD);
}

struct connection {
    int fd;
    unsigned long index, messages_done;
    unsigned long long sent, verified, message_end;
    int done;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int watch(int epoll, struct connection *c, int want_write)
{
    struct epoll_event e;
    e.events = EPOLLIN | (want_write ? EPOLLOUT : 0);
    e.data.ptr = c;
    return epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &e);
}

int main(int argc, char **argv)
{
    struct sockaddr_in address;
    struct connection *conns;
    unsigned long count, messages, i, finished = 0, failures = 0;
    unsigned long long size, round_trips = 0, verified = 0;
    char *pattern;
    static char buffer[1 << 20];
    double started, elapsed, limit = 0.0;
    int epoll, out_of_time = 0;

    if ((argc != 6 && argc != 7) || inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
        fprintf(stderr, "usage: native_client HOST PORT CONNECTIONS MESSAGES SIZE [SECONDS]\n");
        return 2;
    }
    if (argc == 7)
        limit = strtod(argv[6], NULL);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)strtoul(argv[2], NULL, 10));
    count = strtoul(argv[3], NULL, 10);
    messages = strtoul(argv[4], NULL, 10);
    size = strtoull(argv[5], NULL, 10);
    if (count == 0 || messages == 0 || size == 0 || limit < 0.0) {
        fprintf(stderr, "usage: native_client HOST PORT CONNECTIONS MESSAGES SIZE [SECONDS]\n");
        return 2;
    }
    conns = calloc(count, sizeof *conns);
    pattern = malloc(size + PERIOD);
    epoll = epoll_create1(0);
    if (conns == NULL || pattern == NULL || epoll < 0) {
        perror("native_client");
        return 1;
    }
    for (i = 0; i < size + PERIOD; i++)
        pattern[i] = symbol((uint32_t)(i % PERIOD));
    started = now();
    for (i = 0; i < count; i++) {
        struct epoll_event e;
        int one = 1;
        struct connection *c = &conns[i];
        c->index = i;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&address, sizeof address) != 0) {
            fprintf(stderr, "connection %lu of %lu: connect failed after %.3f s: %s\n", i + 1,
                    count, now() - started, strerror(errno));
            return 1;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        c->message_end = size;
        e.events = EPOLLIN | EPOLLOUT;
        e.data.ptr = c;
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &e) != 0) {
            perror("epoll_ctl");
            return 1;
        }
    }
    printf("%lu connection(s) open in %.3f s\n", count, now() - started);
    started = now();
    while (finished + failures < count) {
        struct epoll_event events[64];
        int wait_ms = 20000, n, k;
        if (limit > 0.0) {
            double left = limit - (now() - started);
            if (left <= 0.0) {
                out_of_time = 1;
                break;
            }
            if (left * 1000.0 < wait_ms)
                wait_ms = (int)(left * 1000.0) + 1;
        }
        n = epoll_wait(epoll, events, 64, wait_ms);
        if (n == 0 && limit > 0.0 && now() - started >= limit) {
            out_of_time = 1;
            break;
        }
        if (n <= 0) {
            fprintf(stderr, "nothing happened for 20 s: giving up\n");
            break;
        }
        for (k = 0; k < n; k++) {
            struct connection *c = events[k].data.ptr;
            if (c->done)
                continue;
            if ((events[k].events & EPOLLOUT) && c->sent < c->message_end) {
                size_t want = (size_t)(c->message_end - c->sent);
                ssize_t m = send(c->fd, pattern + position(c->index, c->sent),
                                 want > (1u << 20) ? (1u << 20) : want, MSG_NOSIGNAL);
                if (m > 0)
                    c->sent += (unsigned long long)m;
                else if (m < 0 && errno != EAGAIN) {
                    perror("send");
                    c->done = 1;
                    failures++;
                    continue;
                }
                if (c->sent == c->message_end)
                    watch(epoll, c, 0);
            }
            if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t m = recv(c->fd, buffer, sizeof buffer, 0), j;
                if (m <= 0 && !(m < 0 && errno == EAGAIN)) {
                    fprintf(stderr, "connection %lu: the server closed or failed after %llu bytes\n",
                            c->index + 1, c->verified);
                    c->done = 1;
                    failures++;
                    continue;
                }
                /* The pattern is periodic, so the bytes expected from this
                   offset on are the pattern from its position on (as sent):
                   one memcmp, and a byte-by-byte search only on a mismatch.
                   Checking byte by byte with symbol() capped this client
                   near 300 MB/s (measured against a native echo server). */
                if (m > 0 && (c->verified + (unsigned long long)m > c->message_end ||
                              memcmp(buffer, pattern + position(c->index, c->verified),
                                     (size_t)m) != 0)) {
                    for (j = 0; j < m; j++)
                        if (c->verified + (unsigned long long)j >= c->message_end ||
                            buffer[j] != symbol(position(c->index,
                                                         c->verified + (unsigned long long)j)))
                            break;
                    fprintf(stderr, "connection %lu: echoed byte %llu is wrong\n", c->index + 1,
                            c->verified + (unsigned long long)j);
                    c->done = 1;
                    failures++;
                }
                if (c->done)
                    continue;
                if (m > 0) {
                    c->verified += (unsigned long long)m;
                    verified += (unsigned long long)m;
                }
                if (c->verified == c->message_end) {
                    round_trips++;
                    if (++c->messages_done == messages) {
                        c->done = 1;
                        finished++;
                        close(c->fd);
                    } else {
                        c->message_end += size;
                        watch(epoll, c, 1);
                    }
                }
            }
        }
    }
    elapsed = now() - started;
    printf("%lu connection(s) x %lu message(s): %llu round trips, %llu bytes verified in %.3f s "
           "(%.0f round trips/s, %.1f MB/s)\n",
           count, messages, round_trips, verified, elapsed, round_trips / elapsed,
           (double)verified / elapsed / 1e6);
    if (failures == 0 && finished == count) {
        printf("all %llu round trips verified\n", round_trips);
        return 0;
    }
    if (failures == 0 && out_of_time) {
        fprintf(stderr, "time limit of %.0f s reached: %llu of %llu round trips done, every byte "
                "so far verified\n", limit, round_trips, (unsigned long long)count * messages);
        return 3;
    }
    fprintf(stderr, "%lu of %lu connections failed\n", failures + (count - finished - failures),
            count);
    return 1;
}
