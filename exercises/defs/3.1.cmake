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

set(ex_test_1 ch03.peer_stalls)
set(ex_reason_1 "FAIL server stdout has a line with \"no data for 500 ms")
set(ex_wrong_1 "a client that sends nothing for 500 ms is not handled as a timeout: the server does not say \"no data for 500 ms\" and does not cancel the receive the way the chapter shows")

set(ex_hint "Read the line the server prints when the client goes quiet, then look up what WSAWaitForMultipleEvents returns when its time runs out. Which call can give 996 (WSA_IO_INCOMPLETE)?")
