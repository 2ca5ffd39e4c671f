# Chapter 9's benchmark client (bench.c) and its tests, included from the
# chapter's CMakeLists.txt. Each run is short (a warm-up of 100 ms or none,
# 300 to 500 ms measured): the tests check that the client measures, drains
# and verifies, not how fast anything is.
tutorial_program(ch09_bench bench.c)

# What every run against ch09_server asserts about the server once it has
# been stopped: the client ended every connection itself (nothing left for
# the stop to drain or reset), every byte it sent was echoed, and the
# server freed everything.
set(bench_server_checks
  --stop-server
  --server-out "the stop: 0 connections drained, 0 reset, 0 failed"
  --server-out ", 0 received but not echoed, "
  --server-out " 0 contexts alive, handles: "
  --server-not "handle leak" --server-not "not compared")

# Round trips: the text report, in order, with some round trips measured.
tutorial_test(ch09.bench.round_trips
  --client-out "round trips of 64 bytes, 100 ms warm-up, 500 ms measured"
  --client-out "connected 4 connections"
  --client-out " in 0.500 s: "
  --client-out "latency: p50 "
  --client-out "throughput: "
  --client-out "errors: 0"
  --client-not "round trips: 0 in"
  --client-not "connection 1:"
  ${bench_server_checks}
  -- ch09_server --quiet 0
  -- ch09_bench --connections 4 --duration 500 --warmup 100 {host} {port})
# A hundred connections on two workers: the connects, the window and the
# drain with many completions in flight at once.
tutorial_test(ch09.bench.hundred_connections
  --client-out "connected 100 connections"
  --client-out "latency: p50 "
  --client-out "errors: 0"
  --client-not "round trips: 0 in"
  --server-count "stopped: 100 connections served" 1
  ${bench_server_checks}
  -- ch09_server --quiet 0
  -- ch09_bench --connections 100 --threads 2 --duration 500 --warmup 100 {host} {port})
# Streams: 64 KiB messages by default, at most 256 KiB in flight; no
# latency line.
tutorial_test(ch09.bench.stream
  --client-out "streams of 65536-byte messages with at most 262144 bytes in flight each"
  --client-out "connected 2 connections"
  --client-out "throughput: "
  --client-out "errors: 0"
  --client-not "latency"
  --client-not "throughput: 0.00 MB/s"
  ${bench_server_checks}
  -- ch09_server --quiet 0
  -- ch09_bench --stream --connections 2 --duration 500 --warmup 100 {host} {port})
# CSV: the header and one line on stdout, the lines for people on stderr.
# in_flight does not apply to round trips: an empty column.
tutorial_test(ch09.bench.csv
  --client-out "mode,connections,size,in_flight,seconds,round_trips,round_trips_per_s,p50_us,p99_us,max_us,mb_per_s,errors"
  --client-out "round_trip,2,64,,0.300,"
  --client-err "connected 2 connections"
  --client-not "errors: "
  ${bench_server_checks}
  -- ch09_server --quiet 0
  -- ch09_bench --format csv --connections 2 --duration 300 --warmup 0 {host} {port})
# JSON, streams: one object on one line; the round-trip keys are null.
tutorial_test(ch09.bench.json
  --client-out "\"mode\":\"stream\",\"connections\":1,\"size\":1000,\"in_flight\":10240,\"seconds\":0.300,\"round_trips\":null,\"round_trips_per_s\":null,\"p50_us\":null,\"p99_us\":null,\"max_us\":null,\"mb_per_s\":"
  --client-err "connected 1 connections"
  --client-not "throughput"
  ${bench_server_checks}
  -- ch09_server --quiet 0
  -- ch09_bench --format json --stream --size 1000 --in-flight 10K --duration 300 --warmup 0
     {host} {port})

# A server that answers with other bytes: testpeer takes the 64 bytes and
# sends back 64 bytes of its own pattern ("0123..."). Byte 0 happens to be
# the same ('0'), byte 1 is not: the client names that offset and fails.
tutorial_test(ch09.bench.wrong_echo
  --client-exit 1
  --client-out "connected 1 connections"
  --client-out "errors: 1"
  --client-err "connection 1: echoed byte 1 is 0x31, but 0x30 was sent there"
  -- testpeer --listen 0 recv:64 send:64 close
  -- ch09_bench --duration 300 --warmup 0 {host} {port})
# A server that takes the message and ends the stream without an echo.
tutorial_test(ch09.bench.early_end
  --client-exit 1
  --client-out "errors: 1"
  --client-err "connection 1: the server ended the stream early, after echoing 0 of 64 bytes"
  -- testpeer --listen 0 recv:64 close
  -- ch09_bench --duration 300 --warmup 0 {host} {port})
# A server that takes the message and says nothing for 1.5 s: after 300 ms
# without progress the connection fails.
tutorial_test(ch09.bench.no_progress
  --client-exit 1
  --client-out "errors: 1"
  --client-err "connection 1: no progress for 300 ms (waiting for the echo)"
  -- testpeer --listen 0 recv:64 sleep:1500 close
  -- ch09_bench --timeout 300 --duration 300 --warmup 0 {host} {port})
# Nothing listens: every ConnectEx fails, each connection is an error (in
# whichever order the workers take the packets), and no window is ever
# opened. (Under Wine a refused loopback connect fails at
# once; on Windows it takes about 2 s.)
tutorial_test(ch09.bench.refused
  --exit 1
  --err ": ConnectEx() failed: 10061"
  --out "round trips: 0 in 0.000 s"
  --out "errors: 2"
  --not "connected 2 connections"
  -- ch09_bench --connections 2 --duration 300 --warmup 0 127.0.0.1 {refused_port})

set(bench_usage_cases
  "bench_no_args|ch09_bench"
  "bench_no_port|ch09_bench,127.0.0.1"
  "bench_port_zero|ch09_bench,127.0.0.1,0"
  "bench_zero_connections|ch09_bench,--connections,0,127.0.0.1,1"
  "bench_too_many_connections|ch09_bench,--connections,10001,127.0.0.1,1"
  "bench_size_too_big|ch09_bench,--size,17M,127.0.0.1,1"
  "bench_in_flight_zero|ch09_bench,--stream,--in-flight,0,127.0.0.1,1"
  "bench_duration_zero|ch09_bench,--duration,0,127.0.0.1,1"
  "bench_bad_format|ch09_bench,--format,xml,127.0.0.1,1"
  "bench_unknown_option|ch09_bench,--fast,127.0.0.1,1")
tutorial_usage_tests(ch09 ${bench_usage_cases})

# The walk-through shows ch09_bench too, after the chapter's traced run: a
# short measurement of ch09_server (a traced server would print a line per
# completion, thousands of them, so this run is not on the chapter's chart).
add_custom_target(walk_ch09_bench
  COMMAND ${CMAKE_COMMAND} -E echo ""
  COMMAND ${CMAKE_COMMAND} -E echo "=== Chapter 9: ch09_bench measures ch09_server ==="
  COMMAND pairtest --brief --stop-server
          -- ch09_server --quiet 0
          -- ch09_bench --connections 4 --duration 500 --warmup 100 {host} {port}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  VERBATIM)
get_property(previous_walk GLOBAL PROPERTY TUTORIAL_LAST_WALK)
add_dependencies(walk_ch09_bench pairtest ch09_server ch09_bench ${previous_walk})
set_property(GLOBAL PROPERTY TUTORIAL_LAST_WALK walk_ch09_bench)
