/*
 * pairtest - runs a chapter's server and client against each other and checks
 * what they print and return. Every chapter test and the walk-through use it.
 *
 * It is a Windows program on purpose: the same tests run natively on Windows
 * and, through CMake's cross-compiling emulator, under Wine.
 *
 * Usage:
 *   pairtest [checks] -- SERVER [args] -- CLIENT [args] [-- CLIENT [args] ...]
 *   pairtest [checks] -- PROGRAM [args]            (one program, no server)
 *
 * The server is started first; pairtest waits (without sleeping) until it
 * prints "listening on <address> port <N>", then runs the clients one after
 * another (or all at once, with --parallel). In client arguments, {host} and {port} become the server's address
 * and port, and {refused_port} a port that is bound but not listening, so a
 * connection to it is refused. In a lone program's arguments {host} and
 * {port} become empty. In both, {--} becomes -- and {{ becomes {, so that
 * pairtest can run pairtest as a lone program and check what it reports:
 *   pairtest --exit 1 -- pairtest --release-on X {--} SERVER {--} CLIENT {{port}
 * Program names without a path are looked up next to pairtest.exe (first in
 * the folder --programs names, if given). Whatever happens, the server is
 * stopped before exit.
 *
 * Checks (TEXT is matched as a substring of one output line; the lines that
 * match a stream's checks must come in the order the checks are given):
 *   --server-exit N / --client-exit N   expected exit codes (default 0)
 *   --server-out TEXT / --server-err TEXT   a line of the server's stdout/stderr
 *   --client-out TEXT / --client-err TEXT   ... of every client's stdout/stderr
 *   --server-not TEXT / --client-not TEXT   no line of stdout or stderr has TEXT
 *   --server-count TEXT N               exactly N server stdout lines have TEXT
 *   --any-client-out TEXT               at least one client's stdout has a
 *                                       line with TEXT (for tests whose
 *                                       clients are different programs)
 *   --exit, --out, --err, --not, --count  the same for a lone program
 * Every N is a whole decimal number (digits only): exit codes 0 to
 * 4294967295, counts 0 to 1000000000, the timeout 1 to 86400; anything else
 * is bad usage.
 * Other options:
 *   --release-on TEXT  give the client an open stdin, and write one line to it
 *                      when the server prints a line containing TEXT (the
 *                      test peer's "wait" step blocks on it)
 *   --release-server-on TEXT  the other way round: give the server an open
 *                      stdin, and write one line to it when a client prints
 *                      a line containing TEXT (once in the run). The server's
 *                      stdin is closed once the clients are done, so a server
 *                      still waiting for the line stops waiting then.
 *   --parallel         start every client at once instead of one after
 *                      another, then wait for all of them (releases apply to
 *                      each: --release-on releases every client)
 *   --stop-server      once every client has exited, write "stop" to the
 *                      server's stdin (a server that stops on a line, like
 *                      the echo servers from chapter 5 on, then prints its
 *                      summary and exits) and wait for it to exit
 *   --stop-server-when TEXT  the same, but wait first (within the time
 *                      limit) until the server prints a line with TEXT, for
 *                      a test that needs the server to have seen every
 *                      client leave before it stops
 *   --timeout SECONDS  for the whole run (default 30)
 *   --brief            print only the checks that failed (for the walk-through)
 *   --programs DIR     look for each program without a path first in DIR
 *                      (relative to pairtest.exe's folder, or absolute), then
 *                      next to pairtest.exe: the exercises run a chapter's
 *                      tests with the reader's copy of one program this way
 *   --transcript FILE  also write what each program printed, as a reader would
 *                      see it in two terminals, to FILE
 *   --timeline FILE    also write every line every program printed to FILE,
 *                      merged across programs in the order pairtest read
 *                      them, one per line (LF line ends):
 *                        <microseconds since pairtest started>\t<label>\t<out|err>\t<line>
 *                      The label is the transcript's ("server", "client",
 *                      "client 1", ... or "program"); the line is without
 *                      its CR/LF. A line is timed when its reader thread
 *                      gets the chunk that completes it (QueryPerformance-
 *                      Counter, read under the lock that orders the file,
 *                      so times never go backwards). Each program's lines
 *                      keep their own order. For charts of who said what
 *                      when.
 *
 * At the end pairtest closes every handle it opened for the run and prints
 * "pairtest: handles at start N, at end M" (with --brief only when the two
 * differ); a difference counts as a failed check.
 *
 * Exit code: 0 when every check passed, 1 when any failed, 2 on bad usage.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include "ovs.h" /* only for ovs_count_handles(): pairtest has its own reporting */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLIENTS 16
#define MAX_TIMEOUT_SECONDS 86400ul /* a day: far beyond any test */
#define MAX_COUNT 1000000000ul
#define MAX_ARGS 64

enum check_kind { CHECK_OUT, CHECK_ERR, CHECK_NOT, CHECK_COUNT, CHECK_ANY_OUT };

struct check {
    int on_server;
    enum check_kind kind;
    const char *text;
    unsigned long count;
};

/* One output stream of a child, filled by its own reader thread. */
struct stream {
    HANDLE pipe;
    HANDLE thread;
    HANDLE changed; /* set whenever new bytes arrive, or at end of stream */
    CRITICAL_SECTION lock;
    int initialized; /* lock and handles are set up, not yet released */
    char *data;
    size_t length, capacity;
    const char *label; /* the program's, for the timeline */
    const char *kind;  /* "out" or "err", for the timeline */
    size_t line_start; /* where the line not yet in the timeline starts */
};

struct program {
    const char *label;
    char **argv;
    int argc;
    PROCESS_INFORMATION process;
    HANDLE stdin_write; /* only with --release-on */
    struct stream out, err;
    DWORD exit_code;
    int started, finished;
    int starts; /* how many times it was started (see start_again) */
};

static struct check *checks; /* grows with every check given */
static int n_checks, checks_capacity;
static int failures;
static int n_passed;
static int brief; /* --brief: print only failed checks */

/* --timeline: every line of every program, in the order the readers got
   them. One lock for all readers keeps that order, and each timestamp is
   taken under it, so the times in the file never go backwards. */
static int timeline_on;
static CRITICAL_SECTION timeline_lock;
static char *timeline;
static size_t timeline_length, timeline_capacity;
static LARGE_INTEGER run_start, counter_frequency;

static void verdict(int ok, const char *what, const char *detail)
{
    if (!ok || !brief)
        printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail ? ": " : "", detail ? detail : "");
    if (ok)
        n_passed++;
    else
        failures++;
}

