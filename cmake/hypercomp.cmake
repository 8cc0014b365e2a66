# Shared settings for the project's own targets.
function(hypercomp_target target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${target} PUBLIC HYPERCOMP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             HYPERCOMP_VERSION="${PROJECT_VERSION}")
endfunction()

# LibTorch's headers dominate build time: every target that compiles against them uses the one
# precompiled header hc_agents builds (agents/CMakeLists.txt) instead of building its own (about
# 40 s of compiler time each). GCC uses it only where the code generation flags are the ones it
# was built with, else it warns (-Winvalid-pch) and parses the headers again: with position-
# independent code on (the Python modules), executables would get -fPIE against the library's
# -fPIC, so they compile as -fPIC too (position-independent code links into executables alike).
function(hypercomp_torch_headers target)
  target_precompile_headers(${target} REUSE_FROM hc_agents)
  if(CMAKE_POSITION_INDEPENDENT_CODE)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()

