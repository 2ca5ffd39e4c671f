# Helpers that every chapter's CMakeLists.txt uses, so that a chapter's build
# file says only what is particular to it: its programs, tests and walk-through.

# tutorial_program(<target> <source>...)
#   A chapter program linked with the helpers library.
function(tutorial_program target)
  add_executable(${target} ${ARGN})
  target_link_libraries(${target} PRIVATE ovs_common)
endfunction()

# tutorial_test(<name> <pairtest arguments>...)
#   A ctest test run by the harness (harness/pairtest.c); see its header for
#   the arguments. Under Wine every test shares the session fixture.
#   It passes only when pairtest printed its summary with no failure, not on
#   the exit code alone: under Wine 8 a program that crashes (pairtest
#   included) sometimes comes back to the shell with exit code 0.
function(tutorial_test name)
  add_test(NAME ${name} COMMAND pairtest ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT 90
                       PASS_REGULAR_EXPRESSION "pairtest: [0-9]+ passed, 0 failed[\r\n]*$")
  if(TUTORIAL_WINE)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED wine)
  endif()
endfunction()

# tutorial_usage_tests(<chNN> <case>...)
#   One test per bad command line: each must give `error: ...`, the usage
#   line and exit code 2, and never start listening. A case is
#   "name|program,arg,arg..." (commas, since CMake lists use semicolons).
function(tutorial_usage_tests id)
  foreach(case IN LISTS ARGN)
    string(REPLACE "|" "," parts "${case}")
    string(REPLACE "," ";" parts "${parts}")
    list(POP_FRONT parts name)
    tutorial_test(${id}.usage.${name}
      --exit 2 --err "error: " --err "usage: ${id}_"
      --not "listening on"
      -- ${parts})
  endforeach()
endfunction()

# tutorial_refused_test(<chNN>)
#   The chapter's client aimed at a port where nothing listens: it must name
#   the failed call and its code, and exit 1.
function(tutorial_refused_test id)
  tutorial_test(${id}.connection_refused
    --exit 1 --err "connect() failed: 10061"
    -- ${id}_client 127.0.0.1 {refused_port})
endfunction()

# tutorial_walkthrough(<pairtest arguments>...)
#   How this chapter's server and client are shown running: in the
#   `walkthrough` target (printed, in chapter order) and in the chapter page,
#   which shows the run's transcript (\verbinclude chNN.txt) and a sequence
#   chart drawn from the very same run (\runchart{chNN}): pairtest writes
#   every printed line with its time, and harness/chart.py turns the lines
#   into arrows through the chapter's chart.rules. Transcript and chart are
#   always written together, so they cannot tell different stories.
function(tutorial_walkthrough)
  get_filename_component(dir_name ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  string(SUBSTRING ${dir_name} 0 2 number)
  set(id ch${number})
  file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/chapter.md heading REGEX "^# " LIMIT_COUNT 1)
  string(REGEX REPLACE "^# (.*) \\{#.*\\}$" "\\1" title "${heading}")
  get_property(chapter_targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)

  set(transcript transcripts/${id}.txt)
  set(timeline transcripts/${id}.timeline)
  set(chart charts/${id}.msc)
  set(rules ${CMAKE_CURRENT_SOURCE_DIR}/chart.rules)
  set(run COMMAND pairtest --brief --transcript ${transcript} --timeline ${timeline} ${ARGN})
  if(Python3_Interpreter_FOUND)
    set(draw COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/harness/chart.py ${rules}
                 ${timeline} ${chart})
  else()
    set(draw COMMAND ${CMAKE_COMMAND} -E echo "(no Python 3: the chart is not drawn)")
  endif()
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/${transcript} ${CMAKE_BINARY_DIR}/${chart}
    ${run} ${draw}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    DEPENDS pairtest testpeer ${chapter_targets} ${rules} ${CMAKE_SOURCE_DIR}/harness/chart.py
    COMMENT "Running ${id} for its transcript and chart"
    VERBATIM)
  # A custom command's output is only visible in its own directory, so the
  # top-level docs target depends on this target instead of on the files.
  add_custom_target(transcript_${id} DEPENDS ${CMAKE_BINARY_DIR}/${transcript})
  set_property(GLOBAL APPEND PROPERTY TUTORIAL_TRANSCRIPTS transcript_${id})

  add_custom_target(walk_${id}
    COMMAND ${CMAKE_COMMAND} -E echo ""
    COMMAND ${CMAKE_COMMAND} -E echo "=== ${title} ==="
    ${run} ${draw}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    VERBATIM)
  add_dependencies(walk_${id} pairtest testpeer ${chapter_targets})
  # Chain the chapters so the walk-through runs them in teaching order.
  get_property(previous GLOBAL PROPERTY TUTORIAL_LAST_WALK)
  if(previous)
    add_dependencies(walk_${id} ${previous})
  endif()
  set_property(GLOBAL PROPERTY TUTORIAL_LAST_WALK walk_${id})
endfunction()
