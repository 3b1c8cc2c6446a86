#include "harness/sandbox.hpp"

namespace luahammer {

cxxlua::StateOptions sandbox_options() {
  cxxlua::StateOptions options;
  options.libraries = cxxlua::library::Safe;
  return options;
}

void apply_sandbox(const cxxlua::StateHandle& state) {
  state.exec(R"(
    local raw_load = load
    load = function(chunk, name, mode, env) return raw_load(chunk, name, "t", env) end
    dofile, loadfile, print = nil, nil, function() end
    string.dump = nil
  )", "=sandbox");
}

}  // namespace luahammer
