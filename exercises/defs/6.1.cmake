# Exercise 6.1: the textbook's completion key, cut to 32 bits (erratum I3,
# pitfall 11). The cast through ULONG_PTR is what a reader writes to quiet
# the 64-bit compiler's warning about (DWORD)c; it changes nothing.
set(ex_title "A completion key that loses half of a pointer")
set(ex_file chapters/06_completion_ports/server.c)
set(ex_program ch06_server)

set(ex_find_1 [==[
    /* The key that comes back with every packet of this socket is the
       connection's address: a ULONG_PTR, as wide as a pointer. */
    if (CreateIoCompletionPort((HANDLE)s, sv->port, (ULONG_PTR)c, 0) == NULL) {
]==])
set(ex_plant_1 [==[
    /* The key that comes back with every packet of this socket is the
       connection's address. */
    if (CreateIoCompletionPort((HANDLE)s, sv->port, (DWORD)(ULONG_PTR)c, 0) == NULL) {
]==])

set(ex_test_1 ch06.book.key_above_4gb)
set(ex_reason_1 "FAIL server exits with 0: it exited with 3221225477")
set(ex_wrong_1 "when a connection's memory lies above 4 GiB (the test puts it there), the server crashes at the first completion packet: the connection the worker gets back from the port is not the one it registered")

set(ex_hint "Print the connection's address in start_connection() and the key a worker gets in worker(), with %p and a cast. Are they the same number? Then look at every conversion the address goes through on its way into the port.")
