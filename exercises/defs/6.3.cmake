# Exercise 6.3: the reference count kept for receives only (erratum I5:
# a connection freed while one of its operations is still in flight).
set(ex_title "A send that holds no reference")
set(ex_file chapters/06_completion_ports/server.c)
set(ex_program ch06_server)

set(ex_find_1 [==[
    memset(&c->send.overlapped, 0, sizeof c->send.overlapped);
    InterlockedIncrement(&c->references);
    c->sending = 1;
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send.overlapped, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        int error = WSAGetLastError();
        InterlockedDecrement(&c->references);
        c->sending = 0;
]==])
set(ex_plant_1 [==[
    memset(&c->send.overlapped, 0, sizeof c->send.overlapped);
    c->sending = 1;
    if (WSASend(c->s, &buffer, 1, NULL, 0, &c->send.overlapped, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        int error = WSAGetLastError();
        c->sending = 0;
]==])

set(ex_test_1 ch06.echo.one_message)
set(ex_reason_1 "FAIL server exits with 0: it exited with 3221225477")
set(ex_wrong_1 "one client, one message: the echo comes back, but when the client leaves, the server crashes (an access violation): a worker uses a connection whose memory was already freed")

set(ex_hint "Count a connection's references by hand through one round trip: the owner's, then +1 or -1 at every post and every packet. Does every operation that can bring a packet hold one?")
