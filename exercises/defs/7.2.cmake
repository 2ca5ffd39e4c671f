# Exercise 7.2: ConnectEx on a socket that was never bound. connect() takes
# any unconnected socket; ConnectEx wants "an unconnected, previously bound
# socket" (its page), and fails at once with 10022 (WSAEINVAL) otherwise
# (wine.md). The comments that said "bound" say less in the exercise.
set(ex_title "ConnectEx on a socket fresh from WSASocket")
set(ex_file chapters/07_acceptex_connectex/client.c)
set(ex_program ch07_client)

set(ex_find_1 [==[
 * Each socket is bound, tied to the port, and connected with ConnectEx; the
]==])
set(ex_plant_1 [==[
 * Each socket is made, tied to the port, and connected with ConnectEx; the
]==])
set(ex_find_2 [==[
/* Under c->lock: connects the bound socket with ConnectEx. With
]==])
set(ex_plant_2 [==[
/* Under c->lock: connects the socket with ConnectEx. With
]==])
set(ex_find_3 [==[
/* A socket for one connection: overlapped, bound to the wildcard address
   of the server's family (ConnectEx needs a bound socket), and tied to the
   port with the connection as its key. */
static int make_socket(struct client *cl, struct connection *c)
{
    struct sockaddr_storage local;
    c->s = WSASocketW(cl->server.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (c->s == INVALID_SOCKET) {
        ovs_report_wsa_error("WSASocketW");
        return -1;
    }
    memset(&local, 0, sizeof local); /* any address, port 0 */
    local.ss_family = cl->server.ss_family;
    if (bind(c->s, (const struct sockaddr *)&local, cl->server_length) == SOCKET_ERROR) {
        ovs_report_wsa_error("bind");
        return -1;
    }
]==])
set(ex_plant_3 [==[
/* A socket for one connection: overlapped, of the server's family, and
   tied to the port with the connection as its key. */
static int make_socket(struct client *cl, struct connection *c)
{
    c->s = WSASocketW(cl->server.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (c->s == INVALID_SOCKET) {
        ovs_report_wsa_error("WSASocketW");
        return -1;
    }
]==])
set(ex_find_4 [==[
    /* One port for every connection, the workers, and a bound socket per
       connection, tied to the port. Nothing is connected yet. */
]==])
set(ex_plant_4 [==[
    /* One port for every connection, the workers, and a socket per
       connection, tied to the port. Nothing is connected yet. */
]==])

set(ex_test_1 ch07.client_ipv6)
set(ex_reason_1 "ConnectEx\\(\\) failed: 10022")
set(ex_wrong_1 "the client connects to a server that is listening, and every ConnectEx fails at once with 10022 (WSAEINVAL, an invalid argument): no connection is made")
set(ex_test_2 ch07.connection_refused)
set(ex_reason_2 "FAIL program stderr has a line with \"ConnectEx\\(\\) failed: 10061")
set(ex_wrong_2 "aimed at a port where nothing listens, the client should report the refusal, 10061 (WSAECONNREFUSED); it fails with 10022 before it has even tried")

set(ex_hint "10022 is WSAEINVAL: the call did not like its arguments. Read what the ConnectEx page asks of its socket parameter s, word by word, and compare it with what connect() asks.")
