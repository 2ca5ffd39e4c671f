# Exercise 5.2: the textbook's unchecked WSASend (erratum B3, pitfall 3):
# a send that fails at once is taken for one in flight, so its connection
# waits for a routine that never comes and is never freed.
set(ex_title "A send that failed at once, waited for")
set(ex_file chapters/05_many_clients/server.c)
set(ex_program ch05_server)

set(ex_find_1 [==[
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send_ov, send_completed) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        fail_connection(c, "WSASend", WSAGetLastError());
        return -1;
    }
    c->send_outstanding = 1;
]==])
set(ex_plant_1 [==[
    WSASend(c->s, &buffer, 1, NULL, 0, &c->send_ov, send_completed);
    c->send_outstanding = 1; /* send_completed will take it from here */
]==])

set(ex_test_1 ch05.battery.send_then_reset)
set(ex_reason_1 "FAIL server stdout has a line with \" 0 contexts alive, handles: ")
set(ex_wrong_1 "clients that reset right after sending are never cleaned up: the server counts a send in flight on each of their connections, so at the stop it waits 10 s for operations that will never complete, and exits with 1 with those connections still in memory")

set(ex_hint "With 100 clients that send 64 KiB and reset at once, some of the server's echoes go to a connection that is already gone. What does WSASend do then, and will send_completed ever run for it?")
