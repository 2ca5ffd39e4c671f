# check_timeline.cmake - the harness.timeline test: runs chapter 1's server
# and client under pairtest with --timeline (and --transcript and --brief,
# which must work alongside it), then checks the timeline file.
#
#   cmake -DPAIRTEST=<command> -DDIR=<folder> -P check_timeline.cmake
#
# PAIRTEST is how to run pairtest.exe, its words separated by "|" (a ";"
# would split the argument on its way through ctest); under Wine it starts
# with the emulator. The files are written in DIR, under relative names, so
# that the path means the same to pairtest under Wine as it does here.
cmake_minimum_required(VERSION 3.25)

string(REPLACE "|" ";" pairtest "${PAIRTEST}")
set(timeline timeline.ch01.txt)
set(transcript transcript.ch01.txt)
# A file left by an earlier run must not pass for this run's.
file(REMOVE ${DIR}/${timeline} ${DIR}/${transcript})

execute_process(
  COMMAND ${pairtest} --brief --transcript ${transcript} --timeline ${timeline}
          -- ch01_server 0 -- ch01_client 127.0.0.1 {port}
  WORKING_DIRECTORY ${DIR}
  RESULT_VARIABLE status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
message("${output}")
# Not the exit code alone: under Wine a crashed program can exit 0.
if(NOT status EQUAL 0 OR NOT output MATCHES "pairtest: [0-9]+ passed, 0 failed")
  message(FATAL_ERROR "pairtest failed (exit code ${status})")
endif()
if(NOT EXISTS ${DIR}/${timeline})
  message(FATAL_ERROR "no timeline file was written")
endif()

# Every line: <microseconds>\t<label>\t<out|err>\t<text>, the times never
# going backwards. (file(STRINGS) would drop empty lines; chapter 1 prints
# none, and a ";" in a line would split it: it prints none either.)
file(STRINGS ${DIR}/${timeline} lines)
list(LENGTH lines count)
if(count EQUAL 0)
  message(FATAL_ERROR "the timeline is empty")
endif()
set(previous_time 0)
set(index 0)
set(listening_at -1)
set(connected_at -1)
set(server_lines "")
set(client_lines "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^([0-9]+)\t(server|client)\t(out|err)\t(.*)$")
    message(FATAL_ERROR "timeline line ${index} is not <time>\\t<label>\\t<out|err>\\t<text>: '${line}'")
  endif()
  set(time ${CMAKE_MATCH_1})
  set(label ${CMAKE_MATCH_2})
  set(stream ${CMAKE_MATCH_3})
  set(text "${CMAKE_MATCH_4}")
  if(time LESS previous_time)
    message(FATAL_ERROR "timeline line ${index}: time ${time} comes after ${previous_time}")
  endif()
  set(previous_time ${time})
  if(label STREQUAL "server" AND stream STREQUAL "out" AND text MATCHES "^listening on 127\\.0\\.0\\.1 port [0-9]+$"
     AND listening_at EQUAL -1)
    set(listening_at ${index})
  endif()
  if(label STREQUAL "client" AND stream STREQUAL "out" AND text MATCHES "^connected to 127\\.0\\.0\\.1 port [0-9]+$"
     AND connected_at EQUAL -1)
    set(connected_at ${index})
  endif()
  list(APPEND ${label}_lines "${text}")
  math(EXPR index "${index} + 1")
endforeach()

if(listening_at EQUAL -1)
  message(FATAL_ERROR "no 'server out listening on 127.0.0.1 port N' line in the timeline")
endif()
if(connected_at EQUAL -1)
  message(FATAL_ERROR "no 'client out connected to 127.0.0.1 port N' line in the timeline")
endif()
if(NOT listening_at LESS connected_at)
  message(FATAL_ERROR "the client's 'connected to' (line ${connected_at}) comes before the "
                      "server's 'listening on' (line ${listening_at})")
endif()

# Each program's own lines in its own order: the same as in the transcript,
# which shows each program's output under "--- <label> ---" after its
# command line ("> ...").
file(STRINGS ${DIR}/${transcript} transcript_lines)
set(current "")
set(transcript_server_lines "")
set(transcript_client_lines "")
foreach(line IN LISTS transcript_lines)
  string(REGEX REPLACE "\r$" "" line "${line}")
  if(line MATCHES "^--- (server|client) ---$")
    set(current ${CMAKE_MATCH_1})
  elseif(line MATCHES "^> " OR line STREQUAL "")
    # the command line, or the blank line between programs
  elseif(current STREQUAL "")
    message(FATAL_ERROR "unexpected transcript line '${line}'")
  else()
    list(APPEND transcript_${current}_lines "${line}")
  endif()
endforeach()
foreach(label server client)
  if(NOT "${${label}_lines}" STREQUAL "${transcript_${label}_lines}")
    message(FATAL_ERROR "the ${label}'s lines differ from the transcript:\n"
                        "timeline:   ${${label}_lines}\ntranscript: ${transcript_${label}_lines}")
  endif()
endforeach()
message("timeline ok: ${count} lines, 'listening on' at line ${listening_at}, "
        "'connected to' at line ${connected_at}")
