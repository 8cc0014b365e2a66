# Shared settings for the project's own targets.
function(hypercomp_target target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${target} PUBLIC HYPERCOMP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             HYPERCOMP_VERSION="${PROJECT_VERSION}")
endfunction()

