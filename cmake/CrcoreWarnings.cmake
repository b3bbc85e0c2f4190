# Warnings are on and must stay clean; sanitizers for developer builds.
add_compile_options(-Wall -Wextra -Wshadow=local -Wno-missing-field-initializers)
# Assertions stay on in release builds.
string(REPLACE "-DNDEBUG" "" CMAKE_CXX_FLAGS_RELWITHDEBINFO "${CMAKE_CXX_FLAGS_RELWITHDEBINFO}")
string(REPLACE "-DNDEBUG" "" CMAKE_C_FLAGS_RELWITHDEBINFO "${CMAKE_C_FLAGS_RELWITHDEBINFO}")
string(REPLACE "-DNDEBUG" "" CMAKE_CXX_FLAGS_RELEASE "${CMAKE_CXX_FLAGS_RELEASE}")
string(REPLACE "-DNDEBUG" "" CMAKE_C_FLAGS_RELEASE "${CMAKE_C_FLAGS_RELEASE}")

# crcore_sanitize(TARGET) adds ASan+UBSan when CRCORE_SANITIZE is on. Targets that run in
# restricted contexts (the restart stage, the preloaded runtime) never call it.
function(crcore_sanitize target)
  if(CRCORE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
