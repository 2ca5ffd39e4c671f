/*
 * iocpserver_compat.hpp - ours, not Microsoft's: what lets MinGW-w64's g++
 * compile Microsoft's iocpserver sample (IocpServer.Cpp, see
 * bench/third_party.md) without editing it. bench/bench.py passes it with
 * g++ -include, so it comes before the sample's first line; nothing in the
 * sample changes.
 *
 * Two things in the sample are Microsoft C++ only:
 *
 * 1. "void __cdecl main": g++ requires main to return int. The sample's main
 *    is renamed (a macro) and the real main below calls it.
 *
 * 2. Structured exception handling: __try/__except/__finally/__leave, which
 *    GCC does not have. The macros give the same control flow whenever no
 *    Windows exception is raised, which is the only case the sample's
 *    handlers are for (EnterCriticalSection and InitializeCriticalSection
 *    raising on low memory, on Windows versions before Vista):
 *      __try { A } __except (f) { B }   becomes  do { A } while (0); if (0) { B }
 *      __try { A } __finally { C }      becomes  do { A } while (0); { C }
 *      __leave                          becomes  break
 *    A __leave inside a loop in the try block then leaves that loop instead of
 *    the whole block; in the sample that happens only in main, where the loop
 *    is the last statement of the block (the accept loop) or where the
 *    failure is a CreateThread failure that does not happen in a benchmark.
 *
 * Two header names differ only in letter case from the files (Ws2tcpip.h,
 * iocpserver.h); bench.py gives them a directory of symbolic links.
 */
#ifndef IOCPSERVER_COMPAT_HPP
#define IOCPSERVER_COMPAT_HPP

void __cdecl iocpserver_main(int argc, char *argv[]);

int main(int argc, char *argv[])
{
    iocpserver_main(argc, argv);
    return 0;
}

#define main iocpserver_main

#define __try do
#define __except(filter) while (0); if (0)
#define __finally while (0);
#define __leave break

#endif
