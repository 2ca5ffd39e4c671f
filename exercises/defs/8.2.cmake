# Exercise 8.2: trusting the cancel (pitfall 10; the chapter's former "Try
# this" 2). A cancelled receive may have completed with data first: its
# packet says which, and data that won must still be echoed.
set(ex_title "Every cancelled receive taken for a dropped client")
set(ex_file chapters/08_cancellation/server.c)
set(ex_program ch08_server)

set(ex_find_1 [==[
    if (op->kind == OP_RECEIVE && c->cancelled) {
        c->cancelled = 0;
        if (error == WSA_OPERATION_ABORTED) {
            /* The cancel won. Microsoft: "behavior is undefined for the
               continued use of a socket that has canceled outstanding
               operations", so no shutdown and no new receive: closesocket
               at once, which still ends the stream politely (no linger
               option set: a graceful close). */
            InterlockedIncrement(&sv->idle_dropped);
            return close_connection(c, "idle: dropped");
        }
        if (error == 0 && bytes > 0)
            InterlockedIncrement(&sv->data_won); /* the data won: echo it */
    }
]==])
set(ex_plant_1 [==[
    if (op->kind == OP_RECEIVE && c->cancelled) {
        /* Cancelled by the idle sweep. Microsoft: "behavior is undefined for
           the continued use of a socket that has canceled outstanding
           operations", so no shutdown and no new receive: closesocket at
           once, which still ends the stream politely (no linger option set:
           a graceful close). */
        c->cancelled = 0;
        InterlockedIncrement(&sv->idle_dropped);
        return close_connection(c, "idle: dropped");
    }
]==])

set(ex_test_1 ch08.idle_data_first)
set(ex_reason_1 "FAIL server stdout has a line with \"closed: 128 bytes echoed \\(idle: dropped\\)")
set(ex_wrong_1 "a client whose 64 bytes reach the server just as the server cancels its receive for the idle time-out never gets them back: the server drops the client, and the bytes it took are lost")

set(ex_hint "The test's client sends its bytes just as the server cancels its receive for the idle time-out. CancelIoEx is only a request: what can the packet of a cancelled receive carry, besides error 995, and what does completed() do with it?")
