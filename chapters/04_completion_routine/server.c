/*
 * Chapter 4 - completion routines: the server.
 *
 * Shows: WSARecv with a completion routine instead of an event. The system
 * does not call the routine whenever it likes: it queues it to the thread
 * that issued the receive, and runs it only while that thread sits in an
 * alertable wait (SleepEx, WaitForSingleObjectEx, WSAWaitForMultipleEvents
 * with fAlertable TRUE). Such a wait then returns WAIT_IO_COMPLETION (192).
 * The routine reads the header, then re-posts WSARecv for the body until the
 * whole message is in; main() waits again after every 192 until it is.
 * This is the blog post's completion-routine server, done right (see
 * docs/errata.md).
 *
 * Usage: ch04_server [options] <port> [address]
 *   port              0 lets the system choose; it is printed as
 *                     "listening on <address> port <N>"
 *   address           where to listen (default 127.0.0.1; ::1 for IPv6)
 *   --count N         serve N clients one after another, then stop (default 1)
 *   --wait KIND       the alertable wait: sleepex (default), wfso or wsawait
 *   --timeout MS      give up when no routine runs within MS ms (default 5000)
 *   --wait-for-data   wait until the client's data is there before posting the
 *                     first WSARecv, then wait once without being alertable,
 *                     to show that the routine does not run then
 *   --shut-receive    shut down the receiving side before the first WSARecv,
 *                     which then fails at once: no routine will ever come
 */
#include "ovs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ch04_server [--count N] [--wait sleepex|wfso|wsawait] [--timeout MS] "
    "[--wait-for-data] [--shut-receive] <port> [address]";

/* How long the demonstration's plain (not alertable) wait lasts. */
#define PLAIN_WAIT_MS 100u
/* The body arrives into this buffer a piece at a time. */
#define BODY_CHUNK (64u * 1024u)

enum wait_kind { WAIT_SLEEPEX, WAIT_WFSO, WAIT_WSAWAIT };

enum receive_stage { STAGE_HEADER, STAGE_BODY };

/* How one client's exchange ended. */
enum outcome { OUTCOME_ANSWERED, OUTCOME_SILENT, OUTCOME_FAILED, OUTCOME_STUCK };

// [connection]
/* Everything one client's receives need. It lives on the heap, not on a
   stack frame, and is freed only when no receive is outstanding: the
   system writes into the buffers and the WSAOVERLAPPED until the routine
   for that receive has run. */
struct connection {
    WSAOVERLAPPED overlapped; /* one receive at a time, so one is enough */
    SOCKET socket;
    enum receive_stage stage;
    unsigned char header[OVS_HEADER_SIZE];
    size_t header_received;
    unsigned long long announced; /* body length from the header */
    char chunk[BODY_CHUNK];
    struct ovs_digest digest;
    int receive_outstanding; /* posted, and its routine has not run yet */
    int message_complete;
    int closed_silently;     /* end of stream before the first byte */
    int gave_up;             /* main() closed the socket after a timeout */
    unsigned long receives_posted;
    unsigned long routine_runs;
};
// [connection]

/* The thread that runs main(); a completion routine compares itself with it. */
static DWORD main_thread_id;

static void CALLBACK receive_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                       DWORD flags);

// [post_receive]
/* Posts one WSARecv for what the message still lacks. Returns 0 when a
   completion routine is now sure to come (immediate success or
   WSA_IO_PENDING), -1 when the call failed: then nothing will ever come. */
static int post_receive(struct connection *c)
{
    WSABUF buffer;
    DWORD flags = 0; /* in/out: must be reset before every call */
    const char *what;
    int rc;

    if (c->stage == STAGE_HEADER) {
        buffer.buf = (char *)c->header + c->header_received;
        buffer.len = (ULONG)(OVS_HEADER_SIZE - c->header_received);
        what = "the header";
    } else {
        unsigned long long missing = c->announced - c->digest.length;
        buffer.buf = c->chunk;
        buffer.len = (ULONG)(missing < BODY_CHUNK ? missing : BODY_CHUNK);
        what = "the body";
    }
    /* With a completion routine the system ignores hEvent, so it carries
       the connection to the routine. The byte count pointer is NULL: the
       routine gets the count, even when the call completes at once. */
    memset(&c->overlapped, 0, sizeof c->overlapped);
    c->overlapped.hEvent = (WSAEVENT)c;
    rc = WSARecv(c->socket, &buffer, 1, NULL, &flags, &c->overlapped, receive_completed);
    if (rc == SOCKET_ERROR && WSAGetLastError() != WSA_IO_PENDING) {
        ovs_report_wsa_error("WSARecv");
        return -1;
    }
    c->receives_posted++;
    c->receive_outstanding = 1;
    printf("WSARecv for %s (up to %lu bytes): %s\n", what, (unsigned long)buffer.len,
           rc == 0 ? "completed at once; its routine is queued all the same"
                   : "pending (WSA_IO_PENDING)");
    return 0;
}
// [post_receive]

