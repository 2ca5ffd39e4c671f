# Exercise 3.1: the blog post's comparison (erratum E1, pitfall 1).
set(ex_title "A wait result compared with WSA_IO_INCOMPLETE")
set(ex_file chapters/03_event_completion/server.c)
set(ex_program ch03_server)

set(ex_find_1 [==[
        if (wait_result == WSA_WAIT_TIMEOUT) {
]==])
set(ex_plant_1 [==[
        if (wait_result == WSA_IO_INCOMPLETE) { /* the receive is not over yet */
]==])

set(ex_find_2 [==[
 * WSAGetOverlappedResult(..., fWait=FALSE, ...) once, to show the error
 * WSA_IO_INCOMPLETE (996) that the blog post mistakes for a wait result.
]==])
set(ex_plant_2 [==[
 * WSAGetOverlappedResult(..., fWait=FALSE, ...) once, to show the error
 * WSA_IO_INCOMPLETE (996).
]==])

set(ex_find_3 [==[
    /* Asking for the result of a receive that is still running fails with
       WSA_IO_INCOMPLETE (996). That is an error code of this call, meaning
       "not yet"; it is never a value that a wait function returns. */
]==])
set(ex_plant_3 [==[
    /* Asking for the result of a receive that is still running fails with
       WSA_IO_INCOMPLETE (996), meaning "not yet". */
]==])

set(ex_test_1 ch03.peer_stalls)
set(ex_reason_1 "FAIL server stdout has a line with \"no data for 500 ms")
set(ex_wrong_1 "when a client sends nothing for 500 ms the server does not recognise the time-out: it never says \"no data for 500 ms: cancelling the pending WSARecv\", and takes the wait's result for a failure instead (\"WSAWaitForMultipleEvents returned 258, not an event index\")")

set(ex_hint "Run your server against a client that goes quiet (the chapter's Exercises section shows how) and read what it prints, then look up what WSAWaitForMultipleEvents returns when its time runs out. Which call can give 996 (WSA_IO_INCOMPLETE)?")
