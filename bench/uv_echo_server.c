/*
 * uv_echo_server.c - an echo server on libuv, for the benchmark only (not a
 * chapter program). bench/bench.py builds it against the libuv it built
 * from source (see bench/third_party.md) and compares it with the chapter
 * servers: what a production event loop does with the same completion port.
 *
 * It is the plain libuv echo: one uv_tcp_t per connection, a 64 KiB buffer
 * for every read, and a uv_write of exactly what was read (the buffer goes
 * with the write request and is freed when the write completes). End of
 * stream or an error closes the connection. A line on stdin (or its end)
 * stops the server: a thread waits for it and wakes the loop with a
 * uv_async_t (libuv cannot read a Unix pipe under Wine as a Windows pipe).
 *
 * Usage: uv_echo_server PORT   (0 lets the system choose)
 * Prints "listening on 127.0.0.1 port N" like the chapter servers, and a
 * summary line when it stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define READ_SIZE 65536

struct write_request {
    uv_write_t req;
    uv_buf_t buf;
};

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_async_t stopper;
static unsigned long served;
static unsigned long long echoed;

static void fail(const char *call, int rc)
{
    fprintf(stderr, "%s failed: %s\n", call, uv_strerror(rc));
    exit(1);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    buf->base = malloc(READ_SIZE);
    buf->len = buf->base != NULL ? READ_SIZE : 0; /* 0: libuv reports UV_ENOBUFS */
}

static void on_closed(uv_handle_t *handle)
{
    free(handle);
}

static void on_written(uv_write_t *req, int status)
{
    struct write_request *w = (struct write_request *)req;
    if (status < 0 && !uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_closed);
    free(w->buf.base);
    free(w);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct write_request *w;
    if (nread < 0) { /* UV_EOF or an error: this connection is done */
        free(buf->base);
        uv_close((uv_handle_t *)stream, on_closed);
        return;
    }
    if (nread == 0) { /* nothing this time (EAGAIN) */
        free(buf->base);
        return;
    }
    w = malloc(sizeof *w);
    if (w == NULL) {
        free(buf->base);
        uv_close((uv_handle_t *)stream, on_closed);
        return;
    }
    w->buf = uv_buf_init(buf->base, (unsigned int)nread);
    echoed += (unsigned long long)nread;
    if (uv_write(&w->req, stream, &w->buf, 1, on_written) != 0) {
        free(w->buf.base);
        free(w);
        uv_close((uv_handle_t *)stream, on_closed);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    uv_tcp_t *client;
    if (status < 0) {
        fprintf(stderr, "connection failed: %s\n", uv_strerror(status));
        return; /* go on accepting */
    }
    client = malloc(sizeof *client);
    if (client == NULL || uv_tcp_init(loop, client) != 0) {
        free(client);
        return;
    }
    if (uv_accept(server, (uv_stream_t *)client) != 0) {
        uv_close((uv_handle_t *)client, on_closed);
        return;
    }
    served++;
    uv_tcp_nodelay(client, 1);
    uv_read_start((uv_stream_t *)client, on_alloc, on_read);
}

static void close_any(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (uv_is_closing(handle))
        return;
    /* the listener and the stopper are static; every connection was malloc'ed */
    uv_close(handle, handle == (uv_handle_t *)&listener || handle == (uv_handle_t *)&stopper
                         ? NULL : on_closed);
}

static void on_stop(uv_async_t *async)
{
    uv_walk(async->loop, close_any, NULL);
}

static void watch_stdin(void *arg)
{
    char line[256];
    (void)arg;
    (void)fgets(line, sizeof line, stdin); /* a line or the end of stdin: either stops it */
    uv_async_send(&stopper);
}

int main(int argc, char **argv)
{
    struct sockaddr_in address;
    struct sockaddr_storage bound;
    uv_thread_t watcher;
    int rc, length = sizeof bound;

    if (argc != 2) {
        fprintf(stderr, "usage: uv_echo_server <port>\n");
        return 2;
    }
    loop = uv_default_loop();
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &address);
    if ((rc = uv_tcp_init(loop, &listener)) != 0)
        fail("uv_tcp_init", rc);
    if ((rc = uv_tcp_bind(&listener, (const struct sockaddr *)&address, 0)) != 0)
        fail("uv_tcp_bind", rc);
    if ((rc = uv_listen((uv_stream_t *)&listener, SOMAXCONN, on_connection)) != 0)
        fail("uv_listen", rc);
    if ((rc = uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &length)) != 0)
        fail("uv_tcp_getsockname", rc);
    if ((rc = uv_async_init(loop, &stopper, on_stop)) != 0)
        fail("uv_async_init", rc);
    if ((rc = uv_thread_create(&watcher, watch_stdin, NULL)) != 0)
        fail("uv_thread_create", rc);
    printf("libuv %s\nlistening on 127.0.0.1 port %d\n", uv_version_string(),
           ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);
    rc = uv_run(loop, UV_RUN_DEFAULT);
    printf("stopped: %lu connections served, %llu bytes echoed\n", served, echoed);
    return uv_loop_close(loop) == 0 && rc == 0 ? 0 : 1;
}
