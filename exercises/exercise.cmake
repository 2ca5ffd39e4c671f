# The exercises' logic, in one file, used three ways:
#   - included by exercises/CMakeLists.txt, to plant each defect and define
#     the build targets and the tests;
#   - run as a script by those targets and tests, and by ./tutorial exercise:
#       cmake -D ACTION=<action> [-D ID=<n.m>] [-D BUILD=<build dir>]
#             [-D PAIRTEST=<pairtest.exe>] -P exercises/exercise.cmake
#     ACTION  list      every exercise, its number, status and title
#             reset     the reader's copy back to the exercise as shipped
#             solution  the fix, as a diff of the reader's file
#             check     run the exercise's tests on the reader's program and
#                       say, in words, what is still wrong (fails if anything is)
#             shipped   CI: every test fails on the program as shipped, each
#                       for its planted reason (in one of up to 3 runs)
#             solved    CI: every test passes on the chapter's own program,
#                       which is the exercise with its solution applied
#
# An exercise is defined in exercises/defs/<n.m>.cmake (n: the chapter):
#   ex_title          one line
#   ex_file           the chapter file it copies, from the top of the tree
#   ex_program        the chapter's target built from that file
#   ex_find_<i>       text of that file (whole lines) ...
#   ex_plant_<i>      ... and what it becomes in the exercise (i = 1, 2, ...)
#   ex_test_<i>       the chapter's tests that run on the exercise's program
#   ex_reason_<i>     a regular expression for the planted failure in that
#                     test's output (what CI requires as shipped)
#   ex_wrong_<i>      what that test failing means, in a learner's words
#   ex_hint           one hint
# The solution is the chapter's own file: each planted text, put back.
# The reader's copy is exercises/<n.m>/<file name> (not in git); its last
# result is kept beside it in .status.

