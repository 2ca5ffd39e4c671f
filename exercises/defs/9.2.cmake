# Exercise 9.2: a pool place never given back: the freed connection's
# place is written back on the free list, but the list's count is not
# raised, so the pool runs dry after --max-clients connections.
set(ex_title "A pool that runs dry")
set(ex_file chapters/09_fast_paths/server.c)
set(ex_program ch09_server)

set(ex_find_1 [==[
    pool->free_list[(pool->free_head + pool->free_count) % pool->places] = index;
    pool->free_count++;
    pool->in_use--;
]==])
set(ex_plant_1 [==[
    pool->free_list[(pool->free_head + pool->free_count) % pool->places] = index;
    pool->in_use--;
]==])

set(ex_test_1 ch09.pool_reuses_places)
set(ex_reason_1 "FAIL client stdout has a line with \"churn: 2000 connections, one round trip each")
set(ex_wrong_1 "with --max-clients 10, 2,000 clients that come one after another are not all served: once ten connections have come and gone, the server turns every new one away")

set(ex_test_2 ch09.battery.clients_wait_in_backlog)
set(ex_reason_2 "FAIL client stdout has a line with \"all 100 round trips verified")
set(ex_wrong_2 "with --max-clients 2, ten clients that wait their turn in the listen backlog are not all served: after the first two, new connections are turned away")

set(ex_hint "The pool has --max-clients places: the first connections are served, then every new one is turned away. When a connection is freed, does its place really become free again? Count the free places through one take and one give.")
