// The concurrent repro drivers: each recreates the setup of a catalogued bug on real
// threads (docs/bugs.md), checks the oracles, and runs under TSan and ASan.
#pragma once

#include "driver_main.hpp"

namespace luahammer::repro {

Driver parallel_hooked_states();    // mlua #477
Driver shared_state();              // mlua #431
Driver stored_function_lifetime();  // mlua #423, sol2 #1431
Driver retry_finalization();        // piccolo #45
Driver async_pending();             // mlua #499

}  // namespace luahammer::repro
