# Our own targets build warning-free; third-party code (QuickJS) does not get these.
function(pp_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla)
endfunction()

# Plugins and examples: strict, but prototypes for exported entry points are
# declared by abi.h, so the same set applies.
function(pp_plugin target)
  pp_strict(${target})
  set_target_properties(${target} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
endfunction()