cmake_minimum_required(VERSION 3.25)
set(EXERCISES_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(TUTORIAL_ROOT ${EXERCISES_DIR} DIRECTORY)

# Every exercise number, in order (1.1, 1.2, ..., 9.2).
function(exercise_ids out)
  file(GLOB defs RELATIVE ${EXERCISES_DIR}/defs ${EXERCISES_DIR}/defs/*.cmake)
  list(TRANSFORM defs REPLACE "\\.cmake$" "")
  list(SORT defs COMPARE NATURAL)
  set(${out} ${defs} PARENT_SCOPE)
endfunction()

# Reads defs/<id>.cmake into ex_* variables of the caller.
macro(exercise_load id)
  foreach(v IN ITEMS title file program hint)
    unset(ex_${v})
  endforeach()
  foreach(i RANGE 1 9)
    foreach(v IN ITEMS find plant test reason wrong)
      unset(ex_${v}_${i})
    endforeach()
  endforeach()
  if(NOT EXISTS ${EXERCISES_DIR}/defs/${id}.cmake)
    message(FATAL_ERROR "There is no exercise ${id}: ./tutorial exercise lists them.")
  endif()
  include(${EXERCISES_DIR}/defs/${id}.cmake)
  get_filename_component(ex_name ${ex_file} NAME)
  set(ex_copy ${EXERCISES_DIR}/${id}/${ex_name})
  set(ex_status ${EXERCISES_DIR}/${id}/.status)
endmacro()

# How many times <needle> occurs in <text> (<needle> must not be empty).
function(exercise_count text needle out)
  if(needle STREQUAL "")
    message(FATAL_ERROR "exercise_count: nothing to count (an empty text)")
  endif()
  string(LENGTH "${text}" all)
  string(REPLACE "${needle}" "" rest "${text}")
  string(LENGTH "${rest}" left)
  string(LENGTH "${needle}" one)
  math(EXPR n "(${all} - ${left}) / ${one}")
  set(${out} ${n} PARENT_SCOPE)
endfunction()

# The exercise as shipped: a banner, then the chapter's file with each
# defect planted. Every text to replace must be whole lines found exactly
# once, and every planted text must be found exactly once afterwards, so
# that putting it back gives the chapter's file again. A chapter change
# that breaks this stops the configure step here, naming the exercise.
function(exercise_shipped id out)
  exercise_load(${id})
  file(READ ${TUTORIAL_ROOT}/${ex_file} text)
  string(REPLACE "\r\n" "\n" text "${text}") # a Windows checkout's line ends
  set(i 1)
  while(DEFINED ex_find_${i})
    if(ex_find_${i} STREQUAL "" OR ex_plant_${i} STREQUAL "")
      message(FATAL_ERROR "Exercise ${id}: text ${i} to replace, and what it becomes, must "
                          "both be whole lines (to delete lines, keep a neighbouring line in both)")
    endif()
    exercise_count("${text}" "${ex_find_${i}}" n)
    string(FIND "${text}" "${ex_find_${i}}" at)
    if(NOT n EQUAL 1)
      message(FATAL_ERROR "Exercise ${id}: text ${i} to replace occurs ${n} times in "
                          "${ex_file} (it must occur once: did the chapter change?)")
    endif()
    if(at GREATER 0)
      math(EXPR before "${at} - 1")
      string(SUBSTRING "${text}" ${before} 1 c)
      if(NOT c STREQUAL "\n")
        message(FATAL_ERROR "Exercise ${id}: text ${i} does not start a line")
      endif()
    endif()
    string(REPLACE "${ex_find_${i}}" "${ex_plant_${i}}" text "${text}")
    math(EXPR i "${i} + 1")
  endwhile()
  if(i EQUAL 1)
    message(FATAL_ERROR "Exercise ${id} plants nothing (no ex_find_1)")
  endif()
  set(i 1)
  while(DEFINED ex_find_${i})
    exercise_count("${text}" "${ex_plant_${i}}" n)
    if(NOT n EQUAL 1)
      message(FATAL_ERROR "Exercise ${id}: planted text ${i} occurs ${n} times "
                          "(it must occur once, so that the solution is one change)")
    endif()
    math(EXPR i "${i} + 1")
  endwhile()
  set(${out} "/* EXERCISE ${id}: a copy of ${ex_file} with a defect planted.
 * Not the lesson's code: the lesson is the chapter's own file.
 * Find the defect and fix it here, then check:
 *   ./tutorial exercise ${id}     (Windows: the target exercise_${id})
 * Start again: ./tutorial exercise ${id} --reset. */
${text}" PARENT_SCOPE)
endfunction()

# Writes <path> only when its content changes (no needless rebuilds).
function(exercise_write path content)
  if(EXISTS ${path})
    file(READ ${path} old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE ${path} "${content}")
endfunction()

# The reader's copy, written when it is missing (or on --reset).
function(exercise_give id)
  exercise_load(${id})
  exercise_shipped(${id} text)
  file(WRITE ${ex_copy} "${text}")
  file(REMOVE ${ex_status})
endfunction()

# not started / failing / passing, and whether the file changed since.
function(exercise_status id out)
  exercise_load(${id})
  if(NOT EXISTS ${ex_copy})
    set(${out} "not started" PARENT_SCOPE)
    return()
  endif()
  if(EXISTS ${ex_status})
    file(READ ${ex_status} result)
    string(STRIP "${result}" result)
    file(TIMESTAMP ${ex_copy} edited "%s")
    file(TIMESTAMP ${ex_status} checked "%s")
    if(edited GREATER checked)
      string(APPEND result " (edited since)")
    endif()
    set(${out} "${result}" PARENT_SCOPE)
    return()
  endif()
  exercise_shipped(${id} shipped)
  file(READ ${ex_copy} mine)
  string(REPLACE "\r\n" "\n" mine "${mine}")
  if(mine STREQUAL shipped)
    set(${out} "not started" PARENT_SCOPE)
  else()
    set(${out} "edited, not checked yet" PARENT_SCOPE)
  endif()
endfunction()

# The fix, as a unified diff: each planted text (found in the exercise as
# shipped) against the chapter's text.
function(exercise_solution id)
  exercise_shipped(${id} text)
  exercise_load(${id})
  file(READ ${TUTORIAL_ROOT}/${ex_file} chapter)
  string(REPLACE "\r\n" "\n" chapter "${chapter}")
  set(diff "--- exercises/${id}/${ex_name} (as shipped)\n+++ ${ex_file} (the chapter's)\n")
  set(i 1)
  while(DEFINED ex_find_${i})
    # The first line of each side: lines before the text, plus one.
    string(FIND "${text}" "${ex_plant_${i}}" at)
    string(SUBSTRING "${text}" 0 ${at} head)
    exercise_count("${head}\n" "\n" old_line)
    string(FIND "${chapter}" "${ex_find_${i}}" at)
    string(SUBSTRING "${chapter}" 0 ${at} head)
    exercise_count("${head}\n" "\n" new_line)
    exercise_count("${ex_plant_${i}}" "\n" old_lines)
    exercise_count("${ex_find_${i}}" "\n" new_lines)
    string(REGEX REPLACE "([^\n]*\n)" "-\\1" minus "${ex_plant_${i}}")
    string(REGEX REPLACE "([^\n]*\n)" "+\\1" plus "${ex_find_${i}}")
    string(APPEND diff "@@ -${old_line},${old_lines} +${new_line},${new_lines} @@\n${minus}${plus}")
    math(EXPR i "${i} + 1")
  endwhile()
  message("${diff}")
endfunction()

# Runs the exercise's tests. MODE: check (the reader's program), shipped
# (the exercise as shipped, built by CI) or solved (the chapter's program).
function(exercise_run id mode)
  exercise_load(${id})
  include(${BUILD}/exercises/${id}.tests.cmake) # passed_regex, runner, test_<i>_args, test_<i>_dir
  if(mode STREQUAL "check")
    set(programs --programs exercises/${id})
  elseif(mode STREQUAL "shipped")
    set(programs --programs exercises/${id}-shipped)
  else()
    set(programs "")
  endif()
  if(mode STREQUAL "check")
    message("Exercise ${id}: ${ex_title}\nRunning its tests on your ${ex_program} "
            "(built from exercises/${id}/${ex_name}):")
  endif()
  set(wrong 0)
  set(i 1)
  while(DEFINED ex_test_${i})
    # As shipped, a defect whose symptom depends on timing (which receive
    # completes at once, which packet comes first) may hide in one run:
    # the test is run again, up to 3 runs in all, until the defect shows.
    # It must show in one of them. Every other mode runs a test once.
    set(run 0)
    while(TRUE)
      math(EXPR run "${run} + 1")
      execute_process(
        COMMAND ${runner} ${PAIRTEST} ${programs} ${test_${i}_args}
        WORKING_DIRECTORY ${test_${i}_dir}
        OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 150)
      set(passed NO)
      if(rc EQUAL 0 AND out MATCHES "${passed_regex}")
        set(passed YES)
      endif()
      set(planted NO) # failed, and for the planted reason
      if(NOT passed AND "${out}\n${err}" MATCHES "${ex_reason_${i}}")
        set(planted YES)
      endif()
      if(NOT mode STREQUAL "shipped" OR run EQUAL 3 OR planted)
        break()
      endif()
      message("${ex_test_${i}}: run ${run} as shipped did not show the planted defect; again")
    endwhile()
    string(REGEX MATCHALL "FAIL [^\r\n]*" fails "${out}")
    if(mode STREQUAL "check")
      if(passed)
        message("  ok     ${ex_test_${i}}")
      else()
        math(EXPR wrong "${wrong} + 1")
        message("  WRONG  ${ex_test_${i}}: ${ex_wrong_${i}}")
        foreach(line IN LISTS fails)
          message("           (${line})")
        endforeach()
        if(rc MATCHES "timeout")
          message("           (the test ran out of time)")
        endif()
        # Everything the programs printed, for a closer look.
        set(log ${BUILD}/exercises/${id}/${ex_test_${i}}.log)
        file(WRITE ${log} "${out}\n${err}")
        message("           what each program printed: ${log}")
      endif()
    elseif(mode STREQUAL "shipped")
      if(passed)
        message(SEND_ERROR "exercise ${id}: ${ex_test_${i}} passes on the exercise as "
                           "shipped: the planted defect is not seen\n${out}\n${err}")
      elseif(NOT planted)
        message(SEND_ERROR "exercise ${id}: ${ex_test_${i}} fails as shipped, but not for the "
                           "planted reason (${ex_reason_${i}}):\n${out}\n${err}")
      else()
        message("ok: ${ex_test_${i}} fails as shipped, as planted (${ex_reason_${i}}), "
                "in run ${run}")
      endif()
    else()
      if(NOT passed)
        message(SEND_ERROR "exercise ${id}: ${ex_test_${i}} fails on the chapter's own "
                           "${ex_program} (the solution):\n${out}\n${err}")
      else()
        message("ok: ${ex_test_${i}} passes with the solution")
      endif()
    endif()
    math(EXPR i "${i} + 1")
  endwhile()
  if(mode STREQUAL "check")
    if(wrong EQUAL 0)
      file(WRITE ${ex_status} "passing\n")
      message("Exercise ${id} is passing: well done. Compare with the chapter's "
              "fix: ./tutorial exercise ${id} --solution")
    else()
      file(WRITE ${ex_status} "failing\n")
      message("Hint: ${ex_hint}\nExercise ${id} is failing (${wrong} test(s) above).")
      message(FATAL_ERROR "exercise ${id} is not solved yet")
    endif()
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(ACTION STREQUAL "list")
    exercise_ids(ids)
    message("number  status                 title")
    foreach(id IN LISTS ids)
      exercise_status(${id} status)
      exercise_load(${id})
      string(LENGTH "${id}" w)
      string(REPEAT " " 8 pad)
      math(EXPR w "8 - ${w}")
      string(SUBSTRING "${pad}" 0 ${w} pad)
      string(LENGTH "${status}" s)
      math(EXPR s "23 - ${s}")
      if(s LESS 1)
        set(s 1)
      endif()
      string(REPEAT " " ${s} pad2)
      message("${id}${pad}${status}${pad2}${ex_title}")
    endforeach()
  elseif(ACTION STREQUAL "reset")
    exercise_load(${ID})
    exercise_give(${ID})
    message("exercises/${ID}/${ex_name} is back as shipped.")
  elseif(ACTION STREQUAL "solution")
    exercise_solution(${ID})
  elseif(ACTION MATCHES "^(check|shipped|solved)$")
    exercise_run(${ID} ${ACTION})
  else()
    message(FATAL_ERROR "ACTION must be list, reset, solution, check, shipped or solved")
  endif()
endif()
