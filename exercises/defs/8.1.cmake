# Exercise 8.1: the context freed at the cancel (pitfall 10; the chapter's
# former "Try this" 1). CancelIoEx only asks: the packet of the cancelled
# receive still comes, and finds the connection freed. Which of the two
# symptoms a run shows (the close reported before the packet, or a crash
# when the packet touches the freed memory) depends on timing; both are the
# planted defect.
set(ex_title "The connection dropped as soon as CancelIoEx returns")
set(ex_file chapters/08_cancellation/server.c)
set(ex_program ch08_server)

set(ex_find_1 [==[
/* Under c->lock: asks for the receive in flight to be cancelled. Returns 1
   when the connection was closed instead. CancelIoEx only asks: the receive's packet still comes, with 995
   when the cancel took effect, or with the data when the data came first.
   When the receive has already completed (its packet is queued but not yet
   handled: 1168, ERROR_NOT_FOUND) there is nothing to cancel, and the
   packet tells the same story. The memory stays until that packet. */
]==])
set(ex_plant_1 [==[
/* Under c->lock: cancels the receive in flight and drops the idle
   connection. Returns 1: the caller releases the owner's reference. When
   the receive has already completed (1168, ERROR_NOT_FOUND) there is
   nothing to cancel. */
]==])

set(ex_find_2 [==[
    c->cancelled = 1;
    return 0;
}
]==])
set(ex_plant_2 [==[
    c->receiving = 0; /* cancelled: the receive is over */
    InterlockedDecrement(&c->references);
    InterlockedIncrement(&c->server->idle_dropped);
    return close_connection(c, "idle: dropped");
}
]==])

set(ex_test_1 ch08.idle_client_dropped)
set(ex_reason_1 "FAIL server (exits with 0: it exited with 3221225477|stdout has a line with \"(receive packet: 0 bytes, error 995|closed: 64 bytes echoed \\(idle: dropped\\), 0 open))")
set(ex_wrong_1 "when the server drops a quiet client, it closes and frees the connection before the cancelled receive has ended: the connection is reported closed before the receive's packet (error 995) comes, and that packet then finds freed memory (the tests poison freed connections with --guard-contexts, so the server crashes when the memory is already gone)")

set(ex_hint "Look at the chapter's table of who owns the receive's buffer and OVERLAPPED, step by step. When CancelIoEx returns, is the receive over? What still has to come before the connection's memory may go?")

