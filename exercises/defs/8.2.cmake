# Exercise 8.2: trusting the cancel (pitfall 10; the chapter's former "Try
# this" 2). A cancelled receive may have completed with data first: its
# packet says which, and data that won must still be echoed (and counted in
# data_won: the page's task says so). The comments that said what the
# packet may bring say less in the copy.
set(ex_title "Every cancelled receive taken for a dropped client")
set(ex_file chapters/08_cancellation/server.c)
set(ex_program ch08_server)

set(ex_find_1 [==[
 *     dropped: its receive is cancelled with CancelIoEx. Its packet comes
 *     anyway, with 995, or with data when the data won the race.
]==])
set(ex_plant_1 [==[
 *     dropped: its receive is cancelled with CancelIoEx. Its packet comes
 *     anyway.
]==])

set(ex_find_2 [==[
    /* Set when the sweep called CancelIoEx on the receive in flight (or
       found it already complete): its packet still comes, and says what
       happened first. */
]==])
set(ex_plant_2 [==[
    /* Set when the sweep called CancelIoEx on the receive in flight (or
       found it already complete): its packet still comes. */
]==])

set(ex_find_3 [==[
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
set(ex_plant_3 [==[
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

set(ex_find_4 [==[
   when the connection was closed instead. CancelIoEx only asks: the receive's packet still comes, with 995
   when the cancel took effect, or with the data when the data came first.
   When the receive has already completed (its packet is queued but not yet
   handled: 1168, ERROR_NOT_FOUND) there is nothing to cancel, and the
   packet tells the same story. The memory stays until that packet. */
]==])
set(ex_plant_4 [==[
   when the connection was closed instead. CancelIoEx only asks: the
   receive's packet still comes. When the receive has already completed
   (its packet is queued but not yet handled: 1168, ERROR_NOT_FOUND) there
   is nothing to cancel. The memory stays until that packet. */
]==])

set(ex_test_1 ch08.idle_data_first)
set(ex_reason_1 "FAIL server stdout has a line with \"closed: 128 bytes echoed \\(idle: dropped\\)")
set(ex_wrong_1 "a client whose 64 bytes reach the server just as the server cancels its receive for the idle time-out must get them back, and that receive must be counted in sv->data_won (the summary's \"the data came first on 1\"): your server drops the client without echoing the bytes, or echoes them without counting")

set(ex_hint "The test's client sends its bytes just as the server cancels its receive for the idle time-out. CancelIoEx is only a request: what can the packet of a cancelled receive carry, besides error 995, and what does completed() do with it?")
