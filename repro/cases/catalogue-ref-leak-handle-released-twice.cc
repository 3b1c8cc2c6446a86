// docs/bugs.md "ref_leak" (canary ref_leak): a registry slot never released, or released
// twice. C++ analog: a move that leaves the moved-from handle owning its slot, so both
// release it. Copies, moves and drops must balance the reference ledger; with the canary
// the ledger reports "released twice".
#include <utility>
#include <vector>

#include "case_support.hpp"

namespace luahammer::cases {
namespace {

TEST(CatalogueRefLeak, HandleReleasedTwice) {
  CheckedState checked;
  cxxlua::State& state = checked.state();
  {
    std::vector<cxxlua::Table> tables;
    for (int i = 0; i < 8; ++i) tables.push_back(state.create_table());
    cxxlua::Table target;
    for (auto& table : tables) {
      cxxlua::Table copy = table;
      target = std::move(copy);
    }
  }
  checked.finish("copies, moves and drops");
}

}  // namespace
}  // namespace luahammer::cases