// [routine]
/* Runs on the thread that posted the receive, inside one of its alertable
   waits: never on another thread, never in the middle of other code. */
static void CALLBACK receive_completed(DWORD error, DWORD bytes, LPWSAOVERLAPPED overlapped,
                                       DWORD flags)
{
    struct connection *c = (struct connection *)overlapped->hEvent;
    DWORD thread = GetCurrentThreadId();

    (void)flags;
    c->receive_outstanding = 0;
    c->routine_runs++;
    printf("completion routine run %lu on thread %lu (%s): %lu bytes, error %lu\n",
           c->routine_runs, (unsigned long)thread,
           thread == main_thread_id ? "the same thread as main" : "another thread",
           (unsigned long)bytes, (unsigned long)error);
    if (error != 0) {
        /* A reset gives WSAECONNRESET; a receive cut short by closesocket
           gives WSA_OPERATION_ABORTED on Windows (another code under Wine). */
        ovs_report_error("WSARecv", (int)error);
        return;
    }
    if (bytes == 0) { /* the client closed its sending side */
        if (c->stage == STAGE_HEADER && c->header_received == 0)
            c->closed_silently = 1;
        else if (c->stage == STAGE_HEADER)
            fprintf(stderr, "the client closed the connection in the middle of a header\n");
        else
            fprintf(stderr, "the client closed the connection after %llu of %llu bytes\n",
                    c->digest.length, c->announced);
        return;
    }
    if (c->stage == STAGE_HEADER) {
        c->header_received += bytes;
        if (c->header_received == OVS_HEADER_SIZE) {
            c->announced = ovs_decode_length(c->header);
            printf("  the header announces %llu bytes\n", c->announced);
            if (c->announced > OVS_MAX_MESSAGE) {
                fprintf(stderr, "the client announced %llu bytes, more than the limit\n",
                        c->announced);
                return;
            }
            c->stage = STAGE_BODY;
        }
    } else {
        ovs_digest_add(&c->digest, c->chunk, bytes);
        printf("  %llu of %llu body bytes are in\n", c->digest.length, c->announced);
    }
    if (c->stage == STAGE_BODY && c->digest.length == c->announced) {
        c->message_complete = 1;
        return;
    }
    /* More to come: the routine itself posts the next receive. If that
       fails, post_receive has reported it, nothing is outstanding any more,
       and main()'s wait loop ends for this client. */
    if (!c->gave_up)
        (void)post_receive(c);
    fflush(stdout);
}
// [routine]

static const char *wait_call_name(enum wait_kind kind)
{
    return kind == WAIT_SLEEPEX ? "SleepEx" : kind == WAIT_WFSO ? "WaitForSingleObjectEx"
                                                               : "WSAWaitForMultipleEvents";
}

static const char *wait_result_name(enum wait_kind kind, DWORD result)
{
    if (result == WAIT_IO_COMPLETION) /* == WSA_WAIT_IO_COMPLETION */
        return "WAIT_IO_COMPLETION";
    if (kind == WAIT_SLEEPEX)
        return result == 0 ? "the time ran out" : "unexpected";
    if (result == WAIT_TIMEOUT) /* == WSA_WAIT_TIMEOUT */
        return "WAIT_TIMEOUT";
    if (result == WAIT_OBJECT_0)
        return "WAIT_OBJECT_0";
    if (result == WAIT_FAILED) /* == WSA_WAIT_FAILED */
        return "WAIT_FAILED";
    return "unexpected";
}

// [alertable_wait]
/* One alertable wait of the chosen kind. Only a completion routine (or the
   time running out) ends it: the event is one that nothing ever sets, there
   just so that the two event-based waits have something to wait on. */
