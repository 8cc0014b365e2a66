# Shared settings for the project's own targets.
function(hypercomp_target target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${target} PUBLIC HYPERCOMP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             HYPERCOMP_VERSION="${PROJECT_VERSION}")
endfunction()

# LibTorch's headers dominate build time: every target that compiles against them uses the one
# precompiled header hc_agents builds (agents/CMakeLists.txt) instead of building its own (about
# 40 s of compiler time each). Its flags are the project's everywhere; a target whose flags make
# the header unusable gets a -Winvalid-pch warning in the build log.
function(hypercomp_torch_headers target)
  target_precompile_headers(${target} REUSE_FROM hc_agents)
endfunction()