static void *checked_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (q == NULL) {
        fprintf(stderr, "pairtest: out of memory\n");
        exit(1);
    }
    return q;
}

/* Microseconds since pairtest started. Whole seconds and the rest are
   scaled apart, so that the multiplication cannot overflow. */
static unsigned long long microseconds_now(void)
{
    LARGE_INTEGER now;
    unsigned long long ticks, frequency = (unsigned long long)counter_frequency.QuadPart;
    /* QueryPerformanceCounter cannot fail on Windows XP and later. */
    QueryPerformanceCounter(&now);
    ticks = (unsigned long long)(now.QuadPart - run_start.QuadPart);
    return ticks / frequency * 1000000u + ticks % frequency * 1000000u / frequency;
}

/* Appends the stream's complete lines from line_start on to the timeline,
   and with at_end its unfinished last line too. Called with timeline_lock
   and the stream's lock held. */
static void add_to_timeline(struct stream *s, unsigned long long when, int at_end)
{
    for (;;) {
        const char *line = s->data + s->line_start;
        const char *newline = (const char *)memchr(line, '\n', s->length - s->line_start);
        size_t n = newline != NULL ? (size_t)(newline - line) : s->length - s->line_start;
        char head[96];
        int head_length;
        if (newline == NULL && (!at_end || n == 0))
            return;
        head_length = snprintf(head, sizeof head, "%llu\t%s\t%s\t", when, s->label, s->kind);
        if (head_length < 0 || (size_t)head_length >= sizeof head)
            head_length = 0; /* a label this long cannot happen: "client 16" at most */
        if (timeline_length + (size_t)head_length + n + 2 > timeline_capacity) {
            timeline_capacity = (timeline_length + (size_t)head_length + n + 2) * 2;
            timeline = (char *)checked_realloc(timeline, timeline_capacity);
        }
        memcpy(timeline + timeline_length, head, (size_t)head_length);
        timeline_length += (size_t)head_length;
        memcpy(timeline + timeline_length, line, n);
        timeline_length += n;
        timeline[timeline_length++] = '\n';
        s->line_start += newline != NULL ? n + 1 : n;
    }
}

static DWORD WINAPI read_stream(LPVOID arg)
{
    struct stream *s = (struct stream *)arg;
    char buffer[4096];
    DWORD n;
    /* ReadFile fails with ERROR_BROKEN_PIPE once every writer has closed. */
    while (ReadFile(s->pipe, buffer, sizeof buffer, &n, NULL) && n > 0) {
        DWORD i;
        /* The timeline lock is held until the new text is both in the
           stream and in the timeline: whatever pairtest does on seeing
           this text (start a client, release one) comes after it there. */
        if (timeline_on)
            EnterCriticalSection(&timeline_lock);
        EnterCriticalSection(&s->lock);
        if (s->length + n + 1 > s->capacity) {
            s->capacity = (s->length + n + 1) * 2;
            s->data = (char *)checked_realloc(s->data, s->capacity);
        }
        /* Console output uses CRLF; keep plain LF so lines compare simply. */
        for (i = 0; i < n; i++)
            if (buffer[i] != '\r')
                s->data[s->length++] = buffer[i];
        s->data[s->length] = '\0';
        if (timeline_on)
            add_to_timeline(s, microseconds_now(), 0);
        LeaveCriticalSection(&s->lock);
        if (timeline_on)
            LeaveCriticalSection(&timeline_lock);
        SetEvent(s->changed);
    }
    if (timeline_on) {
        /* A last line without a line break ends here. */
        EnterCriticalSection(&timeline_lock);
        EnterCriticalSection(&s->lock);
        if (s->data != NULL)
            add_to_timeline(s, microseconds_now(), 1);
        LeaveCriticalSection(&s->lock);
        LeaveCriticalSection(&timeline_lock);
    }
    SetEvent(s->changed);
    return 0;
}

/* Returns a malloc'ed copy of everything the stream has received so far. */
static char *stream_snapshot(struct stream *s)
{
    char *copy;
    EnterCriticalSection(&s->lock);
    copy = (char *)checked_realloc(NULL, s->length + 1);
    memcpy(copy, s->data ? s->data : "", s->length);
    copy[s->length] = '\0';
    LeaveCriticalSection(&s->lock);
    return copy;
}

/* Appends one argument to a command line, quoted the way the C runtime's
   argument parser reads it back. */
static void append_argument(char *line, size_t size, const char *arg)
{
    size_t len = strlen(line);
    const char *p;
    int needs_quotes = arg[0] == '\0' || strpbrk(arg, " \t\"") != NULL;

    if (len > 0 && len + 1 < size)
        line[len++] = ' ';
    if (needs_quotes && len + 1 < size)
        line[len++] = '"';
    for (p = arg; *p != '\0'; p++) {
        size_t backslashes = 0;
        while (*p == '\\') {
            backslashes++;
            p++;
        }
        if (*p == '\0' || *p == '"') {
            /* Backslashes before a quote (or before our closing quote) are doubled. */
            size_t k, count = needs_quotes || *p == '"' ? backslashes * 2 : backslashes;
            for (k = 0; k < count && len + 1 < size; k++)
                line[len++] = '\\';
            if (*p == '\0')
                break;
            if (len + 2 < size) {
                line[len++] = '\\';
                line[len++] = '"';
            }
        } else {
            size_t k;
            for (k = 0; k < backslashes && len + 1 < size; k++)
                line[len++] = '\\';
            if (len + 1 < size)
                line[len++] = *p;
        }
    }
    if (needs_quotes && len + 1 < size)
        line[len++] = '"';
    line[len] = '\0';
}

static const char *programs_dir; /* --programs: searched first */

/* A bare program name means "the .exe in the --programs folder, if there is
   one, else the .exe next to pairtest". */
