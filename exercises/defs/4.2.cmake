# Exercise 4.2: "the routine is called only when a pending I/O completes"
# (erratum E16, pitfall 2): a receive that completed at once is not waited
# for, and the connection is freed with its routine still queued.
set(ex_title "A receive done at once, not waited for")
set(ex_file chapters/04_completion_routine/server.c)
set(ex_program ch04_server)

set(ex_find_1 [==[
/* Posts one WSARecv for what the message still lacks. Returns 0 when a
   completion routine is now sure to come (immediate success or
   WSA_IO_PENDING), -1 when the call failed: then nothing will ever come. */
]==])
set(ex_plant_1 [==[
/* Posts one WSARecv for what the message still lacks. Returns 0 when the
   receive started, -1 when the call failed. */
]==])

set(ex_find_2 [==[
       the connection to the routine. The byte count pointer is NULL: the
       routine gets the count, even when the call completes at once. */
]==])
set(ex_plant_2 [==[
       the connection to the routine. The byte count pointer is NULL: the
       routine gets the count. */
]==])

set(ex_find_3 [==[
    c->receive_outstanding = 1;
    printf("WSARecv for %s (up to %lu bytes): %s\n", what, (unsigned long)buffer.len,
           rc == 0 ? "completed at once; its routine is queued all the same"
                   : "pending (WSA_IO_PENDING)");
]==])
set(ex_plant_3 [==[
    c->receive_outstanding = rc != 0; /* pending: a routine will come */
    printf("WSARecv for %s (up to %lu bytes): %s\n", what, (unsigned long)buffer.len,
           rc == 0 ? "completed at once" : "pending (WSA_IO_PENDING)");
]==])

set(ex_find_4 [==[
 *                     first WSARecv, then wait once without being alertable,
 *                     to show that the routine does not run then
]==])
set(ex_plant_4 [==[
 *                     first WSARecv, then wait once without being alertable
]==])

set(ex_find_5 [==[
    int receive_outstanding; /* posted, and its routine has not run yet */
]==])
set(ex_plant_5 [==[
    int receive_outstanding; /* a routine is still to come */
]==])

set(ex_find_6 [==[
        /* The receive may well be complete already, yet its routine waits
           in the queue: a wait that is not alertable does not run it. */
        Sleep(PLAIN_WAIT_MS);
]==])
set(ex_plant_6 [==[
        /* A wait that is not alertable, for the demonstration. */
        Sleep(PLAIN_WAIT_MS);
]==])

set(ex_test_1 ch04.routine_needs_alertable_wait)
set(ex_reason_1 "FAIL server stdout has a line with \"completion routine run 1 on thread")
set(ex_wrong_1 "when the client's data is already there, so that WSARecv completes at once, the server never waits for the completion routine: the routine never runs, the message is lost (\"MISMATCH\" between receives posted and routine runs), and the client gets no reply")

set(ex_hint "Read what the WSARecv page says about a receive that completes immediately: will its completion routine be called? Then look at what the server waits for after such a receive.")
