#include "cxxlua/canary.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cxxlua::canary {

namespace {
const char* const kNames[] = {
#define CXXLUA_CANARY_ROW(name, suite, detector, site) #name,
#include "cxxlua/canaries.def"
#undef CXXLUA_CANARY_ROW
};

Site parse() noexcept {
  if (!compiled_in()) return Site::count;  // default builds ignore LUAHAMMER_CANARY
  const char* wanted = std::getenv("LUAHAMMER_CANARY");
  if (wanted == nullptr || *wanted == '\0') return Site::count;
  for (int i = 0; i < static_cast<int>(Site::count); ++i) {
    if (std::strcmp(wanted, kNames[i]) == 0) return static_cast<Site>(i);
  }
  std::fprintf(stderr, "luahammer: canary: unknown canary '%s' (known:", wanted);
  for (const char* known : kNames) std::fprintf(stderr, " %s", known);
  std::fprintf(stderr, ")\n");
  std::exit(2);
}
}  // namespace

const char* name(Site site) noexcept {
  const auto i = static_cast<int>(site);
  return i >= 0 && i < static_cast<int>(Site::count) ? kNames[i] : "none";
}

Site active() noexcept {
  static const Site site = parse();
  return site;
}

}  // namespace cxxlua::canary