static void program_path(const char *name, char *path, size_t size)
{
    char *slash;
    size_t room;
    if (strchr(name, '\\') != NULL || strchr(name, '/') != NULL) {
        snprintf(path, size, "%s", name);
        return;
    }
    if (GetModuleFileNameA(NULL, path, (DWORD)size) == 0 || (slash = strrchr(path, '\\')) == NULL) {
        snprintf(path, size, "%s.exe", name);
        return;
    }
    room = size - (size_t)(slash + 1 - path);
    if (programs_dir != NULL) {
        char candidate[MAX_PATH * 2];
        int absolute = programs_dir[0] == '\\' || programs_dir[0] == '/' ||
                       (programs_dir[0] != '\0' && programs_dir[1] == ':');
        if (absolute)
            snprintf(candidate, sizeof candidate, "%s\\%s.exe", programs_dir, name);
        else
            snprintf(candidate, sizeof candidate, "%.*s%s\\%s.exe", (int)(slash + 1 - path), path,
                     programs_dir, name);
        if (GetFileAttributesA(candidate) != INVALID_FILE_ATTRIBUTES) {
            snprintf(path, size, "%s", candidate);
            return;
        }
    }
    snprintf(slash + 1, room, "%s.exe", name);
}

/* Closes a handle this program owns and forgets it. A failing CloseHandle
   would mean a handle value we do not own: worth hearing about. */
static void close_handle(HANDLE *h)
{
    if (*h != NULL && *h != INVALID_HANDLE_VALUE && !CloseHandle(*h))
        fprintf(stderr, "pairtest: CloseHandle failed: %lu\n", (unsigned long)GetLastError());
    *h = NULL;
}

/* An anonymous pipe whose child end (given by child_end: 0 the read end, 1
   the write end) is inheritable and whose other end is not. */
static int make_pipe(HANDLE *read_end, HANDLE *write_end, int child_end)
{
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    if (!CreatePipe(read_end, write_end, &inherit, 0)) {
        fprintf(stderr, "pairtest: CreatePipe failed: %lu\n", (unsigned long)GetLastError());
        *read_end = *write_end = NULL;
        return -1;
    }
    if (!SetHandleInformation(child_end == 0 ? *write_end : *read_end, HANDLE_FLAG_INHERIT, 0)) {
        fprintf(stderr, "pairtest: SetHandleInformation failed: %lu\n",
                (unsigned long)GetLastError());
        close_handle(read_end);
        close_handle(write_end);
        return -1;
    }
    return 0;
}

static int init_stream(struct stream *s)
{
    memset(s, 0, sizeof *s);
    InitializeCriticalSection(&s->lock);
    s->initialized = 1;
    s->changed = CreateEventA(NULL, FALSE, FALSE, NULL);
    if (s->changed == NULL) {
        fprintf(stderr, "pairtest: CreateEvent failed: %lu\n", (unsigned long)GetLastError());
        return -1;
    }
    return 0;
}

/* Closes a stream's handles. A reader thread that is still running keeps
   its pipe, its event and its thread handle: closing them under it could
   hand their values to something else. The text stays for the checks. */
static void release_stream(struct stream *s)
{
    if (!s->initialized)
        return;
    if (s->thread != NULL && WaitForSingleObject(s->thread, 0) != WAIT_OBJECT_0)
        return;
    close_handle(&s->thread);
    close_handle(&s->pipe);
    close_handle(&s->changed);
    DeleteCriticalSection(&s->lock);
    s->initialized = 0;
}

/* Closes every handle pairtest holds for a program, on every path: after a
   failed start as after a finished run. Safe to call twice. */
static void release_program(struct program *p)
{
    close_handle(&p->stdin_write);
    close_handle(&p->process.hThread);
    close_handle(&p->process.hProcess);
    release_stream(&p->out);
    release_stream(&p->err);
}

static int start_program(struct program *p, int with_stdin)
{
    char path[MAX_PATH * 2], line[32768] = "";
    STARTUPINFOA startup;
    HANDLE out_write = NULL, err_write = NULL, in_read = NULL;
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    int i, attempt;
    DWORD error;
    BOOL ok;

    memset(&p->process, 0, sizeof p->process);
    p->stdin_write = NULL;
    p->starts++;
    program_path(p->argv[0], path, sizeof path);
    if (init_stream(&p->out) != 0 || init_stream(&p->err) != 0)
        goto failed;
    p->out.label = p->err.label = p->label;
    p->out.kind = "out";
    p->err.kind = "err";
    append_argument(line, sizeof line, path);
    for (i = 1; i < p->argc; i++)
        append_argument(line, sizeof line, p->argv[i]);

    if (make_pipe(&p->out.pipe, &out_write, 1) != 0 || make_pipe(&p->err.pipe, &err_write, 1) != 0)
        goto failed;
    if (with_stdin) {
        if (make_pipe(&in_read, &p->stdin_write, 0) != 0)
            goto failed;
    } else {
        in_read = CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                              OPEN_EXISTING, 0, NULL);
        if (in_read == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "pairtest: CreateFile(NUL) failed: %lu\n",
                    (unsigned long)GetLastError());
            goto failed;
        }
    }
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = in_read;
    startup.hStdOutput = out_write;
    startup.hStdError = err_write;
    /* Under Wine with many tests at once, CreateProcess now and then fails
       with ERROR_INTERNAL_ERROR (1359) and works a moment later: try a few
       times, but never for a program that is simply not there. */
    for (attempt = 1;; attempt++) {
        ok = CreateProcessA(path, line, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &p->process);
        error = GetLastError();
        if (ok || attempt == 3 || error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
            break;
        fprintf(stderr, "pairtest: CreateProcess error %lu, trying again\n", (unsigned long)error);
        Sleep(200);
    }
    /* Close our copies of the child's ends at once: the pipes then report
       end-of-file when the child exits, and no later child inherits them. */
    close_handle(&out_write);
    close_handle(&err_write);
    close_handle(&in_read);
    if (!ok) {
        char detail[MAX_PATH * 2 + 64];
        memset(&p->process, 0, sizeof p->process);
        snprintf(detail, sizeof detail, "%s (CreateProcess error %lu)", path,
                 (unsigned long)error);
        verdict(0, "start program", detail);
        release_program(p);
        return -1;
    }
    p->started = 1;
    p->out.thread = CreateThread(NULL, 0, read_stream, &p->out, 0, NULL);
    if (p->out.thread != NULL)
        p->err.thread = CreateThread(NULL, 0, read_stream, &p->err, 0, NULL);
    if (p->err.thread == NULL) {
        /* Nobody would read its output, and a full pipe would block it:
           stop it now. Its readers end when it does, so release can wait. */
        fprintf(stderr, "pairtest: CreateThread failed: %lu\n", (unsigned long)GetLastError());
        verdict(0, "start program", "no thread to read its output");
        if (!TerminateProcess(p->process.hProcess, 99))
            fprintf(stderr, "pairtest: TerminateProcess failed: %lu\n",
                    (unsigned long)GetLastError());
        if (WaitForSingleObject(p->process.hProcess, 5000) != WAIT_OBJECT_0 ||
            (p->out.thread != NULL && WaitForSingleObject(p->out.thread, 5000) != WAIT_OBJECT_0))
            fprintf(stderr, "pairtest: a program or reader did not stop\n");
        p->started = 0;
        release_program(p);
        return -1;
    }
    return 0;

failed:
    /* The failed call was reported on stderr just before. */
    verdict(0, "start program", path);
    close_handle(&out_write);
    close_handle(&err_write);
    close_handle(&in_read);
    release_program(p);
    return -1;
}