static DWORD alertable_wait(enum wait_kind kind, HANDLE never_set, DWORD timeout_ms)
{
    DWORD result;
    /* Said before the wait, so that the routines printed next are seen to
       run inside it. */
    printf("waiting in %s(%lu ms, alertable)\n", wait_call_name(kind), (unsigned long)timeout_ms);
    fflush(stdout);
    if (kind == WAIT_SLEEPEX)
        result = SleepEx(timeout_ms, TRUE);
    else if (kind == WAIT_WFSO)
        result = WaitForSingleObjectEx(never_set, timeout_ms, TRUE);
    else
        result = WSAWaitForMultipleEvents(1, &never_set, FALSE, timeout_ms, TRUE);
    if (result == WAIT_FAILED)
        ovs_report_error(wait_call_name(kind), (int)GetLastError());
    printf("%s(%lu ms, alertable) returned %lu %s\n", wait_call_name(kind),
           (unsigned long)timeout_ms, (unsigned long)result, wait_result_name(kind, result));
    fflush(stdout);
    return result;
}
// [alertable_wait]

// [wait_for_data]
/* For the demonstrations: blocks (bounded) until the socket is readable,
   i.e. data, an end of stream or a reset is already there. */
static int wait_until_readable(SOCKET s, DWORD timeout_ms)
{
    int rc = ovs_wait_readable(s, timeout_ms);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        fprintf(stderr, "the client sent nothing within %lu ms\n", (unsigned long)timeout_ms);
        return -1;
    }
    printf("the client's data (or its close) is already here\n");
    return 0;
}
// [wait_for_data]

/* Receives one message from an accepted client and answers it. */
static enum outcome serve_client(SOCKET client, enum wait_kind kind, HANDLE never_set,
                                 DWORD timeout_ms, int wait_for_data, int shut_receive)
{
    struct connection *c;
    enum outcome result;

    c = (struct connection *)calloc(1, sizeof *c);
    if (c == NULL) {
        ovs_report_error("calloc", ERROR_NOT_ENOUGH_MEMORY);
        closesocket(client);
        return OUTCOME_FAILED;
    }
    c->socket = client;
    c->stage = STAGE_HEADER;
    ovs_digest_init(&c->digest);

    if (wait_for_data && wait_until_readable(client, timeout_ms) != 0) {
        closesocket(client);
        free(c);
        return OUTCOME_FAILED;
    }
    // [shut_receive]
    /* For the demonstration of a receive that cannot even start: after
       shutdown(SD_RECEIVE), WSARecv fails at once with WSAESHUTDOWN. */
    if (shut_receive) {
        if (shutdown(client, SD_RECEIVE) == SOCKET_ERROR)
            ovs_report_wsa_error("shutdown");
        else
            printf("shut down the receiving side (--shut-receive)\n");
    }
    // [shut_receive]
    // [first_receive]
    if (post_receive(c) != 0) {
        /* No routine will ever run for a receive that failed to start:
           waiting for one would wait forever. Clean up right here. */
        printf("WSARecv failed at once, so no routine will come: "
               "closing the connection without waiting\n");
        closesocket(client);
        free(c);
        return OUTCOME_FAILED;
    }
    // [first_receive]
    // [plain_wait]
    if (wait_for_data) {
        /* The receive may well be complete already, yet its routine waits
           in the queue: a wait that is not alertable does not run it. */
        Sleep(PLAIN_WAIT_MS);
        printf("after Sleep(%lu), which is not alertable: routine runs so far: %lu\n",
               (unsigned long)PLAIN_WAIT_MS, c->routine_runs);
    }
    // [plain_wait]
    fflush(stdout);

    // [wait_loop]
    /* Wait until no receive is outstanding: the routine re-posts until the
       message is whole, so one 192 is not the end of the story. */
    while (c->receive_outstanding) {
        DWORD waited = alertable_wait(kind, never_set, timeout_ms);
        if (waited == WAIT_IO_COMPLETION)
            continue;
        if (c->gave_up) {
            /* Even the aborted receive has not reported back: its buffers
               may still be written to, so they cannot be freed. */
            fprintf(stderr, "the abandoned receive never completed; stopping the server\n");
            return OUTCOME_STUCK;
        }
        printf("no completion routine ran within %lu ms: giving up on this client\n",
               (unsigned long)timeout_ms);
        /* closesocket ends the pending receive with an error, but the
           routine for it still has to run before c may be freed. */
        c->gave_up = 1;
        closesocket(client);
    }
    // [wait_loop]
    printf("receives posted: %lu, routine runs: %lu (%s)\n", c->receives_posted,
           c->routine_runs,
           c->receives_posted == c->routine_runs ? "once for each" : "MISMATCH");

    if (c->message_complete && !c->gave_up) {
        ovs_print_received(&c->digest);
        result = ovs_send_reply(client, &c->digest) == 0 ? OUTCOME_ANSWERED : OUTCOME_FAILED;
        /* FIN after the reply, so the client's last recv() returns 0. */
        if (result == OUTCOME_ANSWERED && shutdown(client, SD_SEND) == SOCKET_ERROR) {
            ovs_report_wsa_error("shutdown");
            result = OUTCOME_FAILED;
        }
    } else if (c->closed_silently) {
        printf("the client closed the connection without sending anything\n");
        result = OUTCOME_SILENT;
    } else {
        result = OUTCOME_FAILED;
    }
    if (!c->gave_up)
        closesocket(client);
    free(c);
    fflush(stdout);
    return result;
}

