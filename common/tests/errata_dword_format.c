/*
 * errata_dword_format.c - the seed blog's printf of a DWORD with %d, kept
 * here on purpose. It must NOT compile with this project's warning flags:
 * test errata.dword_printed_with_percent_d builds it and expects the
 * compiler's format warning (an error here). If someone drops -Wall/-Werror
 * (or /W4 /WX), this file builds, and that test fails.
 *
 * DWORD is unsigned long: print it with %lu and an (unsigned long) cast.
 */
#include <windows.h>
#include <stdio.h>

int main(void)
{
    DWORD received = 19;
    printf("recv data size: %d\n", received);
    return 0;
}
