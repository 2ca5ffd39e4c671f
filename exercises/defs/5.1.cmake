# Exercise 5.1: the textbook's receive that shrinks to the last message
# (erratum B2).
set(ex_title "A receive as long as the last message")
set(ex_file chapters/05_many_clients/server.c)
set(ex_program ch05_server)

set(ex_find_1 [==[
/* Receives into buffer `index`, always offering the whole buffer: the
   length of the last message is no limit for the next one. */
static int post_receive(struct connection *c, int index)
{
    WSABUF buffer;
    DWORD flags = 0; /* in/out: set before every call */
    buffer.buf = c->buffer[index];
    buffer.len = c->server->buffer_size;
]==])
set(ex_plant_1 [==[
/* Receives into buffer `index`: as much as the last echo, or the whole
   buffer the first time. */
static int post_receive(struct connection *c, int index)
{
    WSABUF buffer;
    DWORD flags = 0; /* in/out: set before every call */
    buffer.buf = c->buffer[index];
    buffer.len = c->send_length > 0 ? c->send_length : c->server->buffer_size;
]==])

set(ex_test_1 ch05.book.whole_buffer)
set(ex_reason_1 "FAIL server prints \"receive routine: 4096 bytes, error 0\" on exactly 1 line")
set(ex_wrong_1 "after a 5-byte message, the next 4096-byte message does not arrive in one receive: each receive takes at most 5 bytes, so a long message needs hundreds of receives and sends")

set(ex_hint "Run the test's two messages (5 bytes, then 4 KiB) with --trace and count the receive routines. How many bytes does each WSARecv offer, and where does that number come from?")
