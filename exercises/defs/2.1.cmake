# Exercise 2.1: the blog post's WSASocket call, with WSA_FLAG_OVERLAPPED
# alone: the socket is inheritable, as every socket is by default
# (docs/wsasocket.md, "Handle inheritance").
set(ex_title "A listening socket that child processes inherit")
set(ex_file chapters/02_wsasocket_flags/server.c)
set(ex_program ch02_server)

set(ex_find_1 [==[
int main(int argc, char **argv)
]==])
set(ex_plant_1 [==[
/* Our own socket factory for ovs_start_server: a TCP socket that can do
   overlapped I/O. */
static SOCKET make_socket(const struct addrinfo *address)
{
    SOCKET s = WSASocketW(address->ai_family, address->ai_socktype, address->ai_protocol,
                          NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET)
        ovs_report_wsa_error("WSASocketW");
    return s;
}

int main(int argc, char **argv)
]==])
set(ex_find_2 [==[
    rc = ovs_start_server(usage, args[0], args[1], ovs_overlapped_socket, &listener);
]==])
set(ex_plant_2 [==[
    rc = ovs_start_server(usage, args[0], args[1], make_socket, &listener);
]==])

set(ex_find_3 [==[
 * Shows: a listening socket made by WSASocket with WSA_FLAG_OVERLAPPED and
 * WSA_FLAG_NO_HANDLE_INHERIT, what the socket's protocol information
]==])
set(ex_plant_3 [==[
 * Shows: a listening socket made by WSASocket for overlapped I/O, what the
 * socket's protocol information
]==])

set(ex_test_1 ch02.protocol_info)
set(ex_reason_1 "FAIL server stdout has a line with \"handle inherited by child processes: no")
set(ex_wrong_1 "the listening socket can be inherited: the server prints \"handle inherited by child processes: yes\", so any program it starts with handle inheritance on would hold the same socket")

set(ex_hint "The server describes its own listening socket. Which line differs from the chapter's transcript? Look at every flag WSASocketW is given, and at what a socket is by default.")