static DWORD remaining_ms(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();
    return now >= deadline ? 0 : (DWORD)(deadline - now);
}

/* Waits for the program to exit by the deadline; kills it otherwise.
   Returns 1 when it exited by itself. */
static int finish_program(struct program *p, ULONGLONG deadline)
{
    char what[160];
    int exited = 1;
    if (!p->started || p->finished)
        return 1;
    if (WaitForSingleObject(p->process.hProcess, remaining_ms(deadline)) != WAIT_OBJECT_0) {
        exited = 0;
        if (!TerminateProcess(p->process.hProcess, 99))
            fprintf(stderr, "pairtest: TerminateProcess failed: %lu\n",
                    (unsigned long)GetLastError());
        if (WaitForSingleObject(p->process.hProcess, 5000) != WAIT_OBJECT_0)
            fprintf(stderr, "pairtest: the %s did not stop\n", p->label);
    }
    if (!GetExitCodeProcess(p->process.hProcess, &p->exit_code))
        fprintf(stderr, "pairtest: GetExitCodeProcess failed: %lu\n",
                (unsigned long)GetLastError());
    /* The readers end when the pipes close; a grandchild holding a pipe
       must not hang us, hence the bound. Such a reader keeps its handles
       (see release_stream), so say why the handle count will be off. */
    if (WaitForSingleObject(p->out.thread, 5000) != WAIT_OBJECT_0 ||
        WaitForSingleObject(p->err.thread, 5000) != WAIT_OBJECT_0) {
        snprintf(what, sizeof what, "%s's output ended when it did", p->label);
        verdict(0, what, "a pipe stayed open 5 s longer (held by a process it started?)");
    }
    close_handle(&p->stdin_write);
    p->finished = 1;
    return exited;
}

/* Under heavy load Wine now and then cannot start a program at all: it
   exits with STATUS_DLL_INIT_FAILED (0xC0000142) before any of its own code
   runs, having printed nothing (measured: twice in about 2,000 starts of
   ./tutorial test). Such a program never ran, so it may be started again.
   Called once the program has exited. */
#define DLL_INIT_FAILED 0xC0000142UL
#define START_ATTEMPTS 3
static int never_ran(struct program *p)
{
    DWORD code = 0;
    int empty;
    if (!GetExitCodeProcess(p->process.hProcess, &code) || code != DLL_INIT_FAILED)
        return 0;
    if (WaitForSingleObject(p->out.thread, 5000) != WAIT_OBJECT_0 ||
        WaitForSingleObject(p->err.thread, 5000) != WAIT_OBJECT_0)
        return 0;
    EnterCriticalSection(&p->out.lock);
    EnterCriticalSection(&p->err.lock);
    empty = p->out.length == 0 && p->err.length == 0;
    LeaveCriticalSection(&p->err.lock);
    LeaveCriticalSection(&p->out.lock);
    return empty;
}

/* Once a program has exited: when Wine never ran it and it has starts
   left, it is released, ready to be started again (returns 1). */
static int start_again(struct program *p)
{
    if (p->starts >= START_ATTEMPTS || !never_ran(p))
        return 0;
    fprintf(stderr, "pairtest: the %s never ran (exit code 0xC0000142 before any output): "
                    "starting it again\n", p->label);
    release_program(p);
    p->started = p->finished = 0;
    return 1;
}

/* Whether a stream has received text (anywhere, lines included) so far. */
static int stream_has(struct stream *s, const char *text)
{
    char *now = stream_snapshot(s);
    int found = strstr(now, text) != NULL;
    free(now);
    return found;
}

/* Writes the one line that releases a program's "wait" step. */
static void release(struct program *p)
{
    DWORD written;
    if (!WriteFile(p->stdin_write, "go\n", 3, &written, NULL))
        fprintf(stderr, "pairtest: WriteFile to the %s's stdin failed: %lu\n", p->label,
                (unsigned long)GetLastError());
}

/* While a client runs: releases the client once the server prints
   release_on, and the server once this client prints release_server_on
   (each only when given; the server only once in the whole run). Returns
   when both are done, when the client has ended or when the time is up;
   returns whether the client was released. */
static int watch_releases(struct program *server, struct program *client, const char *release_on,
                          const char *release_server_on, int *server_released,
                          ULONGLONG deadline)
{
    HANDLE waits[3];
    int client_released = 0, client_ended = 0;
    waits[0] = server->out.changed;
    waits[1] = client->out.changed;
    waits[2] = client->process.hProcess;
    for (;;) {
        DWORD w;
        /* A client that has ended can no longer be released; what it
           printed before it ended can still release the server. */
        if (release_on != NULL && !client_released && !client_ended &&
            stream_has(&server->out, release_on)) {
            release(client);
            client_released = 1;
        }
        if (release_server_on != NULL && !*server_released &&
            stream_has(&client->out, release_server_on)) {
            release(server);
            *server_released = 1;
        }
        if (client_ended || ((release_on == NULL || client_released) &&
                             (release_server_on == NULL || *server_released)))
            return client_released;
        w = WaitForMultipleObjects(3, waits, FALSE, remaining_ms(deadline));
        if (w == WAIT_OBJECT_0 + 2) {
            /* It ended; its last lines may still be in the pipe: read them
               to the end, then look once more. */
            if (WaitForSingleObject(client->out.thread, 5000) != WAIT_OBJECT_0)
                fprintf(stderr, "pairtest: the %s's output did not end\n", client->label);
            client_ended = 1;
        } else if (w != WAIT_OBJECT_0 && w != WAIT_OBJECT_0 + 1) {
            return client_released; /* the time is up */
        }
    }
}

static void substitute_arguments(struct program *p, const char *host, const char *port,
                                 const char *refused_port);

/* Gives a client its label: "client", or "client 1", "client 2", ... when
   there are several. */
