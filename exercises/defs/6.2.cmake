# Exercise 6.2: the packet of a failed operation taken for a success
# (erratum I4): the result of GetQueuedCompletionStatus ignored.
set(ex_title "A failed receive taken for the end of the stream")
set(ex_file chapters/06_completion_ports/server.c)
set(ex_program ch06_server)

set(ex_find_1 [==[
        /* A packet for an operation: TRUE if it succeeded, FALSE if it
           failed (the reason is in GetLastError). The key is the
           connection, the OVERLAPPED leads to the operation. */
        if (!ok)
            error = GetLastError();
        c = (struct connection *)key;
]==])
set(ex_plant_1 [==[
        /* A packet for an operation: the key is the connection, the
           OVERLAPPED leads to the operation. */
        c = (struct connection *)key;
]==])
set(ex_find_2 [==[
        if (!ok && !c->closed) {
            /* GetLastError gave the system's code (64 for a reset);
               WSAGetOverlappedResult gives the Winsock one (10054). */
            DWORD ignored_bytes, ignored_flags;
            if (!WSAGetOverlappedResult(c->s, overlapped, &ignored_bytes, FALSE, &ignored_flags))
                error = (DWORD)WSAGetLastError();
        }
        if (sv->trace)
            printf("thread %lu: connection %lu: %s packet: %lu bytes, error %lu\n",
]==])
set(ex_plant_2 [==[
        if (sv->trace)
            printf("thread %lu: connection %lu: %s packet: %lu bytes, error %lu\n",
]==])

set(ex_test_1 ch06.failed_packet)
set(ex_reason_1 "FAIL server stdout has a line with \"receive packet: 0 bytes, error 10054")
set(ex_wrong_1 "a client that resets its connection while a receive is waiting must be reported as a reset, with the Winsock code 10054 (WSAECONNRESET), on that receive packet's line and when the connection closes; your server reports something else (with \"error 0\" the failure went unnoticed and was taken for an ordinary end of stream)")

set(ex_hint "Run the server with --trace: the receive packet that follows the reset says \"error 0\". What does GetQueuedCompletionStatus return when it hands you the packet of an operation that failed, and where is the reason then? The chapter's table of its four results, and the paragraph after it, help.")
