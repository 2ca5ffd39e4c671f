/*
 * ovs_stop.c - how a server is asked to stop: Ctrl+C, Ctrl+Break, or a line
 * on its standard input (what the tests send).
 *
 * Both arrive on threads that are not the server's: Windows runs a console
 * handler on a thread of its own, and reading standard input blocks, so a
 * thread of ours does it. Each only sets one event, which the server waits
 * on with everything else.
 */
#include "ovs.h"

static HANDLE stop_event;
static HANDLE stdin_thread;
/* Held (shared) by a console handler while it uses stop_event, and
   (exclusive) while the event is closed: a handler thread that Windows
   started just before can never set a closed handle. */
static SRWLOCK stop_event_lock = SRWLOCK_INIT;
/* Written by the reader before it sets the event: the stop came from stdin,
   so the reader is on its way out. */
static volatile LONG stopped_by_stdin;
/* Set by the first stop request, from either source. */
static volatile LONG stop_requested;

// [stop_request]
static BOOL WINAPI on_console_signal(DWORD signal)
{
    BOOL handled = FALSE;
    if (signal != CTRL_C_EVENT && signal != CTRL_BREAK_EVENT)
        return FALSE;
    /* A second Ctrl+C while the server stops is not ours: returning FALSE
       passes it on to the default handler, which ends the process. */
    if (InterlockedExchange(&stop_requested, 1) != 0)
        return FALSE;
    AcquireSRWLockShared(&stop_event_lock);
    if (stop_event != NULL)
        handled = SetEvent(stop_event);
    ReleaseSRWLockShared(&stop_event_lock);
    return handled;
}

/* Any line on standard input is a stop request. An end of input, as from
   NUL, is not: the reader just ends. */
static DWORD WINAPI read_stdin(LPVOID unused)
{
    char line[64];
    DWORD n;
    (void)unused;
    if (ReadFile(GetStdHandle(STD_INPUT_HANDLE), line, sizeof line, &n, NULL) && n > 0) {
        InterlockedExchange(&stopped_by_stdin, 1);
        InterlockedExchange(&stop_requested, 1);
        SetEvent(stop_event);
    }
    return 0;
}
// [stop_request]

HANDLE ovs_stop_request_start(void)
{
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (stop_event == NULL) {
        ovs_report_error("CreateEvent", (int)GetLastError());
        return NULL;
    }
    if (!SetConsoleCtrlHandler(on_console_signal, TRUE)) {
        ovs_report_error("SetConsoleCtrlHandler", (int)GetLastError());
        CloseHandle(stop_event);
        return stop_event = NULL;
    }
    stdin_thread = CreateThread(NULL, 0, read_stdin, NULL, 0, NULL);
    if (stdin_thread == NULL) {
        ovs_report_error("CreateThread", (int)GetLastError());
        SetConsoleCtrlHandler(on_console_signal, FALSE);
        CloseHandle(stop_event);
        return stop_event = NULL;
    }
    return stop_event;
}

int ovs_stop_request_end(void)
{
    DWORD patience = 5000;
    int ended;

    /* If the stop came from stdin, the reader is ending. Otherwise it may
       still wait for input: ask for its read to be cancelled. */
    if (!InterlockedCompareExchange(&stopped_by_stdin, 0, 0) &&
        WaitForSingleObject(stdin_thread, 0) != WAIT_OBJECT_0) {
        CancelSynchronousIo(stdin_thread);
        patience = 500;
    }
    ended = WaitForSingleObject(stdin_thread, patience) == WAIT_OBJECT_0;
    CloseHandle(stdin_thread);
    SetConsoleCtrlHandler(on_console_signal, FALSE);
    /* A reader that still waits would set the event when input comes:
       then the event stays open until the process ends. */
    AcquireSRWLockExclusive(&stop_event_lock);
    if (ended)
        CloseHandle(stop_event);
    stop_event = NULL;
    ReleaseSRWLockExclusive(&stop_event_lock);
    stdin_thread = NULL;
    return ended;
}
