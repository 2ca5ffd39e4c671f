# Exercise 8.3: a stop that does not drain (pitfall 14): chapter 7's stop,
# which closes every connection at once, kept in chapter 8's server. What
# the clients sent and the server received is never echoed.
set(ex_title "A stop that closes every connection at once")
set(ex_file chapters/08_cancellation/server.c)
set(ex_program ch08_server)

set(ex_find_1 [==[
        if (!c->closed) {
            c->draining = 1;
            /* Half-closed now, or by the packet it waits for: the send's
               (an echo going out), or the receive's (an idle cancel). */
            drop_owner = drain_step(c);
        }
]==])
set(ex_plant_1 [==[
        if (!c->closed) {
            c->draining = 1;
            /* Closed now: the operations in flight end with an error, and
               their packets still come before anything is freed. */
            drop_owner = close_connection(c, "server stopping");
        }
]==])

set(ex_test_1 ch08.stop_drains_100)
set(ex_reason_1 "FAIL server stdout has a line with \"the stop: 100 connections drained, 0 reset, 0 failed")
set(ex_wrong_1 "when the server stops while 100 clients are sending, it does not let them finish: bytes it had already received are never echoed, and the clients are reset instead of getting their echo and then an end of stream")

set(ex_test_2 ch08.stop_forces_after_drain_timeout)
set(ex_reason_2 "FAIL server stdout has a line with \"stopping: the drain took too long: resetting 5 connections")
set(ex_wrong_2 "clients that never end their side are not given --drain-timeout ms to finish before the server resets them: the stop ends them at once")

set(ex_hint "Bytes that the server received were never echoed. The chapter's stop drains first and forces only after --drain-timeout: what does this stop do to each connection the moment it begins?")
