# QuickJS 2025-04-26, as fetched and patched by scripts/deps.sh (the CPU limit
# inside builtins needs scripts/quickjs/*.patch, so a system copy is never
# used), built here with our compiler flags.
set(PP_QJS_VERSION 2025.04.26)
set(PP_QJS_SRC "${POLYPLUG_DEPS_DIR}/quickjs-${PP_QJS_VERSION}")

if(NOT EXISTS "${PP_QJS_SRC}/quickjs.c")
  message(FATAL_ERROR "QuickJS sources not found in ${PP_QJS_SRC}: run scripts/deps.sh (make does)")
endif()
message(STATUS "QuickJS: building ${PP_QJS_SRC}")
add_library(pp_quickjs STATIC
  ${PP_QJS_SRC}/quickjs.c ${PP_QJS_SRC}/dtoa.c ${PP_QJS_SRC}/libregexp.c
  ${PP_QJS_SRC}/libunicode.c ${PP_QJS_SRC}/cutils.c)
target_compile_definitions(pp_quickjs PRIVATE _GNU_SOURCE CONFIG_VERSION="2025-04-26")
# Third-party code: built with our flags but not held to our warning policy.
# QuickJS counts on signed arithmetic wrapping (e.g. it negates INT32_MIN
# in ToInt32): -fwrapv makes that defined, in every build.
target_compile_options(pp_quickjs PRIVATE -w -fwrapv)
if(POLYPLUG_SANITIZE STREQUAL "address")
  # Still fully instrumented for ASan and the rest of UBSan, less two checks
  # QuickJS trips by design: it shifts into the sign bit on purpose (opcode
  # and label encoding; shift-base, on every eval), and BigInt's toString
  # takes clz of a zero top limb for values like 2**64-1 (builtin; cutils.h
  # documents clz64(0) as undefined and the result only sizes a buffer
  # estimate). Our own code keeps both checks.
  target_compile_options(pp_quickjs PRIVATE -fno-sanitize=shift-base,builtin)
endif()
set_target_properties(pp_quickjs PROPERTIES C_EXTENSIONS ON C_STANDARD 11)
target_include_directories(pp_quickjs SYSTEM INTERFACE $<BUILD_INTERFACE:${PP_QJS_SRC}>)
target_link_libraries(pp_quickjs PUBLIC m Threads::Threads)

