# Exercise 1.1: an address buffer with room for IPv4 only (erratum E2's
# family: accept() told the address buffer is smaller than the address).
set(ex_title "An address buffer too small for IPv6")
set(ex_file chapters/01_blocking_baseline/server.c)
set(ex_program ch01_server)

set(ex_find_1 [==[
    struct sockaddr_storage peer;
]==])
set(ex_plant_1 [==[
    struct sockaddr_in peer;
]==])

set(ex_test_1 ch01.ipv6)
set(ex_reason_1 "FAIL server stdout has a line with \"accepted connection from ::1 port")
set(ex_wrong_1 "over IPv6 (the server listening on ::1) the server never accepts the client: accept() fails instead of saying \"accepted connection from ::1 port ...\"")

set(ex_hint "Over IPv4 everything works. Run your copy over IPv6 (the chapter's Exercises section shows how) and read the error it prints, then look up what accept() says that error means.")