static void label_client(struct program *client, int number, int n_clients)
{
    if (n_clients > 1) {
        client->label = (char *)checked_realloc(NULL, 16);
        snprintf((char *)client->label, 16, "client %d", number);
    } else {
        client->label = "client";
    }
}

/* Waits (until the deadline) for a line of the program's stdout with TEXT;
   returns whether it came. */
static int wait_for_line(struct program *p, const char *text, ULONGLONG deadline)
{
    HANDLE waits[2];
    waits[0] = p->out.changed;
    waits[1] = p->process.hProcess;
    while (!stream_has(&p->out, text)) {
        DWORD w = WaitForMultipleObjects(2, waits, FALSE, remaining_ms(deadline));
        if (w != WAIT_OBJECT_0)
            return stream_has(&p->out, text);
    }
    return 1;
}

/* Writes one line to a program's stdin (it must have been started with one). */
static void send_line(struct program *p, const char *line)
{
    DWORD written;
    if (p->stdin_write == NULL || p->stdin_write == INVALID_HANDLE_VALUE)
        return;
    if (!WriteFile(p->stdin_write, line, (DWORD)strlen(line), &written, NULL))
        fprintf(stderr, "pairtest: WriteFile to the %s's stdin failed: %lu\n", p->label,
                (unsigned long)GetLastError());
}

/* --parallel: starts every client at once, then watches them all: releases
   each client when the server prints release_on, and the server when any
   client prints release_server_on; returns when every client has ended (or
   the time is up, then finish_program stops them). */
static void run_clients_together(struct program *server, struct program *clients, int n,
                                 const char *host, const char *port, const char *refused_port,
                                 const char *release_on, const char *release_server_on,
                                 int *server_released, ULONGLONG deadline)
{
    HANDLE waits[1 + 2 * MAX_CLIENTS];
    int released[MAX_CLIENTS], ended[MAX_CLIENTS], started = 0, i;

    for (i = 0; i < n; i++) {
        substitute_arguments(&clients[i], host, port, refused_port);
        label_client(&clients[i], i + 1, n);
        if (start_program(&clients[i], release_on != NULL) != 0)
            break;
        started++;
    }
    memset(released, 0, sizeof released);
    memset(ended, 0, sizeof ended);
    for (;;) {
        DWORD count = 0, w;
        int running = 0;
        for (i = 0; i < started; i++) {
            if (release_on != NULL && !released[i] && !ended[i] &&
                stream_has(&server->out, release_on)) {
                release(&clients[i]);
                released[i] = 1;
            }
            if (release_server_on != NULL && !*server_released &&
                stream_has(&clients[i].out, release_server_on)) {
                release(server);
                *server_released = 1;
            }
        }
        waits[count++] = server->out.changed;
        for (i = 0; i < started; i++) {
            if (ended[i])
                continue;
            running++;
            waits[count++] = clients[i].out.changed;
            waits[count++] = clients[i].process.hProcess;
        }
        if (running == 0)
            break;
        w = WaitForMultipleObjects(count, waits, FALSE, remaining_ms(deadline));
        if (w == WAIT_TIMEOUT || w == WAIT_FAILED)
            break; /* the time is up: finish_program stops what still runs */
        for (i = 0; i < started; i++)
            if (!ended[i] && WaitForSingleObject(clients[i].process.hProcess, 0) == WAIT_OBJECT_0) {
                /* Its last lines may still be in the pipe: read them to the end. */
                if (WaitForSingleObject(clients[i].out.thread, 5000) != WAIT_OBJECT_0)
                    fprintf(stderr, "pairtest: the %s's output did not end\n", clients[i].label);
                if (start_again(&clients[i]) &&
                    start_program(&clients[i], release_on != NULL) == 0) {
                    released[i] = 0;
                    continue;
                }
                ended[i] = 1;
            }
    }
    if (release_on != NULL)
        for (i = 0; i < started; i++)
            verdict(released[i], "server printed the release line", released[i] ? NULL : release_on);
    for (i = 0; i < started; i++)
        if (!finish_program(&clients[i], deadline))
            verdict(0, "client finished in time", "it was stopped");
}

/* Finds "listening on <address> port <N>" in the text. */
static int find_listening_line(const char *text, char *host, size_t host_size, char *port,
                               size_t port_size)
{
    const char *line = strstr(text, "listening on ");
    const char *end, *port_word;
    size_t n;
    if (line == NULL || (end = strchr(line, '\n')) == NULL)
        return 0; /* not there yet, or not a whole line yet */
    line += strlen("listening on ");
    port_word = strstr(line, " port ");
    if (port_word == NULL || port_word > end)
        return 0;
    n = (size_t)(port_word - line);
    if (n >= host_size)
        n = host_size - 1;
    memcpy(host, line, n);
    host[n] = '\0';
    port_word += strlen(" port ");
    n = strspn(port_word, "0123456789");
    if (n == 0 || n >= port_size)
        return 0;
    memcpy(port, port_word, n);
    port[n] = '\0';
    return 1;
}

static int line_has(const char *line_start, size_t line_length, const char *text)
{
    size_t n = strlen(text), i;
    if (n > line_length)
        return 0;
    for (i = 0; i + n <= line_length; i++)
        if (memcmp(line_start + i, text, n) == 0)
            return 1;
    return 0;
}

/* Applies the checks of one kind of program to one program's output. */
static void apply_checks(struct program *p, int on_server)
{
    char *out = stream_snapshot(&p->out), *err = stream_snapshot(&p->err);
    const char *out_cursor = out, *err_cursor = err;
    char what[512];
    int i;

    for (i = 0; i < n_checks; i++) {
        const struct check *c = &checks[i];
        if (c->on_server != on_server || c->kind == CHECK_ANY_OUT)
            continue;
        if (c->kind == CHECK_OUT || c->kind == CHECK_ERR) {
            const char **cursor = c->kind == CHECK_OUT ? &out_cursor : &err_cursor;
            const char *line = *cursor;
            int found = 0;
            while (*line != '\0') {
                const char *end = strchr(line, '\n');
                size_t n = end ? (size_t)(end - line) : strlen(line);
                if (line_has(line, n, c->text)) {
                    found = 1;
                    *cursor = end ? end + 1 : line + n;
                    break;
                }
                line += end ? n + 1 : n;
            }
            snprintf(what, sizeof what, "%s %s has a line with \"%s\"", p->label,
                     c->kind == CHECK_OUT ? "stdout" : "stderr", c->text);
            verdict(found, what, found ? NULL : "not found (in this order)");
        } else if (c->kind == CHECK_NOT) {
            int found = strstr(out, c->text) != NULL || strstr(err, c->text) != NULL;
            snprintf(what, sizeof what, "%s never prints \"%s\"", p->label, c->text);
            verdict(!found, what, found ? "it did" : NULL);
        } else {
            unsigned long count = 0;
            const char *line = out;
            char detail[64];
            while (*line != '\0') {
                const char *end = strchr(line, '\n');
                size_t n = end ? (size_t)(end - line) : strlen(line);
                if (line_has(line, n, c->text))
                    count++;
                line += end ? n + 1 : n;
            }
            snprintf(what, sizeof what, "%s prints \"%s\" on exactly %lu line(s)", p->label,
                     c->text, c->count);
            snprintf(detail, sizeof detail, "it did on %lu", count);
            verdict(count == c->count, what, count == c->count ? NULL : detail);
        }
    }
    free(out);
    free(err);
}

