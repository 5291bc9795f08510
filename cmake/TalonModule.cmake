# talon_module(NAME DEPS ...): a static library from src/NAME/**.cpp (tests and benchmarks excluded),
# and a list of that module's *_test.cpp files for talon_module_tests().
set(TALON_MODULES "" CACHE INTERNAL "")
function(talon_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "_(test|pgtest|bench)\\.cpp$")
  if(srcs)
    add_library(talon_${name} STATIC ${srcs})
    set(scope PUBLIC)
  else()  # a module with headers only (so far)
    add_library(talon_${name} INTERFACE)
    set(scope INTERFACE)
  endif()
  target_include_directories(talon_${name} ${scope} ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(talon_${name} ${scope} ${M_DEPS})
  set(TALON_MODULES ${TALON_MODULES} ${name} CACHE INTERNAL "")
endfunction()

# One test executable per module (talon_NAME_test), each test registered with ctest by gtest_discover_tests
# with the label `unit`. The target `talon_unit_tests` builds every executable that holds unit tests (these,
# and any added with talon_unit_test_target()), so that `ctest -L unit` can run without building the rest.
function(talon_module_tests)
  include(GoogleTest)
  if(NOT TARGET talon_unit_tests)
    add_custom_target(talon_unit_tests)
  endif()
  foreach(name ${TALON_MODULES})
    file(GLOB_RECURSE tests CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*_test.cpp)
    if(tests)
      add_executable(talon_${name}_test ${tests})
      target_link_libraries(talon_${name}_test PRIVATE talon_${name} GTest::gtest GTest::gmock GTest::gtest_main)
      target_compile_definitions(talon_${name}_test PRIVATE TALON_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
      gtest_discover_tests(talon_${name}_test DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
      add_dependencies(talon_unit_tests talon_${name}_test)
    endif()
  endforeach()
endfunction()

# Adds TARGET (an executable whose tests carry the label `unit`) to `talon_unit_tests`.
function(talon_unit_test_target target)
  add_dependencies(talon_unit_tests ${target})
endfunction()
