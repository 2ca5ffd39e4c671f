# Exercise 8.1: the context freed at the cancel (pitfall 10; the chapter's
# former "Try this" 1). CancelIoEx only asks: the packet of the cancelled
# receive still comes, and finds the connection freed. Which of the two
# symptoms a run shows (the close reported before the packet, or a crash
# when the packet touches the freed memory) depends on timing; both are the
# planted defect. The copy is what a reader who drops at the cancel writes:
# completed() knows nothing of cancels, and the comments that said the
# packet still comes say less.
set(ex_title "The connection dropped as soon as CancelIoEx returns")
set(ex_file chapters/08_cancellation/server.c)
set(ex_program ch08_server)

set(ex_find_1 [==[
 * Shows: chapter 7's echo server, plus the three ways an operation ends
 * early, and the one rule they share: whoever cancels or closes still waits
 * for the operation's packet before the memory goes.
 *   - An idle connection (nothing received for --idle-timeout ms) is
 *     dropped: its receive is cancelled with CancelIoEx. Its packet comes
 *     anyway, with 995, or with data when the data won the race.
]==])
set(ex_plant_1 [==[
 * Shows: chapter 7's echo server, plus the three ways an operation ends
 * early.
 *   - An idle connection (nothing received for --idle-timeout ms) is
 *     dropped: its receive is cancelled with CancelIoEx.
]==])

set(ex_find_2 [==[
    /* Set when the sweep called CancelIoEx on the receive in flight (or
       found it already complete): its packet still comes, and says what
       happened first. */
    int cancelled;
]==])
set(ex_plant_2 [==[
    /* Set when the sweep cancelled the receive: the connection is being
       dropped. */
    int cancelled;
]==])

set(ex_find_3 [==[
        return 0; /* aborted by our own close: nothing to do */
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
    if (error != 0)
]==])
set(ex_plant_3 [==[
        return 0; /* aborted by our own close: nothing to do */
    if (error != 0)
]==])

set(ex_find_4 [==[
/* Under c->lock: asks for the receive in flight to be cancelled. Returns 1
   when the connection was closed instead. CancelIoEx only asks: the receive's packet still comes, with 995
   when the cancel took effect, or with the data when the data came first.
   When the receive has already completed (its packet is queued but not yet
   handled: 1168, ERROR_NOT_FOUND) there is nothing to cancel, and the
   packet tells the same story. The memory stays until that packet. */
]==])
set(ex_plant_4 [==[
/* Under c->lock: cancels the receive in flight and drops the idle
   connection. Returns 1: the caller releases the owner's reference. When
   the receive has already completed (1168, ERROR_NOT_FOUND) there is
   nothing to cancel. */
]==])

set(ex_find_5 [==[
    c->cancelled = 1;
    return 0;
}
]==])
set(ex_plant_5 [==[
    c->cancelled = 1;
    c->receiving = 0; /* cancelled: the receive is over */
    InterlockedDecrement(&c->references);
    InterlockedIncrement(&c->server->idle_dropped);
    return close_connection(c, "idle: dropped");
}
]==])

set(ex_find_6 [==[
   --idle-timeout ms with nothing to echo; its receive is cancelled, and the
   packet decides (see completed()). The race with a receive that completes
]==])
set(ex_plant_6 [==[
   --idle-timeout ms with nothing to echo; its receive is cancelled, and the
   connection dropped. The race with a receive that completes
]==])

set(ex_test_1 ch08.idle_client_dropped)
set(ex_reason_1 "FAIL server (exits with 0: it exited with 3221225477|stdout has a line with \"(receive packet: 0 bytes, error 995|closed: 64 bytes echoed \\(idle: dropped\\), 0 open))")
set(ex_wrong_1 "when the server drops a quiet client, it closes and frees the connection before the cancelled receive has ended: the connection is reported closed before the receive's packet (error 995) comes, and that packet then finds freed memory (the tests poison freed connections with --guard-contexts, so the server crashes when the memory is already gone). The close must still be reported as \"idle: dropped\" and counted in the summary's \"1 connections dropped\"")

set(ex_hint "Look at the chapter's table of who owns the receive's buffer and OVERLAPPED, step by step. When CancelIoEx returns, is the receive over? What still has to come before the connection's memory may go?")
