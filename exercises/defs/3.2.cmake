# Exercise 3.2: a send given up on is cancelled and then taken as over at
# once (pitfalls 4 and 10: CancelIoEx does not wait for the operation to
# end, and its buffers and WSAOVERLAPPED must live until it has).
set(ex_title "A cancelled send taken as already over")
set(ex_file chapters/03_event_completion/client.c)
set(ex_program ch03_client)

set(ex_find_1 [==[
/* Waits for a pending WSASend and fetches its byte count. If it does not
   complete in time, it is cancelled, and the client waits (bounded) until it
   has really ended: the buffers and the WSAOVERLAPPED must not go away while
   the system may still read them. */
static int finish_pending_send(struct sender *c, DWORD *sent)
{
    DWORD flags = 0, wait_result, cancel_error = 0;
    int error, outcome;
]==])
set(ex_plant_1 [==[
/* Waits for a pending WSASend and fetches its byte count. If it does not
   complete in time, it is cancelled. */
static int finish_pending_send(struct sender *c, DWORD *sent)
{
    DWORD flags = 0, wait_result;
]==])
set(ex_find_2 [==[
    if (!CancelIoEx((HANDLE)c->s, &c->overlapped)) {
        cancel_error = GetLastError();
        if (cancel_error != ERROR_NOT_FOUND)
            ovs_report_error("CancelIoEx", (int)cancel_error);
    }
    /* Bounded wait for the send to end (the socket is closed first if the
       cancel request failed): see ovs_drain_cancelled in common/. */
    outcome = ovs_drain_cancelled(&c->s, &c->overlapped, cancel_error, DRAIN_TIMEOUT_MS, sent,
                                  &error);
    if (outcome == 0 && error != 0)
        printf("the cancelled send ended with %d\n", error);
    else if (outcome == 0)
        printf("the send ended when its socket was closed\n");
    else if (outcome == 1)
        printf("the cancelled send had completed anyway (%lu bytes)\n", (unsigned long)*sent);
    else
        c->stuck = 1;
]==])
set(ex_plant_2 [==[
    /* Stop the send, so that its buffers can go. */
    if (!CancelIoEx((HANDLE)c->s, &c->overlapped))
        ovs_report_error("CancelIoEx", (int)GetLastError());
]==])

set(ex_find_3 [==[
 * no event will ever be set. A send that is still pending when the time
 * limit runs out is cancelled, and its buffers are kept until it has ended.
]==])
set(ex_plant_3 [==[
 * no event will ever be set. A send that is still pending when the time
 * limit runs out is cancelled.
]==])

set(ex_find_4 [==[
/* How long a cancelled send may take to end before the client stops. */
#define DRAIN_TIMEOUT_MS 5000u

/* The send in flight: the WSAOVERLAPPED and the buffers it points to live
   here, on the heap, until the send has ended, whatever happens. */
struct sender {
]==])
set(ex_plant_4 [==[
/* The send in flight: the WSAOVERLAPPED and the buffers it points to. */
struct sender {
]==])

set(ex_find_5 [==[
    DWORD send_timeout_ms;
    int stuck; /* a cancelled send never ended: never free this */
};
]==])
set(ex_plant_5 [==[
    DWORD send_timeout_ms;
};
]==])

set(ex_find_6 [==[
    if (c->stuck) {
        /* The system may still read `body` and write `c->overlapped`: free
           nothing, and skip WSACleanup (it would cancel behind our back). */
        fprintf(stderr, "stopping: the cancelled send did not end within %lu ms\n",
                (unsigned long)DRAIN_TIMEOUT_MS);
        return OVS_EXIT_FAILURE;
    }
    if (c->event != WSA_INVALID_EVENT && !WSACloseEvent(c->event)) {
]==])
set(ex_plant_6 [==[
    if (c->event != WSA_INVALID_EVENT && !WSACloseEvent(c->event)) {
]==])

set(ex_test_1 ch03.client_send_stalls)
set(ex_reason_1 "FAIL client stdout has a line with \"the cancelled send ended with 995")
set(ex_wrong_1 "when the server stops reading, the client gives up on its send and goes on to free the send's buffers and WSAOVERLAPPED without waiting for the send to end: it never says \"the cancelled send ended with 995\" (print that line, with the send's error code, once the send has ended)")

set(ex_hint "Look at what happens between \"cancelling it\" and free(body) in main(). Does CancelIoEx wait until the send has ended? How can the program know that it has?")
