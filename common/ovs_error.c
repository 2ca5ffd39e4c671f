/*
 * ovs_error.c - Winsock start-up, the one way every program reports errors,
 * and the handle count the servers check for leaks.
 *
 * A failure message names the call, the numeric code and the system's text,
 * for example
 *     connect() failed: 10061 No connection could be made because ...
 * The code is what a reader searches for; the text is what they understand.
 * (Wine's texts are shorter than Windows', so tests only look at the code.)
 */
#include "ovs.h"

#include <stdio.h>
#include <string.h>

int ovs_winsock_start(void)
{
    WSADATA data;
    /* WSAStartup returns its error code directly: WSAGetLastError() cannot
       be used before Winsock has started. */
    int rc = WSAStartup(MAKEWORD(2, 2), &data);
    if (rc != 0) {
        ovs_report_error("WSAStartup", rc);
        return -1;
    }
    return 0;
}

void ovs_winsock_stop(void)
{
    if (WSACleanup() != 0)
        ovs_report_wsa_error("WSACleanup");
}

void ovs_format_error(int code, char *text, size_t size)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)code, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), text,
                             (DWORD)size, NULL);
    if (n == 0) {
        snprintf(text, size, "(the system has no description of this code)");
        return;
    }
    /* System messages end in "\r\n"; drop it so the report stays on one line. */
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
}

void ovs_report_error(const char *call, int code)
{
    char text[512];
    ovs_format_error(code, text, sizeof text);
    fprintf(stderr, "%s() failed: %d %s\n", call, code, text);
    fflush(stderr);
}

void ovs_report_wsa_error(const char *call)
{
    ovs_report_error(call, WSAGetLastError());
}

int ovs_usage_error(const char *usage, const char *problem)
{
    fprintf(stderr, "error: %s\n%s\n", problem, usage);
    fflush(stderr);
    return OVS_EXIT_USAGE;
}

unsigned long ovs_count_handles(void)
{
    DWORD n = 0;
    ULONG_PTR value, highest = 0;
    unsigned long found = 0;

    if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
        return n;
    /* No real process has no handles: this is Wine's answer. Probe. */
    for (value = 4; value <= highest + 4096; value += 4) {
        DWORD flags;
        if (GetHandleInformation((HANDLE)value, &flags)) {
            found++;
            highest = value;
        }
    }
    return found;
}