static void print_block(FILE *f, const char *prefix, const char *text)
{
    const char *line = text;
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        fprintf(f, "%s%.*s\n", prefix, (int)n, line);
        line += end ? n + 1 : n;
    }
}

/* Shows a program's run as a reader would see it in its own terminal. */
static void show_program(FILE *f, struct program *p)
{
    char *out = stream_snapshot(&p->out), *err = stream_snapshot(&p->err);
    int i;
    fprintf(f, "--- %s ---\n>", p->label);
    for (i = 0; i < p->argc; i++)
        fprintf(f, strpbrk(p->argv[i], " \t") != NULL || p->argv[i][0] == '\0' ? " \"%s\"" : " %s",
                p->argv[i]);
    fprintf(f, "\n");
    print_block(f, "", out);
    print_block(f, "", err);
    if (p->exit_code != 0)
        fprintf(f, "(exit code %lu)\n", (unsigned long)p->exit_code);
    free(out);
    free(err);
}

static void check_exit(struct program *p, unsigned long expected)
{
    char what[160], detail[64];
    snprintf(what, sizeof what, "%s exits with %lu", p->label, expected);
    snprintf(detail, sizeof detail, "it exited with %lu", (unsigned long)p->exit_code);
    verdict(p->exit_code == (DWORD)expected, what, p->exit_code == (DWORD)expected ? NULL : detail);
}

/* Binds a socket to a free loopback port without listening: connecting to
   that port is refused, and keeping it bound stops anyone else taking it.
   Every program is started with handle inheritance on (for its pipes), and a
   socket from plain socket() is inheritable: each child would then hold this
   socket too (seen under Wine), keeping the port bound after pairtest closes
   it. WSA_FLAG_NO_HANDLE_INHERIT keeps it out of the children. */
static SOCKET bind_refusing_port(char *port, size_t size)
{
    struct sockaddr_in address;
    int length = (int)sizeof address;
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return s;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&address, sizeof address) == SOCKET_ERROR ||
        getsockname(s, (struct sockaddr *)&address, &length) == SOCKET_ERROR) {
        closesocket(s);
        return INVALID_SOCKET;
    }
    snprintf(port, size, "%u", (unsigned)ntohs(address.sin_port));
    return s;
}

#define N_PLACEHOLDERS 5

/* Returns a malloc'ed copy of arg with every placeholder replaced by its
   value. The size is counted first, placeholder by placeholder, because a
   value can be longer than its placeholder ("127.0.0.1" for "{host}") and an
   argument can hold any number of them. "{{" is looked at first, so "{{host}"
   stays "{host}" for a pairtest that this one runs. */
static char *substitute(const char *arg, const char *host, const char *port,
                        const char *refused_port)
{
    static const char *const names[N_PLACEHOLDERS] = {"{{", "{--}", "{host}", "{port}",
                                                      "{refused_port}"};
    const char *values[N_PLACEHOLDERS];
    size_t name_lengths[N_PLACEHOLDERS], value_lengths[N_PLACEHOLDERS];
    size_t size = 1; /* the terminating NUL */
    const char *p;
    char *result, *out;
    int i;

    values[0] = "{";
    values[1] = "--";
    values[2] = host;
    values[3] = port;
    values[4] = refused_port;
    for (i = 0; i < N_PLACEHOLDERS; i++) {
        name_lengths[i] = strlen(names[i]);
        value_lengths[i] = strlen(values[i]);
    }
    /* Two passes over the same scan: the first only counts, the second
       copies into exactly that much room. */
    for (p = arg; *p != '\0';) {
        for (i = 0; i < N_PLACEHOLDERS; i++)
            if (strncmp(p, names[i], name_lengths[i]) == 0)
                break;
        if (i < N_PLACEHOLDERS) {
            size += value_lengths[i];
            p += name_lengths[i];
        } else {
            size++;
            p++;
        }
    }
    result = (char *)checked_realloc(NULL, size);
    out = result;
    for (p = arg; *p != '\0';) {
        for (i = 0; i < N_PLACEHOLDERS; i++)
            if (strncmp(p, names[i], name_lengths[i]) == 0)
                break;
        if (i < N_PLACEHOLDERS) {
            memcpy(out, values[i], value_lengths[i]);
            out += value_lengths[i];
            p += name_lengths[i];
        } else {
            *out++ = *p++;
        }
    }
    *out = '\0';
    return result;
}

/* Gives a program its final arguments: {host}, {port} and {refused_port}
   replaced by their values. */
static void substitute_arguments(struct program *p, const char *host, const char *port,
                                 const char *refused_port)
{
    char **args = (char **)checked_realloc(NULL, sizeof(char *) * (size_t)p->argc);
    int k;
    for (k = 0; k < p->argc; k++)
        args[k] = substitute(p->argv[k], host, port, refused_port);
    p->argv = args;
}

static int usage(const char *problem)
{
    fprintf(stderr, "pairtest: %s\nusage: pairtest [checks] -- SERVER [args] -- CLIENT [args] "
                    "[-- CLIENT [args] ...]\n       pairtest [checks] -- PROGRAM [args]\n",
            problem);
    return 2;
}

/* Reads a whole decimal number from min to max: digits only, no sign, blank
   or suffix. (strtol would take "5x" as 5 and "x" as 0 without a word.)
   Returns 0 on success, -1 otherwise. */
