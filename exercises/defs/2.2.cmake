# Exercise 2.2: WSARecv's byte count ignored, the buffer's length taken
# for what arrived (pitfall 6: a receive returns whatever has arrived).
set(ex_title "The buffer's length taken for the bytes received")
set(ex_file chapters/02_wsasocket_flags/server.c)
set(ex_program ch02_server)

set(ex_find_1 [==[
    /* lpOverlapped and the completion routine are NULL: the call blocks
       until at least one byte has arrived (or the connection ends) and
       hands back the count through lpNumberOfBytesRecvd. */
    if (WSARecv(s, &buffer, 1, &received, &flags, NULL, NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSARecv");
        return -1;
    }
    return (long long)received;
]==])
set(ex_plant_1 [==[
    /* lpOverlapped and the completion routine are NULL: the call blocks
       until the data has arrived in the buffer. */
    if (WSARecv(s, &buffer, 1, &received, &flags, NULL, NULL) == SOCKET_ERROR) {
        ovs_report_wsa_error("WSARecv");
        return -1;
    }
    return (long long)buffer.len;
]==])

set(ex_test_1 ch02.client_leaves_early)
set(ex_reason_1 "FAIL server stderr has a line with \"the client closed the connection after 10 of 100 bytes")
set(ex_wrong_1 "a client that announces 100 bytes, sends 10 and closes is not caught: the server reports all 100 bytes as received and tries to reply, instead of saying \"the client closed the connection after 10 of 100 bytes\" and failing")

set(ex_hint "The server takes a message that never fully arrived for a whole one. The WSABUF says how much room there is. What does the call tell you besides success?")
