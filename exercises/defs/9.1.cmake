# Exercise 9.1: an operation done at once handled where it was posted, also
# without the skip mode (pitfall 2): its packet comes as well, and it is
# handled twice (the chapter's former "Try this" 1).
set(ex_title "A completion handled where it was posted, and by its packet")
set(ex_file chapters/09_fast_paths/server.c)
set(ex_program ch09_server)

set(ex_find_1 [==[
/* Under c->lock, just after WSARecv or WSASend returned 0: the operation
   completed at once. Without the skip mode its packet is queued as usual
   and nothing is done here (handling it here as well would handle it
   twice). With it, no packet will come: the result is noted, and settle()
   handles it before the lock is left, exactly once. */
static void done_at_once(struct connection *c, struct operation *op, DWORD bytes)
{
    if (!c->skip)
        return;
    c->done_at_once[op->kind] = 1;
]==])
set(ex_plant_1 [==[
/* Under c->lock, just after WSARecv or WSASend returned 0: the operation
   completed at once. The result is noted, and settle() handles it before
   the lock is left. */
static void done_at_once(struct connection *c, struct operation *op, DWORD bytes)
{
    c->done_at_once[op->kind] = 1;
]==])

set(ex_test_1 ch09.without_skip)
set(ex_reason_1 "FAIL server stdout has a line with \"fast paths: 0 receives and 0 sends done at once")
set(ex_wrong_1 "with --no-skip (the skip mode off: every completion comes as a packet) the clients do not get their echo right, and the server crashes on a connection it has already freed (the tests poison freed connections with --guard-contexts)")

set(ex_test_2 ch09.fast_paths_off)
set(ex_reason_2 "FAIL client stdout has a line with \"all 10000 round trips verified")
set(ex_wrong_2 "with every fast path off (--no-skip --batch 1 --no-pool, chapter 8's way) 100 clients do not get their echo right, and the server crashes")

set(ex_hint "Only the runs with --no-skip fail. Without FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, what does the port do for a WSARecv or WSASend that returns 0?")