static int parse_whole_number(const char *text, unsigned long min, unsigned long max,
                              unsigned long *value)
{
    unsigned long n = 0;
    const char *p;
    if (*text == '\0')
        return -1;
    for (p = text; *p != '\0'; p++) {
        unsigned long digit;
        if (*p < '0' || *p > '9')
            return -1;
        digit = (unsigned long)(*p - '0');
        /* n * 10 + digit must stay within max, tested without overflowing. */
        if (digit > max || n > (max - digit) / 10)
            return -1;
        n = n * 10 + digit;
    }
    if (n < min)
        return -1;
    *value = n;
    return 0;
}

/* The usage error for a number option whose value is not a number in range. */
static int bad_number(const char *option, unsigned long min, unsigned long max)
{
    char problem[128];
    snprintf(problem, sizeof problem, "%s needs a whole number from %lu to %lu", option, min,
             max);
    return usage(problem);
}

/* Any number of checks: the list grows, so none is ever left out. */
static void add_check(int on_server, enum check_kind kind, const char *text, unsigned long count)
{
    if (n_checks == checks_capacity) {
        checks_capacity = checks_capacity == 0 ? 32 : checks_capacity * 2;
        checks = (struct check *)checked_realloc(checks, sizeof *checks * (size_t)checks_capacity);
    }
    checks[n_checks].on_server = on_server;
    checks[n_checks].kind = kind;
    checks[n_checks].text = text;
    checks[n_checks].count = count;
    n_checks++;
}

