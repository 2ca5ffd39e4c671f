# Exercise 7.1: the socket of a failed AcceptEx left open. With accept(), a
# failure gives no socket; with AcceptEx the socket was made in advance and
# is still ours: every accept aborted by the stop (or failed) leaks one.
# The comment that said the failed accept's socket is closed says less.
set(ex_title "The socket of an accept that failed")
set(ex_file chapters/07_acceptex_connectex/server.c)
set(ex_program ch07_server)

set(ex_find_1 [==[
/* An AcceptEx packet, on some worker. On success the slot's socket becomes
   a connection; on failure (a client that gave up, or the listener closed
   by the stop: 995 under Wine) it is closed. Either way the slot is idle
   again and is posted anew unless the server is stopping. */
]==])
set(ex_plant_1 [==[
/* An AcceptEx packet, on some worker. On success the slot's socket becomes
   a connection. A failure is a client that gave up, or the listener closed
   by the stop (995 under Wine). Either way the slot is idle again and is
   posted anew unless the server is stopping. */
]==])

set(ex_find_2 [==[
    if (ready) {
        start_connection(sv, s, (const struct sockaddr *)&peer_copy);
    } else {
        closesocket(s);
    }
]==])
set(ex_plant_2 [==[
    if (ready)
        start_connection(sv, s, (const struct sockaddr *)&peer_copy);
]==])

set(ex_test_1 ch07.stop_with_accepts_pending)
set(ex_reason_1 "handle leak: [0-9]+ at start, [0-9]+ at end")
set(ex_wrong_1 "the server stops with 64 accepts still posted, and when it has stopped it holds more handles than when it started: something made for each of those accepts is never closed")

set(ex_hint "Count what the server makes for each AcceptEx before any client comes. When the stop closes the listener, every posted accept completes with an error: what becomes of what it was given?")
