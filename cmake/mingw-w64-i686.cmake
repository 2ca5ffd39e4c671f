# CMake toolchain: 32-bit Windows programs built on Linux with MinGW-w64.
# Built (not run) to catch DWORD/pointer-size mistakes that x64 hides.
set(MINGW_TRIPLET i686-w64-mingw32)
set(CMAKE_SYSTEM_PROCESSOR X86)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-w64.cmake)