int main(int argc, char **argv)
{
    struct program programs[MAX_CLIENTS + 1];
    int n_programs = 0, i, server_mode;
    unsigned long server_exit = 0, client_exit = 0, timeout_seconds = 30, count;
    unsigned long handles_at_start, handles_at_end;
    const char *transcript = NULL, *timeline_file = NULL, *release_on = NULL,
               *release_server_on = NULL;
    int server_released = 0, parallel = 0, stop_server = 0;
    const char *stop_when = NULL;
    char host[128] = "", port[16] = "", refused_port[16] = "0";
    ULONGLONG deadline;
    SOCKET refusing = INVALID_SOCKET;
    WSADATA wsa;

    /* The timeline's clock starts now. Both calls cannot fail on Windows XP
       and later. */
    QueryPerformanceFrequency(&counter_frequency);
    QueryPerformanceCounter(&run_start);
    memset(programs, 0, sizeof programs);
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *opt = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int server_side = strncmp(opt, "--server-", 9) == 0;
        const char *tail = server_side ? opt + 9 : strncmp(opt, "--client-", 9) == 0 ? opt + 9 : opt + 2;
        if (strcmp(opt, "--brief") == 0) {
            brief = 1;
            continue;
        }
        if (strcmp(opt, "--parallel") == 0) {
            parallel = 1;
            continue;
        }
        if (strcmp(opt, "--stop-server") == 0) {
            stop_server = 1;
            continue;
        }
        if (strcmp(opt, "--stop-server-when") == 0 && value != NULL) {
            stop_server = 1;
            stop_when = value;
            i++;
            continue;
        }
        if (value == NULL)
            return usage("an option needs a value");
        i++;
        if (strcmp(opt, "--timeout") == 0) {
            if (parse_whole_number(value, 1, MAX_TIMEOUT_SECONDS, &timeout_seconds) != 0)
                return bad_number(opt, 1, MAX_TIMEOUT_SECONDS);
        } else if (strcmp(opt, "--transcript") == 0)
            transcript = value;
        else if (strcmp(opt, "--timeline") == 0)
            timeline_file = value;
        else if (strcmp(opt, "--programs") == 0)
            programs_dir = value;
        else if (strcmp(opt, "--release-on") == 0)
            release_on = value;
        else if (strcmp(opt, "--release-server-on") == 0)
            release_server_on = value;
        else if (strcmp(tail, "exit") == 0) {
            /* Any exit code a process can have: a DWORD. */
            if (parse_whole_number(value, 0, 0xFFFFFFFFul,
                                   server_side ? &server_exit : &client_exit) != 0)
                return bad_number(opt, 0, 0xFFFFFFFFul);
        } else if (strcmp(opt, "--any-client-out") == 0)
            add_check(0, CHECK_ANY_OUT, value, 0);
        else if (strcmp(tail, "out") == 0)
            add_check(server_side, CHECK_OUT, value, 0);
        else if (strcmp(tail, "err") == 0)
            add_check(server_side, CHECK_ERR, value, 0);
        else if (strcmp(tail, "not") == 0)
            add_check(server_side, CHECK_NOT, value, 0);
        else if (strcmp(tail, "count") == 0) {
            if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
                return usage("a count check needs TEXT and N");
            if (parse_whole_number(argv[++i], 0, MAX_COUNT, &count) != 0)
                return bad_number(opt, 0, MAX_COUNT);
            add_check(server_side, CHECK_COUNT, value, count);
        } else
            return usage("unknown option");
    }
    /* Split the rest at each "--" into programs. */
    while (i < argc && strcmp(argv[i], "--") == 0) {
        int start = ++i;
        if (n_programs == MAX_CLIENTS + 1)
            return usage("too many programs");
        while (i < argc && strcmp(argv[i], "--") != 0)
            i++;
        if (i == start)
            return usage("a program is missing after --");
        programs[n_programs].argv = argv + start;
        programs[n_programs].argc = i - start;
        n_programs++;
    }
    if (n_programs == 0)
        return usage("no program given");
    server_mode = n_programs > 1;
    if (timeline_file != NULL) {
        InitializeCriticalSection(&timeline_lock);
        timeline_on = 1;
    }
    deadline = GetTickCount64() + (ULONGLONG)timeout_seconds * 1000u;
    setvbuf(stdout, NULL, _IONBF, 0);

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return usage("WSAStartup failed");
    refusing = bind_refusing_port(refused_port, sizeof refused_port);
    if (refusing == INVALID_SOCKET)
        verdict(0, "bind the {refused_port} socket", "see the error above");
    /* The count to come back to. Winsock may open handles for itself on
       first use and keep them while the thread lives (under Wine 8, an
       event for the first blocking socket call of a thread, still open after
       WSACleanup), so the count is taken after the refusing socket's calls,
       less that socket itself, which is closed before the end. */
    handles_at_start = ovs_count_handles() - (refusing != INVALID_SOCKET ? 1u : 0u);

    if (server_mode) {
        struct program *server = &programs[0];
        server->label = "server";
        if (start_program(server, release_server_on != NULL || stop_server) == 0) {
            /* Wait for the server's own announcement: no guessing with sleeps. */
            HANDLE waits[2];
            char *out = NULL;
            int found = 0;
            waits[0] = server->out.changed;
            waits[1] = server->process.hProcess;
            for (;;) {
                DWORD w;
                free(out);
                out = stream_snapshot(&server->out);
                found = find_listening_line(out, host, sizeof host, port, sizeof port);
                if (found)
                    break;
                w = WaitForMultipleObjects(2, waits, FALSE, remaining_ms(deadline));
                if (w == WAIT_OBJECT_0 + 1) {
                    /* It exited; its last output may still be in the pipe. */
                    WaitForSingleObject(server->out.thread, 5000);
                    free(out);
                    out = stream_snapshot(&server->out);
                    found = find_listening_line(out, host, sizeof host, port, sizeof port);
                    if (!found && start_again(server)) {
                        if (start_program(server, release_server_on != NULL || stop_server) != 0)
                            break;
                        waits[0] = server->out.changed;
                        waits[1] = server->process.hProcess;
                        continue;
                    }
                    break;
                }
                if (w != WAIT_OBJECT_0)
                    break;
            }
            free(out);
            verdict(found, "server announced its port", found ? NULL : "no \"listening on\" line");
            if (found && parallel) {
                run_clients_together(server, programs + 1, n_programs - 1, host, port,
                                     refused_port, release_on, release_server_on,
                                     &server_released, deadline);
            } else if (found) {
                for (i = 1; i < n_programs; i++) {
                    struct program *client = &programs[i];
                    if (client->starts == 0) {
                        substitute_arguments(client, host, port, refused_port);
                        label_client(client, i, n_programs - 1);
                    }
                    if (start_program(client, release_on != NULL) != 0)
                        break;
                    if (release_on != NULL || (release_server_on != NULL && !server_released)) {
                        int released = watch_releases(server, client, release_on, release_server_on,
                                                      &server_released, deadline);
                        if (release_on != NULL)
                            verdict(released, "server printed the release line",
                                    released ? NULL : release_on);
                    }
                    if (!finish_program(client, deadline))
                        verdict(0, "client finished in time", "it was stopped");
                    if (start_again(client))
                        i--; /* the same client once more */
                }
            }
            if (found && release_server_on != NULL)
                verdict(server_released, "a client printed the server's release line",
                        server_released ? NULL : release_server_on);
            /* Every client has exited: ask the server to stop (once it has
               printed stop_when, if given). */
            if (found && stop_server) {
                if (stop_when != NULL) {
                    int seen = wait_for_line(server, stop_when, deadline);
                    verdict(seen, "server printed the line to stop on", seen ? NULL : stop_when);
                }
                send_line(server, "stop\n");
            }
        }
        /* The clients are done: a server still waiting on stdin for its
           release line would wait until the deadline. End of file ends the
           wait now (testpeer's "wait" then fails at once). */
        close_handle(&server->stdin_write);
        if (!finish_program(server, deadline))
            verdict(0, "server finished in time", "it was stopped");
    } else {
        substitute_arguments(&programs[0], host, port, refused_port);
        programs[0].label = "program";
        if (start_program(&programs[0], 0) == 0 && !finish_program(&programs[0], deadline))
            verdict(0, "program finished in time", "it was stopped");
    }
    if (refusing != INVALID_SOCKET && closesocket(refusing) == SOCKET_ERROR)
        fprintf(stderr, "pairtest: closesocket failed: %d\n", WSAGetLastError());

    /* What each program printed, then the checks. */
    for (i = 0; i < n_programs; i++)
        if (programs[i].started)
            show_program(stdout, &programs[i]);
    if (transcript != NULL) {
        FILE *f = fopen(transcript, "w");
        if (f == NULL) {
            verdict(0, "write transcript", transcript);
        } else {
            for (i = 0; i < n_programs; i++)
                if (programs[i].started) {
                    if (i > 0)
                        fprintf(f, "\n");
                    show_program(f, &programs[i]);
                }
            if (fclose(f) != 0)
                verdict(0, "write transcript", transcript);
        }
    }
    if (timeline_file != NULL) {
        /* Binary mode: plain LF line ends, for whatever reads the file. */
        FILE *f = fopen(timeline_file, "wb");
        int ok = f != NULL;
        if (ok) {
            EnterCriticalSection(&timeline_lock);
            ok = fwrite(timeline != NULL ? timeline : "", 1, timeline_length, f) == timeline_length;
            LeaveCriticalSection(&timeline_lock);
            ok = fclose(f) == 0 && ok;
        }
        if (!ok)
            verdict(0, "write timeline", timeline_file);
    }
    if (!brief)
        printf("--- checks ---\n");
    if (server_mode) {
        if (programs[0].started) {
            check_exit(&programs[0], server_exit);
            apply_checks(&programs[0], 1);
        }
        for (i = 1; i < n_programs; i++)
            if (programs[i].started) {
                check_exit(&programs[i], client_exit);
                apply_checks(&programs[i], 0);
            }
    } else if (programs[0].started) {
        check_exit(&programs[0], client_exit);
        apply_checks(&programs[0], 0);
    }
    /* Checks on all the clients together. */
    for (i = 0; i < n_checks; i++) {
        char what[512];
        int k, found = 0;
        if (checks[i].kind != CHECK_ANY_OUT)
            continue;
        for (k = server_mode ? 1 : 0; k < n_programs && !found; k++)
            found = programs[k].started && stream_has(&programs[k].out, checks[i].text);
        snprintf(what, sizeof what, "a client's stdout has a line with \"%s\"", checks[i].text);
        verdict(found, what, found ? NULL : "no client printed it");
    }
    for (i = 1; server_mode && i < n_programs; i++)
        if (!programs[i].started) {
            verdict(0, "every client ran", "a client was never started");
            break;
        }
    /* Everything pairtest opened for the run must be closed by now: the
       pipes, events and reader threads of every program, its process and
       thread handles, the NUL or stdin handles, the refusing socket. */
    for (i = 0; i < n_programs; i++)
        release_program(&programs[i]);
    handles_at_end = ovs_count_handles();
    if (!brief || handles_at_end != handles_at_start)
        printf("pairtest: handles at start %lu, at end %lu\n", handles_at_start, handles_at_end);
    verdict(handles_at_end == handles_at_start, "pairtest closed every handle it opened",
            handles_at_end == handles_at_start ? NULL : "the counts differ");
    printf("pairtest: %d passed, %d failed\n", n_passed, failures);
    WSACleanup();
    free(checks);
    return failures == 0 ? 0 : 1;
}
