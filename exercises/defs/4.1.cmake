# Exercise 4.1: a wait that is not alertable (pitfall 9), as in the call
# chapter 3 made.
set(ex_title "A wait that never runs the routine")
set(ex_file chapters/04_completion_routine/server.c)
set(ex_program ch04_server)

set(ex_find_1 [==[
        result = WSAWaitForMultipleEvents(1, &never_set, FALSE, timeout_ms, TRUE);
]==])
set(ex_plant_1 [==[
        result = WSAWaitForMultipleEvents(1, &never_set, FALSE, timeout_ms, FALSE);
]==])

set(ex_test_1 ch04.wait.wsawait)
set(ex_reason_1 "FAIL server stdout has a line with \"WSAWaitForMultipleEvents\\(5000 ms, alertable\\) returned 192 WAIT_IO_COMPLETION")
set(ex_wrong_1 "with --wait wsawait the completion routine never runs: the client's bytes arrive, yet each wait only runs out of time (258), the server gives up on the client, and even the aborted receive never reports back")

set(ex_hint "The receive completes and its routine is queued to the server's thread, yet nothing runs it. Compare this wait with the SleepEx and WaitForSingleObjectEx calls next to it, and read what each parameter of WSAWaitForMultipleEvents means.")
