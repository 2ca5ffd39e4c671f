# Exercise 1.2: one recv() taken for the whole message (erratum E5,
# pitfall 6: a TCP receive returns whatever has arrived).
set(ex_title "One recv() taken for the whole message")
set(ex_file chapters/01_blocking_baseline/server.c)
set(ex_program ch01_server)

set(ex_find_1 [==[
        /* Header, then body, each with as many recv() calls as it takes:
           see ovs_receive_message() in common/. */
        rc = ovs_receive_message(client, NULL, &digest);
]==])
set(ex_plant_1 [==[
        /* Header, then body. */
        {
            unsigned char header[OVS_HEADER_SIZE];
            static char body[64 * 1024];
            int n;
            ovs_digest_init(&digest);
            rc = -1;
            if (recv(client, (char *)header, (int)sizeof header, 0) == (int)sizeof header) {
                n = recv(client, body, (int)sizeof body, 0);
                if (n > 0) {
                    ovs_digest_add(&digest, body, (size_t)n);
                    rc = 0;
                }
            }
        }
]==])

set(ex_test_1 ch01.one_mebibyte)
set(ex_reason_1 "FAIL server stdout has a line with \"received 1048576 bytes")
set(ex_wrong_1 "a 1 MiB message does not arrive whole: the server reports fewer bytes than the client sent, and the checksums disagree")
set(ex_test_2 ch01.client_leaves_early)
set(ex_reason_2 "FAIL server stderr has a line with \"the client closed the connection after 10 of 100 bytes")
set(ex_wrong_2 "a client that announces 100 bytes, sends 10 and closes is not caught: the server prints the 10 bytes as if they were the whole message, instead of saying \"the client closed the connection after 10 of 100 bytes\" on stderr (as the chapter's ovs_receive_message() does) and failing")

set(ex_hint "Compare the number of bytes the header announces with the number one recv() gave you. How many bytes may a single recv() return, and what does a return of 0 mean?")