static int parse_wait_kind(const char *text, enum wait_kind *kind)
{
    if (strcmp(text, "sleepex") == 0)
        *kind = WAIT_SLEEPEX;
    else if (strcmp(text, "wfso") == 0)
        *kind = WAIT_WFSO;
    else if (strcmp(text, "wsawait") == 0)
        *kind = WAIT_WSAWAIT;
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *args[2] = {NULL, "127.0.0.1"};
    /* static: the option table holds their addresses (see chapter 1's client) */
    static unsigned long long count = 1, timeout_ms = 5000;
    static const char *wait_text = "sleepex";
    static int wait_for_data = 0, shut_receive = 0;
    const struct ovs_option options[] = {
        {"--count", OVS_OPTION_NUMBER, &count, 1, 1000},
        {"--wait", OVS_OPTION_TEXT, &wait_text, 0, 0},
        {"--timeout", OVS_OPTION_NUMBER, &timeout_ms, 1, 600000},
        {"--wait-for-data", OVS_OPTION_FLAG, &wait_for_data, 0, 0},
        {"--shut-receive", OVS_OPTION_FLAG, &shut_receive, 0, 0},
    };
    enum wait_kind kind;
    unsigned long long served;
    unsigned long answered = 0, silent = 0, failed = 0;
    HANDLE never_set;
    SOCKET listener;
    int rc, stuck = 0;

    rc = ovs_parse_args(argc, argv, usage, options, sizeof options / sizeof options[0], args, 1, 2);
    if (rc != 0)
        return rc;
    if (parse_wait_kind(wait_text, &kind) != 0)
        return ovs_usage_error(usage, "--wait must be sleepex, wfso or wsawait");
    rc = ovs_start_server(usage, args[0], args[1], ovs_overlapped_socket, &listener);
    if (rc != 0)
        return rc;
    /* A manual-reset event that nothing sets: see alertable_wait(). */
    never_set = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (never_set == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        closesocket(listener);
        ovs_winsock_stop();
        return OVS_EXIT_FAILURE;
    }
    main_thread_id = GetCurrentThreadId();
    printf("main thread %lu; completion routines will run here, in %s\n",
           (unsigned long)main_thread_id, wait_call_name(kind));
    fflush(stdout);

    for (served = 0; served < count && !stuck; served++) {
        struct sockaddr_storage peer;
        int peer_length;
        char peer_text[OVS_ADDRESS_TEXT_MAX];
        SOCKET client;
        enum outcome outcome;

        printf("waiting for client %llu of %llu\n", served + 1, count);
        fflush(stdout);
        // [accept]
        /* In/out: the size of the whole structure on the way in. The blog
           post passes sizeof(int), too small for any address: WSAEFAULT. */
        peer_length = (int)sizeof peer;
        client = accept(listener, (struct sockaddr *)&peer, &peer_length);
        // [accept]
        if (client == INVALID_SOCKET) {
            /* A client that resets before it is accepted can make accept
               fail; the listener is still fine, so go on to the next. */
            ovs_report_wsa_error("accept");
            failed++;
            continue;
        }
        ovs_format_address((const struct sockaddr *)&peer, peer_text, sizeof peer_text);
        printf("accepted connection from %s\n", peer_text);
        fflush(stdout);
        outcome = serve_client(client, kind, never_set, (DWORD)timeout_ms, wait_for_data,
                               shut_receive);
        if (outcome == OUTCOME_ANSWERED)
            answered++;
        else if (outcome == OUTCOME_SILENT)
            silent++;
        else
            failed++;
        stuck = outcome == OUTCOME_STUCK;
    }
    printf("clients served: %lu (answered %lu, without a message %lu, failed %lu)\n",
           answered + silent + failed, answered, silent, failed);
    fflush(stdout);
    CloseHandle(never_set);
    closesocket(listener);
    /* With a receive stuck, WSACleanup would cancel it while its buffers
       are still ours; the process exits straight away instead. */
    if (!stuck)
        ovs_winsock_stop();
    return failed == 0 ? OVS_EXIT_OK : OVS_EXIT_FAILURE;
}
