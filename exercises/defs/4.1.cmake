# Exercise 4.1: one alertable wait taken for the whole message (erratum E1's
# fix, pitfall 9): a wait returns 192 once it has run the routines queued so
# far, and the routine re-posts the receive while the message is not whole.
set(ex_title "One WAIT_IO_COMPLETION taken for the whole message")
set(ex_file chapters/04_completion_routine/server.c)
set(ex_program ch04_server)

set(ex_find_1 [==[
 * The routine reads the header, then re-posts WSARecv for the body until the
 * whole message is in; main() waits again after every 192 until it is.
]==])
set(ex_plant_1 [==[
 * The routine reads the header, then re-posts WSARecv for the body until the
 * whole message is in.
]==])

set(ex_find_2 [==[
    /* Wait until no receive is outstanding: the routine re-posts until the
       message is whole, so one 192 is not the end of the story. */
    while (c->receive_outstanding) {
        DWORD waited = alertable_wait(kind, never_set, timeout_ms);
        if (waited == WAIT_IO_COMPLETION)
            continue;
]==])
set(ex_plant_2 [==[
    /* Wait until the completion routine has run. */
    while (c->receive_outstanding) {
        DWORD waited = alertable_wait(kind, never_set, timeout_ms);
        if (waited == WAIT_IO_COMPLETION)
            break; /* the routine ran: the message is in */
]==])

set(ex_test_1 ch04.message_in_pieces)
set(ex_reason_1 "FAIL server stdout has a line with \"30 of 30 body bytes are in")
set(ex_wrong_1 "a message that arrives in three pieces is not received whole: the server stops waiting after the first WAIT_IO_COMPLETION (192), while a receive is still outstanding (\"MISMATCH\" between receives posted and routine runs), and it closes the connection while the client is still sending")

set(ex_hint "Read what your server prints up to its first \"returned 192\": how many receives were posted, and how many routines ran? What does one 192 tell you, and what did the last routine do before the wait returned?")
