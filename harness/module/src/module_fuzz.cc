#include <luahammer/module/module_fuzz.hpp>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <utility>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <luahammer/core/chaos.hpp>
#include <luahammer/core/fault_allocator.hpp>
#include <luahammer/core/oracles.hpp>
#include <luahammer/core/sandbox.hpp>
#include <luahammer/lua_ledgers.hpp>

namespace luahammer {
namespace {

constexpr int kPoolSize = 16;
constexpr std::size_t kMaxCallables = 512;
constexpr int kDiscoverDepth = 2;
constexpr int kMaxResumes = 6;
constexpr int kMaxBases = 4;  // base classes followed through __index tables
constexpr std::size_t kMaxCandidates = 4096;
constexpr std::size_t kMaxProbes = 256;
constexpr const char* kPool = "luahammer.module.pool";
constexpr const char* kFunctions = "luahammer.module.functions";
constexpr const char* kHelpers = "luahammer.module.helpers";
constexpr const char* kSamples = "luahammer.module.samples";      // shape learning: an object per class
constexpr const char* kModule = "luahammer.module.value";         // what luaopen_ returned
constexpr const char* kClassTables = "luahammer.module.classes";  // class tables whose __index is a function

// Lua values only Lua code makes conveniently: callbacks and metatables that raise,
// yield or return values of the wrong type. Error texts avoid "luahammer:" so that a
// report's first line is never one of these.
constexpr const char kHelperSource[] = R"lua(
local yield = coroutine.yield
local function raise() error("hammer: raised by a callback") end
local function ylds(...) return yield(...) end
return {
  functions = {
    function(...) return ... end,
    raise,
    ylds,
    function() return 1, 2.5, "three", {}, nil, true, -0.0, math.huge end,
    function(_, i) return i end,
    function() return {} end,
    function(...) return select('#', ...) end,
  },
  metatables = {
    { __index = raise, __newindex = raise, __len = raise, __tostring = raise, __eq = raise,
      __lt = raise, __le = raise, __call = raise, __concat = raise, __add = raise,
      __pairs = raise, __unm = raise, __name = "hammer.raising" },
    { __index = ylds, __newindex = ylds, __len = ylds, __tostring = ylds, __call = ylds,
      __pairs = ylds, __add = ylds, __eq = ylds },
    { __index = function(_, k) return k end, __len = function() return "many" end,
      __tostring = function() return {} end, __call = function(...) return ... end, __name = 42 },
    { __gc = raise, __close = raise, __mode = "k" },
    { __index = { 1, 2, 3 }, __metatable = "locked" },
  },
}
)lua";

// What a callable's argument checks accept, learned once per process (learn_shapes): per
// position, a set of kinds (ShapeKind bits) and, for an object, its class's __name.
enum ShapeKind : unsigned { kNil, kBoolean, kInteger, kFloat, kString, kTable, kFunction, kObject, kKinds };
struct Shape {
  std::vector<unsigned> accepted;    // one mask a position (after self)
  std::vector<std::string> classes;  // the class an object at that position must be, "" any
  bool without_self = false;         // found in a metatable, but called with no object first
};

std::uint16_t name_code(const std::string& name);

struct Callable {
  Callable(std::string n, const void* mt) : name(std::move(n)), self_metatable(mt), code(name_code(name)) {}
  std::string name;
  const void* self_metatable = nullptr;  // a method: called with a value of this metatable first
  std::uint16_t code;                    // name_code(name): where it sits on the choice ring
  bool held = false;                     // its class's objects are known to reach Lua code (held_class)
};

// Lua is C here: an error longjmps over C++ frames without running destructors. So no
// frame below a protected call owns heap memory: strings and name lists live here, in the
// Context, whose frame (run_module_input) is outside every protected call.
struct Context {
  const ModuleSpec* module = nullptr;
  const ModuleRunOptions* options = nullptr;
  FuzzedDataProvider* data = nullptr;
  FaultAllocator allocator;
  std::vector<Callable> callables;
  std::vector<const void*> explored;                     // metatables and tables already walked
  std::vector<const void*> to_probe;                     // metatables whose __index is a function, not yet probed
  std::vector<std::string> candidates;                   // names seen anywhere: what an __index function is asked for
  const std::map<std::string, Shape>* shapes = nullptr;  // learned argument shapes (learn_shapes)
  std::map<std::string, std::pair<int, int>> checks;     // per callable: calls, calls past the argument check
  std::string called;                                    // the callable the current step called
  const char* called_property = nullptr;                 // the learned property an accessor call named
  int constructing = 0;                                  // construct_object calls under way (nested)
  std::vector<std::pair<const void*, std::string>> class_names;   // a class's metatable and its name
  std::vector<std::pair<std::string, std::size_t>> constructors;  // per class name: a callable that makes one
  std::vector<std::size_t> class_order;                           // class_tables' indices, by name
  std::vector<std::string> class_tables;                          // their names ("mod.Class."), kClassTables[i + 1]
  std::vector<std::string> constructs;  // shape learning: "<callable>\t<class of a userdata it returned>"
  std::vector<const void*> touched;     // tables the input set a "__" key on (metatables it changed)
  std::vector<const void*> held;        // metatables of values Lua code has held, or can make (held_class)
  bool failures_armed = false;          // an allocation failure plan was armed
  int metatable_names = 0;
  // hooks
  std::optional<HookPlanRun> hook;  // the hook plan, if the input has one
  std::uint64_t instructions = 0;
  int step = 0;
  std::string step_text;  // for the trace
  // scratch space for frames that may longjmp (see above)
  std::string scratch;
  std::string type_name;
  std::string property_prefix;
  std::string shape_key;
  std::vector<std::string> probe_hits;
  std::vector<std::pair<const char*, const Shape*>> properties;  // a name (in a shapes key), its shape
  std::vector<std::string> prefixes = std::vector<std::string>(kDiscoverDepth + 2);
  std::vector<std::vector<std::string>> names = std::vector<std::vector<std::string>>(2 * (kDiscoverDepth + 2));
};

Context& context_of(lua_State* L) { return **static_cast<Context**>(lua_getextraspace(L)); }

void trace(const Context& c, const std::string& text) {
  if (c.options->trace) {
    std::printf("  %s\n", text.c_str());
    std::fflush(stdout);
  }
}

// ---------------------------------------------------------------------------- hooks

// A GC plan carried out with lua_gc (the op VM goes through its binding instead).
struct LuaGc {
  lua_State* L;
  void step(int kilobytes) const { lua_gc(L, LUA_GCSTEP, kilobytes); }
  void collect() const { lua_gc(L, LUA_GCCOLLECT); }
  void set_generational(bool on) const { lua_gc(L, on ? LUA_GCGEN : LUA_GCINC, 0, 0); }
};

constexpr int kBudgetCount = 1000;

void hook(lua_State* L, lua_Debug* ar);

void install_hook(lua_State* L, const Context& c) {
  int mask = LUA_MASKCOUNT;
  int count = kBudgetCount;
  if (c.hook) {
    mask |= c.hook->plan().triggers.lua_mask();
    if (c.hook->plan().triggers.every_nth_instruction > 0) count = c.hook->plan().triggers.every_nth_instruction;
  }
  lua_sethook(L, hook, mask, count);
}

void hook(lua_State* L, lua_Debug* ar) {
  Context& c = context_of(L);
  if (ar->event == LUA_HOOKCOUNT) {
    c.instructions += static_cast<std::uint64_t>(lua_gethookcount(L));
    if (c.instructions > c.options->instruction_budget) luaL_error(L, "hammer: instruction budget exhausted");
  }
  if (!c.hook) return;
  const bool counted = ar->event != LUA_HOOKCOUNT || c.hook->plan().triggers.every_nth_instruction > 0;
  if (!counted || !c.hook->next_event_acts()) return;
  const std::uint64_t n = c.hook->events();
  switch (c.hook->plan().action) {
    case HookPlan::Action::Raise:
    case HookPlan::Action::Throw:  // a C hook has no exceptions to throw: it raises
      luaL_error(L, "hammer: hook raised at event %d", static_cast<int>(n));
      break;
    case HookPlan::Action::Yield:
      // Lua allows a hook to yield only on count and line events, inside a coroutine.
      if ((ar->event == LUA_HOOKCOUNT || ar->event == LUA_HOOKLINE) && lua_isyieldable(L)) lua_yield(L, 0);
      break;
    case HookPlan::Action::CollectGarbage: lua_gc(L, LUA_GCCOLLECT); break;
    case HookPlan::Action::ReplaceHook:
      c.hook.emplace(c.hook->plan().replacement());
      install_hook(L, c);
      break;
    case HookPlan::Action::RemoveHook:
      c.hook.reset();
      install_hook(L, c);
      break;
  }
}

// ------------------------------------------------------------------------- discovery

void push_registry(lua_State* L, const char* key) { lua_getfield(L, LUA_REGISTRYINDEX, key); }

// Whether the value at `index` is a table or userdata whose metatable has __call (a C++
// binding's class table: calling it constructs).
bool has_call(lua_State* L, int index) {
  if (!lua_istable(L, index) && !lua_isuserdata(L, index)) return false;
  if (!lua_getmetatable(L, index)) return false;
  const bool call = lua_getfield(L, -1, "__call") != LUA_TNIL;
  lua_pop(L, 2);
  return call;
}

// LUAHAMMER_EXCLUDE: comma-separated callable names never called (one that cannot be
// contained, or a known bug the campaign should get past); read once per process.
bool excluded(const std::string& name) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    const char* env = std::getenv("LUAHAMMER_EXCLUDE");
    std::string text = env != nullptr ? env : "";
    for (std::size_t start = 0; start <= text.size();) {
      const std::size_t comma = std::min(text.find(',', start), text.size());
      if (comma > start) out.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
    return out;
  }();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A name for a callable that is stable from one input and one build to the next: which
// callable a step calls is chosen by this code (the nearest at or after a 16-bit number
// from the input, around the ring), so discovering one more callable changes only the
// choices that now land on it, not what every other input calls.
std::uint16_t name_code(const std::string& name) {
  std::uint32_t h = 2166136261u;
  for (unsigned char ch : name) h = (h ^ ch) * 16777619u;
  return static_cast<std::uint16_t>(h ^ (h >> 16));
}

// Whether the value at `index` has a metatable whose __index is a function.
bool index_is_function(lua_State* L, int index) {
  if (!lua_getmetatable(L, index)) return false;
  const bool function = lua_getfield(L, -1, "__index") == LUA_TFUNCTION;
  lua_pop(L, 2);
  return function;
}

// Adds every function field of the table at `index` (sorted by name: Lua's string hash is
// seeded per state, so traversal order is not deterministic) as a callable, named
// c.prefixes[depth] + key.
void add_functions_of(lua_State* L, Context& c, int index, const void* self_mt, int depth) {
  index = lua_absindex(L, index);
  const void* identity = lua_topointer(L, index);
  if (std::find(c.explored.begin(), c.explored.end(), identity) != c.explored.end()) return;
  c.explored.push_back(identity);
  auto& functions = c.names[2 * depth];
  auto& tables = c.names[2 * depth + 1];
  functions.clear();
  tables.clear();
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      if (c.candidates.size() < kMaxCandidates) c.candidates.emplace_back(lua_tostring(L, -2));
      if (lua_isfunction(L, -1) || has_call(L, -1))  // a class table with __call: a constructor
        functions.emplace_back(lua_tostring(L, -2));
      if (lua_istable(L, -1) && depth < kDiscoverDepth) tables.emplace_back(lua_tostring(L, -2));
      if (lua_istable(L, -1) && index_is_function(L, -1)) {  // a class table: static members behind __index
        c.class_tables.push_back(c.prefixes[depth] + lua_tostring(L, -2) + ".");
        push_registry(L, kClassTables);
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, static_cast<lua_Integer>(c.class_tables.size()));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  std::sort(functions.begin(), functions.end());
  std::sort(tables.begin(), tables.end());
  push_registry(L, kFunctions);
  for (const auto& name : functions) {
    if (c.callables.size() >= kMaxCallables) break;
    if (excluded(c.prefixes[depth] + name)) continue;
    c.callables.push_back({c.prefixes[depth] + name, self_mt});
    lua_getfield(L, index, name.c_str());
    lua_rawseti(L, -2, static_cast<lua_Integer>(c.callables.size()));
  }
  lua_pop(L, 1);
  for (const auto& name : tables) {
    c.prefixes[depth + 1] = c.prefixes[depth] + name + ".";
    lua_getfield(L, index, name.c_str());
    if (lua_istable(L, -1)) add_functions_of(L, c, -1, self_mt, depth + 1);
    lua_pop(L, 1);
  }
}

// A class: a metatable of the module's (from the registry, or on a value a call returned).
// Its methods join the callables, called with a value of that metatable as `self`: the
// functions of its __index table, the functions stored in the metatable itself (methods
// and metamethods, as C++ binding libraries keep them) and in its nested tables. An
// __index that is a function is probed later, on the first value of the class.
void explore_class(lua_State* L, Context& c, int mt_index, const char* fallback_name) {
  mt_index = lua_absindex(L, mt_index);
  const void* mt = lua_topointer(L, mt_index);
  if (std::find(c.explored.begin(), c.explored.end(), mt) != c.explored.end()) return;
  c.type_name.clear();
  if (lua_getfield(L, mt_index, "__name") == LUA_TSTRING) c.type_name = lua_tostring(L, -1);
  lua_pop(L, 1);
  if (c.type_name.empty()) c.type_name = fallback_name;
  c.class_names.emplace_back(mt, c.type_name);
  c.prefixes[kDiscoverDepth] = c.type_name + ":";
  const int index_type = lua_getfield(L, mt_index, "__index");
  if (index_type == LUA_TTABLE) {
    // The methods table, then its base classes: the __index tables of its metatable, and
    // of theirs (Lua-side inheritance: setmetatable(Derived, {__index = Base})).
    for (int base = 0; base < kMaxBases && lua_istable(L, -1); ++base) {
      add_functions_of(L, c, -1, mt, kDiscoverDepth);
      if (!lua_getmetatable(L, -1)) break;
      lua_getfield(L, -1, "__index");
      lua_replace(L, -3);
      lua_pop(L, 1);
    }
  }
  if (index_type == LUA_TFUNCTION) c.to_probe.push_back(mt);
  lua_pop(L, 1);
  c.prefixes[kDiscoverDepth - 1] = c.type_name + ":";
  add_functions_of(L, c, mt_index, mt, kDiscoverDepth - 1);  // marks mt explored
}

// A value a call returned: a class met for the first time is explored; an __index
// function of its class is asked, once, for every name seen so far.
int probe_one(lua_State* L) {
  lua_gettable(L, 1);  // value[name], through __index
  return 1;
}

// Whether a callable of that name is known already (stored in the metatable too).
bool known_callable(const Context& c, const std::string& name) {
  return std::any_of(c.callables.begin(), c.callables.end(), [&](const Callable& k) { return k.name == name; });
}

// The value on top becomes callable `name` (left on the stack), unless the list is full
// or the name is excluded.
void add_callable(lua_State* L, Context& c, const std::string& name, const void* self_mt) {
  if (c.callables.size() >= kMaxCallables || excluded(name)) return;
  c.callables.push_back({name, self_mt});
  push_registry(L, kFunctions);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, static_cast<lua_Integer>(c.callables.size()));
  lua_pop(L, 1);
}

// The names seen so far, sorted and without repeats (what __index functions are asked).
void sort_candidates(Context& c) {
  std::sort(c.candidates.begin(), c.candidates.end());
  c.candidates.erase(std::unique(c.candidates.begin(), c.candidates.end()), c.candidates.end());
}

void probe_index(lua_State* L, Context& c, int index, const void* mt) {
  c.to_probe.erase(std::find(c.to_probe.begin(), c.to_probe.end(), mt));
  sort_candidates(c);
  c.prefixes[kDiscoverDepth] = c.type_name + ":";
  std::size_t probes = 0;
  for (std::size_t i = 0; i < c.candidates.size() && probes < kMaxProbes; ++i) {
    if (c.candidates[i].rfind("__", 0) == 0) continue;  // metamethods are in the metatable
    ++probes;
    lua_pushcfunction(L, probe_one);
    lua_pushvalue(L, index);
    lua_pushstring(L, c.candidates[i].c_str());
    c.scratch = c.prefixes[kDiscoverDepth] + c.candidates[i];
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && (lua_isfunction(L, -1) || has_call(L, -1)) && !known_callable(c, c.scratch))
      add_callable(L, c, c.scratch, mt);
    lua_pop(L, 1);
  }
}

void discover_value(lua_State* L, Context& c, int index) {
  index = lua_absindex(L, index);
  if (lua_type(L, index) == LUA_TSTRING) return;  // the string library's metatable is Lua's, not the module's
  if (!lua_getmetatable(L, index)) return;
  const void* mt = lua_topointer(L, -1);
  if (std::find(c.held.begin(), c.held.end(), mt) == c.held.end()) c.held.push_back(mt);
  const bool known = std::find(c.explored.begin(), c.explored.end(), mt) != c.explored.end();
  const bool probe = std::find(c.to_probe.begin(), c.to_probe.end(), mt) != c.to_probe.end();
  if (!known) {
    c.scratch = std::string(luaL_typename(L, index)) + "#" + std::to_string(++c.metatable_names);
    explore_class(L, c, -1, c.scratch.c_str());
  } else if (probe) {
    c.type_name.clear();
    if (lua_getfield(L, -1, "__name") == LUA_TSTRING) c.type_name = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (c.type_name.empty()) c.type_name = luaL_typename(L, index);
  }
  if (std::find(c.to_probe.begin(), c.to_probe.end(), mt) != c.to_probe.end()) probe_index(L, c, index, mt);
  lua_pop(L, 1);
}

// The registry's classes: C binding libraries register their metatables there
// (luaL_newmetatable, or keys of their own). Every string-keyed table that looks like a
// metatable (a metamethod or __name) is explored; the string keys of every registry
// table join the names an __index function is probed with.
void discover_registry(lua_State* L, Context& c) {
  auto& keys = c.names[0];
  keys.clear();
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) keys.emplace_back(lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  std::sort(keys.begin(), keys.end());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    if (key.rfind("luahammer.", 0) == 0 || key == LUA_LOADED_TABLE || key == LUA_PRELOAD_TABLE || key == "_CLIBS")
      continue;
    lua_getfield(L, LUA_REGISTRYINDEX, key.c_str());
    bool metatable = false;
    for (const char* field : {"__index", "__name", "__gc", "__call", "__newindex", "__tostring", "__close"}) {
      if (lua_getfield(L, -1, field) != LUA_TNIL) metatable = true;
      lua_pop(L, 1);
    }
    if (metatable) {
      c.scratch = key;
      explore_class(L, c, -1, c.scratch.c_str());
    } else if (c.candidates.size() < kMaxCandidates) {
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && c.candidates.size() < kMaxCandidates)
          c.candidates.emplace_back(lua_tostring(L, -2));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
}

// Static members of class tables (how sol2 keeps `Class.new`): each class table's
// __index function is asked for every name seen; functions become callables without self.
// What is asked is the same in every state of the process (the module table and the
// registry after opening), so the names that answered are kept, and later states ask
// only those.
void probe_class_tables(lua_State* L, Context& c) {
  static std::map<std::string, std::vector<std::string>> answered;  // per class table's name
  sort_candidates(c);
  // By name: the tables were met in Lua's traversal order, which the string hash seed
  // (per state) decides; the callables' order must not depend on it.
  auto& order = c.class_order;
  order.resize(c.class_tables.size());
  for (std::size_t t = 0; t < order.size(); ++t) order[t] = t;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return c.class_tables[a] < c.class_tables[b]; });
  push_registry(L, kClassTables);
  for (const std::size_t t : order) {
    lua_rawgeti(L, -1, static_cast<lua_Integer>(t) + 1);
    const int table = lua_gettop(L);
    const auto known = answered.find(c.class_tables[t]);
    const bool first = known == answered.end();
    const std::vector<std::string>& names = first ? c.candidates : known->second;
    std::vector<std::string>& hits = c.probe_hits;  // (no heap memory owned by this frame)
    hits.clear();
    std::size_t probes = 0;
    for (std::size_t i = 0; i < names.size() && probes < kMaxProbes; ++i) {
      if (names[i].rfind("__", 0) == 0) continue;
      ++probes;
      lua_pushcfunction(L, probe_one);
      lua_pushvalue(L, table);
      lua_pushstring(L, names[i].c_str());
      c.scratch = c.class_tables[t] + names[i];
      if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_rawequal(L, -1, table) == 0 &&
          (lua_isfunction(L, -1) || has_call(L, -1))) {
        hits.push_back(names[i]);
        add_callable(L, c, c.scratch, nullptr);
      }
      lua_pop(L, 1);
    }
    if (first) answered.emplace(c.class_tables[t], hits);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

// ---------------------------------------------------------------------------- values

const void* metatable_of(lua_State* L, int index) {
  if (!lua_getmetatable(L, index)) return nullptr;
  const void* mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  return mt;
}

void push_helper(lua_State* L, const char* list, int which) {
  push_registry(L, kHelpers);
  lua_getfield(L, -1, list);
  const auto n = static_cast<int>(luaL_len(L, -1));
  lua_rawgeti(L, -1, 1 + which % n);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

int c_identity(lua_State* L) { return lua_gettop(L); }

void push_value(lua_State* L, Context& c, int depth);

void push_table_of_values(lua_State* L, Context& c, int depth, int n, bool keyed) {
  lua_createtable(L, keyed ? 0 : n, keyed ? n : 0);
  for (int i = 1; i <= n; ++i) {
    if (keyed) {
      c.scratch = c.data->ConsumeRandomLengthString(16);
      lua_pushlstring(L, c.scratch.data(), c.scratch.size());
      push_value(L, c, depth + 1);
      lua_rawset(L, -3);
    } else {
      push_value(L, c, depth + 1);
      lua_rawseti(L, -2, i);
    }
  }
}

void push_kind(lua_State* L, Context& c, int depth, int kind);
bool held_class(Context& c, Callable& callable);
std::size_t pick_callable(Context& c, std::uint16_t k);

void push_value(lua_State* L, Context& c, int depth) {
  push_kind(L, c, depth, c.data->ConsumeIntegralInRange<int>(0, depth >= 3 ? 9 : 21));
}

// One fuzzed value of the given kind (push_value's draw): 0 nil, 1 boolean, 2-3 integers,
// 4-5 floats, 6-9 strings, 10-14 tables, 15 a foreign userdata, 16 light userdata,
// 17 a function, 18 a coroutine, 19-20 an earlier result, 21 a callable of the module.
void push_kind(lua_State* L, Context& c, int depth, int kind) {
  FuzzedDataProvider& d = *c.data;
  luaL_checkstack(L, 6, "hammer: arguments");
  switch (kind) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, d.ConsumeBool()); break;
    case 2: {
      static const lua_Integer edges[] = {0,
                                          1,
                                          -1,
                                          2,
                                          7,
                                          8,
                                          127,
                                          128,
                                          255,
                                          256,
                                          1000,
                                          65535,
                                          65536,
                                          INT32_MAX,
                                          INT32_MIN,
                                          static_cast<lua_Integer>(INT32_MAX) + 1,
                                          LUA_MAXINTEGER,
                                          LUA_MININTEGER,
                                          LUA_MAXINTEGER - 1,
                                          LUA_MININTEGER + 1};
      lua_pushinteger(L, edges[d.ConsumeIntegralInRange<std::size_t>(0, std::size(edges) - 1)]);
      break;
    }
    case 3: lua_pushinteger(L, d.ConsumeIntegral<lua_Integer>()); break;
    case 4: {
      static const double edges[] = {0.0,
                                     -0.0,
                                     std::numeric_limits<double>::quiet_NaN(),
                                     HUGE_VAL,
                                     -HUGE_VAL,
                                     DBL_MAX,
                                     -DBL_MAX,
                                     DBL_MIN,
                                     std::numeric_limits<double>::denorm_min(),
                                     0.5,
                                     -1.5,
                                     1e300,
                                     9007199254740993.0,
                                     9223372036854775808.0,
                                     -9223372036854775808.0,
                                     1e-320,
                                     3.0};
      lua_pushnumber(L, edges[d.ConsumeIntegralInRange<std::size_t>(0, std::size(edges) - 1)]);
      break;
    }
    case 5: lua_pushnumber(L, d.ConsumeFloatingPoint<double>()); break;
    case 6:
    case 7: {
      c.scratch = d.ConsumeRandomLengthString(kind == 6 ? 64 : 512);
      lua_pushlstring(L, c.scratch.data(), c.scratch.size());
      break;
    }
    case 8: lua_pushliteral(L, ""); break;
    case 9: {                                        // a huge string: a short pattern repeated, or with embedded zeros
      c.type_name = d.ConsumeRandomLengthString(8);  // the unit
      if (c.type_name.empty()) c.type_name.push_back('\0');
      const std::size_t size = std::size_t{1} << d.ConsumeIntegralInRange<int>(8, 20);
      c.scratch.clear();
      while (c.scratch.size() < size) c.scratch += c.type_name;
      c.scratch.resize(size);
      if (d.ConsumeBool()) c.scratch[d.ConsumeIntegralInRange<std::size_t>(0, size - 1)] = '\0';
      lua_pushlstring(L, c.scratch.data(), c.scratch.size());
      break;
    }
    case 10: push_table_of_values(L, c, depth, d.ConsumeIntegralInRange<int>(0, 6), false); break;
    case 11: push_table_of_values(L, c, depth, d.ConsumeIntegralInRange<int>(1, 4), true); break;
    case 12: {  // cyclic: t[1] = t, t.self = t, t[2] = { t }
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_rawseti(L, -2, 1);
      lua_pushvalue(L, -1);
      lua_setfield(L, -2, "self");
      lua_createtable(L, 1, 0);
      lua_pushvalue(L, -2);
      lua_rawseti(L, -2, 1);
      lua_rawseti(L, -2, 2);
      break;
    }
    case 13: {  // deep: { { { ... } } }
      const int levels = d.ConsumeIntegralInRange<int>(1, 1500);
      lua_newtable(L);
      for (int i = 1; i < levels; ++i) {
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
      }
      break;
    }
    case 14: {  // a table whose metamethods raise, yield, or answer with the wrong type
      push_table_of_values(L, c, depth, d.ConsumeIntegralInRange<int>(0, 3), false);
      push_helper(L, "metatables", d.ConsumeIntegral<std::uint8_t>());
      lua_setmetatable(L, -2);
      break;
    }
    case 15: {  // a userdata not of the module's type
      lua_newuserdatauv(L, d.ConsumeIntegralInRange<std::size_t>(0, 64), 1);
      if (d.ConsumeBool()) {
        push_helper(L, "metatables", d.ConsumeIntegral<std::uint8_t>());
        lua_setmetatable(L, -2);
      }
      break;
    }
    case 16:
      if (d.ConsumeBool())
        lua_pushlightuserdata(L, nullptr);
      else
        lua_pushlightuserdata(L, &c);
      break;
    case 17:
      if (d.ConsumeBool())
        lua_pushcfunction(L, c_identity);
      else
        push_helper(L, "functions", d.ConsumeIntegral<std::uint8_t>());
      break;
    case 18: {  // a coroutine: fresh, suspended, or dead
      lua_State* co = lua_newthread(L);
      const int how = d.ConsumeIntegralInRange<int>(0, 2);
      if (how > 0) {
        push_helper(L, "functions", how == 1 ? 2 : 0);  // ylds or identity
        lua_xmove(L, co, 1);
        int results = 0;
        lua_resume(co, L, 0, &results);
        lua_pop(co, results);
      }
      break;
    }
    case 19:
    case 20:
      push_registry(L, kPool);
      lua_rawgeti(L, -1, d.ConsumeIntegralInRange<int>(1, kPoolSize));
      lua_remove(L, -2);
      break;
    default: {  // a callable Lua code could hold: a method of a class it never holds, passed
                // as a value and called by an operator step, would be the zlib false positive
      auto which = static_cast<std::size_t>(d.ConsumeIntegralInRange<lua_Integer>(
                       1, std::max<lua_Integer>(1, static_cast<lua_Integer>(c.callables.size())))) -
                   1;
      if (which < c.callables.size() && !held_class(c, c.callables[which]))
        which = pick_callable(c, c.callables[which].code);
      push_registry(L, kFunctions);
      lua_rawgeti(L, -1, static_cast<lua_Integer>(which) + 1);
      lua_remove(L, -2);
      break;
    }
  }
}

// Keeps up to two results of a step in the pool, and explores their metatables.
void keep_results(lua_State* L, Context& c, int first, int last) {
  luaL_checkstack(L, 6, "hammer: results");
  for (int i = first; i <= last && i < first + 4; ++i) discover_value(L, c, i);
  push_registry(L, kPool);
  for (int i = first; i <= last && i < first + 2; ++i) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, c.data->ConsumeIntegralInRange<int>(1, kPoolSize));
  }
  lua_pop(L, 1);
}

// A value of a pool slot whose class is `name` (its metatable's __name), if there is one.
bool push_pool_value_of_class(lua_State* L, const std::string& name) {
  push_registry(L, kPool);
  for (int slot = 1; slot <= kPoolSize; ++slot) {
    lua_rawgeti(L, -1, slot);
    if (lua_getmetatable(L, -1)) {
      const bool match = lua_getfield(L, -1, "__name") == LUA_TSTRING && (name.empty() || name == lua_tostring(L, -1));
      lua_pop(L, 2);
      if (match) {
        lua_remove(L, -2);
        return true;
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return false;
}

// One fuzzed value of a kind the learned mask accepts.
bool construct_object(lua_State* L, Context& c, const void* mt);

void push_shaped(lua_State* L, Context& c, unsigned mask, const std::string& class_name) {
  unsigned kinds[kKinds];
  int n = 0;
  for (unsigned k = 0; k < kKinds; ++k)
    if ((mask & (1u << k)) != 0) kinds[n++] = k;
  if (n == 0) return push_value(L, c, 0);
  FuzzedDataProvider& d = *c.data;
  switch (kinds[d.ConsumeIntegralInRange<int>(0, n - 1)]) {
    case kNil: return push_kind(L, c, 0, 0);
    case kBoolean: return push_kind(L, c, 0, 1);
    case kInteger: return push_kind(L, c, 0, d.ConsumeBool() ? 2 : 3);
    case kFloat: return push_kind(L, c, 0, d.ConsumeBool() ? 4 : 5);
    case kString: return push_kind(L, c, 0, d.ConsumeIntegralInRange<int>(6, 9));
    case kTable: return push_kind(L, c, 0, d.ConsumeIntegralInRange<int>(10, 14));
    case kFunction: return push_kind(L, c, 0, 17);
    default:  // an object of a class: from the pool, else made by a learned constructor
      if (push_pool_value_of_class(L, class_name)) return;
      for (const auto& [metatable, name] : c.class_names) {
        if (name == class_name && construct_object(L, c, metatable)) return;
      }
      push_kind(L, c, 0, 19);
      return;
  }
}

// A class's name, from its metatable (as explored), or null.
const std::string* class_name_of(const Context& c, const void* mt) {
  for (const auto& [metatable, name] : c.class_names)
    if (metatable == mt) return &name;
  return nullptr;
}

// The values at from..to, for --explain: a userdata says its size and its class (or that it
// has no metatable, or one not of the module), so a report shows which object was self.
// (Reads only: no allocation, so no error can jump out of it.)
std::string describe_stack(lua_State* L, const Context& c, int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) {
    if (!out.empty()) out += ", ";
    out += luaL_typename(L, i);
    if (lua_type(L, i) == LUA_TSTRING) out += "[" + std::to_string(lua_rawlen(L, i)) + "]";
    if (lua_type(L, i) == LUA_TNUMBER) {
      char buffer[48];
      if (lua_isinteger(L, i))
        std::snprintf(buffer, sizeof buffer, "(%lld)", static_cast<long long>(lua_tointeger(L, i)));
      else
        std::snprintf(buffer, sizeof buffer, "(%g)", lua_tonumber(L, i));
      out += buffer;
    }
    if (lua_type(L, i) == LUA_TUSERDATA) {
      out += "[" + std::to_string(lua_rawlen(L, i)) + "]";
      if (!lua_checkstack(L, 1) || !lua_getmetatable(L, i)) {
        out += "(no metatable)";
        continue;
      }
      const std::string* name = class_name_of(c, lua_topointer(L, -1));
      lua_pop(L, 1);
      out += name != nullptr ? "(" + *name + ")" : "(a metatable not of the module)";
    }
  }
  return out;
}

// Whether objects of class `other` may serve as self of `own`'s methods: C++ binding
// libraries give one C++ type several metatables (sol2: "sol.T", "sol.const T",
// "sol.T *", "sol.sol::d::u<T>"), and a method of one accepts the others' objects. So
// `other`'s name after its first '.' found inside `own`'s name makes them one family.
bool same_family(const Context& c, const void* own, const void* other) {
  const std::string* own_name = class_name_of(c, own);
  const std::string* other_name = class_name_of(c, other);
  if (own_name == nullptr || other_name == nullptr || *own_name == *other_name) return false;
  const std::size_t dot = other_name->find('.');
  const std::size_t core = dot == std::string::npos ? 0 : dot + 1;
  return other_name->size() - core >= 3 && own_name->find(other_name->c_str() + core) != std::string::npos;
}

// LUAHAMMER_CALL_UNHELD=1: methods of classes no object of which was seen are called too
// (see held_class); read once per process.
bool call_unheld() {
  static const bool on = [] {
    const char* env = std::getenv("LUAHAMMER_CALL_UNHELD");
    return env != nullptr && std::strcmp(env, "1") == 0;
  }();
  return on;
}

// Whether Lua code can hold an object of the callable's class, so that plain Lua can call
// the method at all (`obj:m()`, `getmetatable(obj).m(other)`): a value of the class (or
// its family) came back from a call in this state, or learning saw a callable make one.
// A metatable found only in the registry, whose objects the module never hands to Lua
// code (lua-zlib keeps its stream objects as upvalues of the functions it returns), is
// reached only through the debug library: its methods are not called (a bug there is not
// the module's), unless LUAHAMMER_CALL_UNHELD=1 (a host that hands such objects to its
// scripts itself). Once true, true for the rest of the state.
bool held_class(Context& c, Callable& callable) {
  if (callable.held) return true;
  const void* own = callable.self_metatable;
  callable.held = own == nullptr || call_unheld() || std::any_of(c.held.begin(), c.held.end(), [&](const void* mt) {
                    return mt == own || same_family(c, own, mt);
                  });
  return callable.held;
}

// The callable a step calls: the first whose name code is at or after `k`, around the
// ring, among those plain Lua can call (held_class); the first of all if none is.
std::size_t pick_callable(Context& c, std::uint16_t k) {
  std::size_t best = c.callables.size();
  std::uint32_t best_distance = 0x10000;
  for (std::size_t i = 0; i < c.callables.size(); ++i) {
    const std::uint32_t distance = (static_cast<std::uint32_t>(c.callables[i].code) + 0x10000 - k) & 0xFFFF;
    if (distance < best_distance && held_class(c, c.callables[i])) {
      best_distance = distance;
      best = i;
    }
  }
  return best < c.callables.size() ? best : 0;
}

// A new object of the class whose metatable is `mt`, made by a callable learning saw
// return one (with arguments of its learned shape) and kept in the pool; pushed when that
// worked. A method whose class has no object yet gets its self this way.
bool construct_object(lua_State* L, Context& c, const void* mt) {
  const std::string* name = class_name_of(c, mt);
  // (A constructor's own arguments may be objects made this way, two levels deep at most.)
  if (name == nullptr || c.constructing >= 2) return false;
  std::size_t which = c.callables.size();
  for (const auto& [class_name, index] : c.constructors)
    if (class_name == *name) which = index;
  // Else a constructor of the family (its objects are accepted as this class's self).
  for (const auto& [metatable, class_name] : c.class_names) {
    if (which < c.callables.size()) break;
    if (!same_family(c, mt, metatable)) continue;
    for (const auto& [made, index] : c.constructors)
      if (made == class_name) which = index;
  }
  if (which >= c.callables.size()) return false;
  const int base = lua_gettop(L);
  luaL_checkstack(L, 12, "hammer: constructor");
  ++c.constructing;  // (reset by each step: an error may jump past the decrement)
  push_registry(L, kFunctions);
  lua_rawgeti(L, -1, static_cast<lua_Integer>(which) + 1);
  lua_remove(L, -2);
  int nargs = 0;
  if (c.shapes != nullptr) {
    const auto shape = c.shapes->find(c.callables[which].name);
    if (shape != c.shapes->end()) {
      for (std::size_t p = 0; p < shape->second.accepted.size() && p < 8; ++p, ++nargs)
        push_shaped(L, c, shape->second.accepted[p], shape->second.classes[p]);
    }
  }
  const int status = lua_pcall(L, nargs, 1, 0);
  --c.constructing;
  const void* made = status == LUA_OK ? metatable_of(L, -1) : nullptr;
  if (made == nullptr || (made != mt && !same_family(c, mt, made))) {
    lua_settop(L, base);
    return false;
  }
  push_registry(L, kPool);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, c.data->ConsumeIntegralInRange<int>(1, kPoolSize));
  lua_pop(L, 1);
  return true;
}

// The learned shape of a method, or of the same method of another metatable of its family
// (sol2 learns "sol.T:m" while "sol.const T:m", "sol.T *:m" and "sol.sol::d::u<T>:m" take
// the same arguments); null if none is learned.
const Shape* shape_of(Context& c, const Callable& callable) {
  if (c.shapes == nullptr) return nullptr;
  const auto found = c.shapes->find(callable.name);
  const auto usable = [](const Shape& shape) { return !shape.accepted.empty() || shape.without_self; };
  if (found != c.shapes->end()) return usable(found->second) ? &found->second : nullptr;
  const std::size_t colon = callable.name.rfind(':');
  if (callable.self_metatable == nullptr || colon == std::string::npos) return nullptr;
  for (const auto& [metatable, class_name] : c.class_names) {
    if (!same_family(c, callable.self_metatable, metatable)) continue;
    std::string& key = c.shape_key;  // (no heap memory owned by this frame)
    key.assign(class_name);
    key.append(callable.name, colon, std::string::npos);
    const auto other = c.shapes->find(key);
    if (other != c.shapes->end() && usable(other->second)) return &other->second;
  }
  return nullptr;
}

// Pushes the callable and its arguments; returns the number of arguments.
int push_call(lua_State* L, Context& c, std::size_t which) {
  const Callable& callable = c.callables[which];
  c.called_property = nullptr;
  push_registry(L, kFunctions);
  lua_rawgeti(L, -1, static_cast<lua_Integer>(which) + 1);
  lua_remove(L, -2);
  int nargs = 0;
  // self, for a method: mostly an object of its own class from the pool; sometimes one of
  // them finalized first (its __gc called: a dead object), an object of another class (a
  // binding that trusts self's type breaks there), any fuzzed value (nil, a foreign
  // userdata, …), or none at all.
  const Shape* shape = shape_of(c, callable);
  int how = callable.self_metatable != nullptr ? c.data->ConsumeIntegralInRange<int>(0, 7) : 0;
  if (shape != nullptr && shape->without_self && how < 5) how = 0;  // a static: no self, mostly
  if (how != 0) {
    push_registry(L, kPool);
    bool found = false;
    for (int slot = 1; slot <= kPoolSize && !found && how != 7; ++slot) {
      lua_rawgeti(L, -1, slot);
      const void* mt = metatable_of(L, -1);
      if (how == 6 ? (mt != nullptr && mt != callable.self_metatable && lua_isuserdata(L, -1))
                   : mt == callable.self_metatable || (mt != nullptr && same_family(c, callable.self_metatable, mt)))
        found = true;
      else
        lua_pop(L, 1);
    }
    if (!found && how != 6 && how != 7 && construct_object(L, c, callable.self_metatable)) found = true;
    if (found) {
      lua_remove(L, -2);
      // (Not when the class's __gc is excluded: LUAHAMMER_EXCLUDE names a known bug there.)
      const std::string* class_name = how == 5 ? class_name_of(c, metatable_of(L, -1)) : nullptr;
      const bool gc_excluded = class_name != nullptr && excluded(*class_name + ":__gc");
      const int finalizer = how == 5 && !gc_excluded ? luaL_getmetafield(L, -1, "__gc") : LUA_TNIL;
      if (finalizer == LUA_TFUNCTION) {
        if (c.options->trace)
          trace(c, "  (self finalized first: its __gc called, as Lua code can through getmetatable)");
        lua_pushvalue(L, -2);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
      } else if (finalizer != LUA_TNIL) {
        lua_pop(L, 1);
      }
    } else {
      lua_pop(L, 1);
      push_value(L, c, 0);
    }
    ++nargs;
  }
  // A class's __index or __newindex function: mostly asked for a name seen in the module
  // (a property or method), then a value.
  const std::size_t colon = callable.name.rfind(':');
  const bool accessor =
      colon != std::string::npos && (callable.name.compare(colon, std::string::npos, ":__index") == 0 ||
                                     callable.name.compare(colon, std::string::npos, ":__newindex") == 0);
  if (accessor && !c.candidates.empty() && c.data->ConsumeIntegralInRange<int>(0, 3) != 0) {
    // Half the time a learned property of the class (and a value of its shape), else any name.
    // The properties learned for its class, else for another metatable of its family.
    std::string& learned = c.property_prefix;  // (no heap memory owned by this frame: it may longjmp)
    auto& properties = c.properties;
    properties.clear();
    const auto collect = [&](const std::string& class_name, std::size_t length) {
      learned.assign(class_name, 0, length);
      learned += ":__newindex.";
      for (auto it = c.shapes->lower_bound(learned); it != c.shapes->end() && it->first.starts_with(learned); ++it)
        properties.emplace_back(it->first.c_str() + learned.size(), &it->second);
    };
    if (c.shapes != nullptr) {
      collect(callable.name, colon);
      for (std::size_t i = 0; i < c.class_names.size() && properties.empty(); ++i) {
        if (same_family(c, callable.self_metatable, c.class_names[i].first))
          collect(c.class_names[i].second, std::string::npos);
      }
    }
    if (!properties.empty() && c.data->ConsumeBool()) {
      const auto& [key, property] = properties[c.data->ConsumeIntegralInRange<std::size_t>(0, properties.size() - 1)];
      c.called_property = key;  // (counted apart: "<class>:__index.<property>")
      lua_pushstring(L, key);
      if (c.data->ConsumeIntegralInRange<int>(0, 3) != 0)
        push_shaped(L, c, property->accepted[0], property->classes[0]);
      else
        push_value(L, c, 0);
      return nargs + 2;
    }
    const std::string& name = c.candidates[c.data->ConsumeIntegralInRange<std::size_t>(0, c.candidates.size() - 1)];
    lua_pushlstring(L, name.data(), name.size());
    const int values = c.data->ConsumeIntegralInRange<int>(0, 2);
    for (int i = 0; i < values; ++i) push_value(L, c, 0);
    return nargs + 1 + values;
  }
  // Mostly on the learned shape (three times in four), else blind.
  if (shape != nullptr && c.data->ConsumeIntegralInRange<int>(0, 3) != 0) {
    for (std::size_t p = 0; p < shape->accepted.size(); ++p) push_shaped(L, c, shape->accepted[p], shape->classes[p]);
    const int extra = c.data->ConsumeIntegralInRange<int>(0, 1);
    for (int i = 0; i < extra; ++i) push_value(L, c, 0);
    return nargs + static_cast<int>(shape->accepted.size()) + extra;
  }
  const int extra = c.data->ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < extra; ++i) push_value(L, c, 0);
  return nargs + extra;
}

// -------------------------------------------------------------- argument errors

// The argument errors bindings raise, one row a library: the pattern, the group holding
// the argument's position (1-based, self included; 0: the message names none, as for an
// overload set that matched no argument list) and the group naming what it expected
// (0: none). A new library's message is one more row.
struct ArgErrorRow {
  const char* pattern;
  int position;
  int expected;
};
constexpr ArgErrorRow kArgErrors[] = {
    {R"(bad argument #(\d+) to '[^']*' \(([^ ()]+) expected)", 1, 2},          // Lua: luaL_typeerror, luaL_checkudata
    {R"(bad argument #(\d+))", 1, 0},                                          // Lua: luaL_argerror, other reasons
    {R"(stack index (\d+), expected ([^,]+), received)", 1, 2},                // sol2
    {R"(argument #?(\d+) (?:is|must be|expected))", 1, 0},                     // LuaBridge and others
    {R"(no matching function call takes this number of arguments)", 0, 0},     // sol2: overloads, constructors
    {R"(received nil for 'self' argument|'self' argument is lua_nil)", 0, 0},  // sol2: self missing or wrong
    {R"(incorrect number of arguments to member variable function)", 0, 0},    // sol2: a property accessor
};

struct ArgError {
  int position = 0;  // 0: not an argument error; -1: an argument error naming no position
  std::string expected;
};

ArgError parse_arg_error(const char* message) {
  static const std::vector<std::regex> patterns = [] {
    std::vector<std::regex> out;
    for (const auto& row : kArgErrors) out.emplace_back(row.pattern);
    return out;
  }();
  ArgError error;
  if (message == nullptr) return error;
  // Only the message's start: an argument error says so first, and libstdc++'s regex
  // matcher recurses per character (a message quoting a megabyte string would overflow
  // the stack).
  const char* end = message + std::min<std::size_t>(std::strlen(message), 512);
  std::cmatch m;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (std::regex_search(message, end, m, patterns[i])) {
      error.position = kArgErrors[i].position > 0 ? std::atoi(m[kArgErrors[i].position].str().c_str()) : -1;
      if (kArgErrors[i].expected > 0) error.expected = m[kArgErrors[i].expected].str();
      return error;
    }
  }
  return error;
}

// What the step calls, for the argument-check figures: the callable, and for an accessor
// given a learned property, the property too ("sol.T:__newindex.price"): a binding's
// properties are among its bound callables.
void name_called(Context& c, std::size_t which) {
  c.called = c.callables[which].name;
  if (c.called_property != nullptr) {
    c.called += '.';
    c.called += c.called_property;
  }
}

// Counts a call of c.called for the argument-check figures (--explain).
void note_check(Context& c, const char* error) {
  if (c.called.empty()) return;
  auto& [calls, passed] = c.checks[c.called];
  ++calls;
  if (parse_arg_error(error).position == 0) ++passed;
  c.called.clear();
}

// ----------------------------------------------------------------------------- steps

enum class Step { Call, CallInCoroutine, Operator, Collect, ArmFailure, Disarm, Count };

int step_call(lua_State* L) {
  Context& c = context_of(L);
  const int base = lua_gettop(L);
  if (c.callables.empty()) return 0;
  const std::size_t which = pick_callable(c, c.data->ConsumeIntegral<std::uint16_t>());
  const int nargs = push_call(L, c, which);
  name_called(c, which);
  c.step_text = c.callables[which].name + "(" + describe_stack(L, c, base + 2, base + 1 + nargs) + ")";
  trace(c, c.step_text);
  lua_call(L, nargs, LUA_MULTRET);
  note_check(c, nullptr);
  keep_results(L, c, base + 1, lua_gettop(L));
  trace(c, "  -> " + describe_stack(L, c, base + 1, lua_gettop(L)));
  return 0;
}

int step_coroutine(lua_State* L) {
  Context& c = context_of(L);
  const int base = lua_gettop(L);
  if (c.callables.empty()) return 0;
  lua_State* co = lua_newthread(L);
  const std::size_t which = pick_callable(c, c.data->ConsumeIntegral<std::uint16_t>());
  const int nargs = push_call(L, c, which);
  name_called(c, which);
  trace(c, "in a coroutine: " + c.callables[which].name + "(" + describe_stack(L, c, base + 3, base + 2 + nargs) + ")");
  if (!lua_checkstack(co, nargs + 1)) return luaL_error(L, "hammer: coroutine arguments");
  lua_xmove(L, co, nargs + 1);
  int status = LUA_YIELD;
  int results = 0;
  int args = nargs;
  for (int resume = 0; resume < kMaxResumes && status == LUA_YIELD; ++resume) {
    status = lua_resume(co, L, args, &results);
    if (status == LUA_YIELD) {
      lua_pop(co, results);
      trace(c, "  -> yielded; resuming");
      args = c.data->ConsumeIntegralInRange<int>(0, 2);
      // A coroutine that yielded from a hook has no free slot to spare: room for the
      // resume's arguments is the resumer's to make, as coroutine.resume does.
      if (!lua_checkstack(co, args)) args = 0;
      for (int i = 0; i < args; ++i) push_value(L, c, 0);
      lua_xmove(L, co, args);
    }
  }
  note_check(c, status == LUA_OK || status == LUA_YIELD ? nullptr : lua_tostring(co, -1));
  if (status == LUA_OK) {
    luaL_checkstack(L, results + 2, "hammer: results");
    lua_xmove(co, L, results);
    keep_results(L, c, base + 2, lua_gettop(L));
    trace(c, "  -> " + describe_stack(L, c, base + 2, lua_gettop(L)));
  } else if (status != LUA_YIELD) {
    trace(c, std::string("  -> error: ") +
                 (lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1) : luaL_typename(co, -1)));
  }
#if LUA_VERSION_RELEASE_NUM >= 50406
  lua_closethread(co, L);
#else
  lua_resetthread(co);
#endif
  return 0;
}

int step_operator(lua_State* L) {
  Context& c = context_of(L);
  const int base = lua_gettop(L);
  push_value(L, c, 0);
  push_value(L, c, 0);
  static const char* const names[] = {"+",  "-", "*",  "%",     "^",        "/",       "//",      "&",
                                      "|",  "~", "<<", ">>",    "unary -",  "unary ~", "..",      "#",
                                      "==", "<", "<=", "index", "newindex", "call",    "tostring"};
  const int op = c.data->ConsumeIntegralInRange<int>(0, static_cast<int>(std::size(names)) - 1);
  trace(c, std::string("operator ") + names[op] + " on " + describe_stack(L, c, base + 1, base + 2));
  if (op <= LUA_OPBNOT) {
    if (op == LUA_OPUNM || op == LUA_OPBNOT) lua_pop(L, 1);
    lua_arith(L, op);
  } else if (op == 14) {
    lua_concat(L, 2);
  } else if (op == 15) {
    lua_len(L, base + 1);
  } else if (op <= 18) {
    lua_pushboolean(L, lua_compare(L, base + 1, base + 2, op - 16));
  } else if (op == 19) {
    lua_gettable(L, base + 1);
  } else if (op == 20) {
    // A "__" key set on a table may change a metatable: the finalizer ledger leaves it be.
    if (lua_istable(L, base + 1) && lua_type(L, base + 2) == LUA_TSTRING &&
        std::strncmp(lua_tostring(L, base + 2), "__", 2) == 0)
      c.touched.push_back(lua_topointer(L, base + 1));
    push_value(L, c, 0);
    lua_settable(L, base + 1);
  } else if (op == 21) {
    lua_call(L, 1, LUA_MULTRET);
  } else {
    luaL_tolstring(L, base + 1, nullptr);
  }
  keep_results(L, c, base + 1, lua_gettop(L));
  return 0;
}

// -------------------------------------------------------------------------- set-up

int setup(lua_State* L) {
  Context& c = context_of(L);
  open_safe_libraries(L);
  apply_sandbox(L);  // the same sandbox as every fuzzed state's (core/sandbox.hpp)
  lua_createtable(L, kPoolSize, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, kPool);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kFunctions);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kClassTables);
  if (luaL_loadbufferx(L, kHelperSource, sizeof kHelperSource - 1, "=module_fuzz", "t") != LUA_OK) lua_error(L);
  lua_call(L, 0, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, kHelpers);

  luaL_requiref(L, c.module->name, c.module->open, 1);
  if (lua_istable(L, -1)) {
    c.prefixes[0] = std::string(c.module->name) + ".";
    add_functions_of(L, c, -1, nullptr, 0);
  } else if (lua_isfunction(L, -1)) {
    push_registry(L, kFunctions);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    c.callables.push_back({c.module->name, nullptr});
  }
  discover_registry(L, c);
  probe_class_tables(L, c);
  // The module value itself seeds the pool (its constants and sentinels, like cjson.null,
  // are reached through it by the index operator).
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kModule);
  push_registry(L, kPool);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, 1);
  lua_pop(L, 2);
  return 0;
}

// Lua's own call discipline keeps this boundary balanced (a module's stack misuse trips
// Lua's API checks first), so a mismatch here is a bug of this file, reported as such.
void check_balance(lua_State* L, int expected, const Context& c, const char* what) {
  if (lua_gettop(L) != expected) {
    violation("harness", std::to_string(lua_gettop(L) - expected) + " value(s) off at the module boundary after " +
                             what + " (step " + std::to_string(c.step) + ": " + c.step_text + ")");
  }
}

// A state for the context's module: its allocator, the context in the extra space,
// warnings off, the libraries, helpers and module opened and its API discovered.
lua_State* open_module_state(Context& c) {
  lua_State* L = lua_newstate(c.allocator.function(), c.allocator.data());
  if (L == nullptr) return nullptr;
  // Lua calling a finalizer is never refused memory: a memory error there drops the
  // finalizer for good (lgc.c GCTM), and whatever it would have freed (an expat parser,
  // a malloc'd buffer) looks leaked by the module. Lua holds this for the whole call, so
  // the module's __gc body is spared too; every other call of the module still fails.
  c.allocator.spare_while([](void* state) { return lua_ledgers::running_finalizer(static_cast<lua_State*>(state)); },
                          L);
  *static_cast<Context**>(lua_getextraspace(L)) = &c;
  lua_ledgers::watch(L);
  lua_setwarnf(L, nullptr, nullptr);
  lua_pushcfunction(L, setup);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    trace(c, std::string("opening the module failed: ") + (lua_isstring(L, -1) ? lua_tostring(L, -1) : "?"));
    lua_pop(L, 1);
  }
  check_balance(L, 0, c, "opening the module");
  return L;
}

// Closes a state open_module_state made; its allocator no longer asks it about finalizers.
void close_module_state(Context& c, lua_State* L) {
  lua_close(L);
  c.allocator.spare_while(nullptr, nullptr);
}

// ------------------------------------------------------------------- shape learning

// One attempt: callable i called with self (if a method and a sample exists) and the
// values at `args` (absolute indices); the error message, or "" when it returned. The
// values it returns that have a class become that class's sample object.
std::string attempt(lua_State* L, Context& c, std::size_t i, int self, const std::vector<int>& args) {
  const int base = lua_gettop(L);
  push_registry(L, kFunctions);
  lua_rawgeti(L, -1, static_cast<lua_Integer>(i) + 1);
  lua_remove(L, -2);
  if (self != 0) lua_pushvalue(L, self);
  for (int a : args) lua_pushvalue(L, a);
  c.instructions = 0;
  const int status = lua_pcall(L, static_cast<int>(args.size()) + (self != 0 ? 1 : 0), LUA_MULTRET, 0);
  std::string error;
  if (status != LUA_OK) {
    error = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object)";
  } else {
    push_registry(L, kSamples);
    const int samples = lua_gettop(L);
    for (int r = base + 1; r < samples; ++r) {
      discover_value(L, c, r);  // its class's methods (an __index function probed) join the callables
      if (!lua_getmetatable(L, r)) continue;
      const void* mt = lua_topointer(L, -1);
      if (lua_isuserdata(L, r) && lua_getfield(L, -1, "__name") == LUA_TSTRING) {
        std::string made = c.callables[i].name + "\t" + lua_tostring(L, -1);
        if (std::find(c.constructs.begin(), c.constructs.end(), made) == c.constructs.end())
          c.constructs.push_back(made);
      }
      lua_settop(L, samples);
      if (lua_rawgetp(L, samples, mt) == LUA_TNIL) {  // samples[mt] = the first value of that class
        lua_pushvalue(L, r);
        lua_rawsetp(L, samples, mt);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, base);
  return error;
}

// Learns what each callable's argument checks accept: position after position, each kind
// of value is tried (with the positions before it filled by a value they accepted); an
// argument error naming that position means no. Stops at the first position that takes
// every kind (not checked) or none. Deterministic: the same module gives the same shapes,
// so a replay in a fresh process draws as the fuzzer did.
// How long learning waits for one callable: 10 seconds, or LUAHAMMER_LEARN_TIMEOUT (1 to
// 3600); read once per process.
unsigned learn_seconds_per_callable() {
  static const unsigned seconds = [] {
    const char* env = std::getenv("LUAHAMMER_LEARN_TIMEOUT");
    const unsigned long given = env != nullptr ? std::strtoul(env, nullptr, 10) : 0;
    return given >= 1 && given <= 3600 ? static_cast<unsigned>(given) : 10u;
  }();
  return seconds;
}

// Writes a line to the parent (learn_in_child): "try <name>" before a callable is learned,
// "shape <name>\t<mask>:<class>\t…" after.
void tell(int fd, const std::string& line) {
  std::string text = line + "\n";
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// A context that reads no input, with the default options: for what is learned from the
// module alone (its API, its argument shapes).
struct InputlessContext {
  explicit InputlessContext(const ModuleSpec& module) {
    c.module = &module;
    c.options = &options;
    c.data = &provider;
  }
  ModuleRunOptions options;
  std::uint8_t nothing = 0;
  FuzzedDataProvider provider{&nothing, 0};
  Context c;
};

// A class's properties, through its __newindex function (callable i, on the sample object
// at `self`): each name seen in the module is assigned a value of each kind; a name some
// kinds pass and some fail with an argument error on the value is a property of that
// shape ("shape <Class>:__newindex.<name>\t<mask>:"). Names no kind passes are not
// properties; names every kind passes are not checked.
void learn_properties(lua_State* L, Context& c, std::size_t i, int self, int fd) {
  sort_candidates(c);
  const std::vector<std::string> names = c.candidates;  // a copy: attempts may discover more names
  std::size_t probes = 0;
  const unsigned every = (1u << kObject) - 1;
  for (const std::string& name : names) {
    if (name.rfind("__", 0) == 0 || probes++ >= kMaxProbes) continue;
    lua_pushlstring(L, name.data(), name.size());
    const int key = lua_gettop(L);
    unsigned mask = 0;
    bool checked = false;
    for (unsigned k = kNil; k < kObject; ++k) {
      const std::string error = attempt(L, c, i, self, {key, static_cast<int>(k) + 1});
      if (error.empty()) {
        mask |= 1u << k;
      } else if (parse_arg_error(error.c_str()).position == 3) {
        checked = true;
      }
    }
    lua_pop(L, 1);
    if (checked && mask != 0 && mask != every)
      tell(fd, "shape " + c.callables[i].name + "." + name + "\t" + std::to_string(mask) + ":");
  }
}

void learn_shapes(const ModuleSpec& module, const std::vector<std::string>& skip, int fd) {
  InputlessContext inputless(module);
  Context& c = inputless.c;
  c.allocator.set_byte_limit(inputless.options.byte_limit);
  lua_State* L = open_module_state(c);
  if (L == nullptr) return;
  install_hook(L, c);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kSamples);
  // The values tried, at fixed indices 1..kKinds-1 (objects come from the samples).
  lua_pushnil(L);
  lua_pushboolean(L, 1);
  lua_pushinteger(L, 1);
  lua_pushnumber(L, 0.5);
  lua_pushliteral(L, ".");  // a string, and a path that exists (the scratch folder)
  lua_newtable(L);
  lua_pushcfunction(L, c_identity);
  const int top = lua_gettop(L);
  for (int pass = 0; pass < 2; ++pass) {  // functions first: their results are the methods' selves
    for (std::size_t i = 0; i < c.callables.size(); ++i) {
      const Callable callable = c.callables[i];  // a copy: attempts may discover more callables
      if ((callable.self_metatable != nullptr) != (pass == 1)) continue;
      // Metamethods take what Lua gives them, and __gc or __close called on the one
      // sample object would spoil it for the methods (or find a bug here, before any input).
      // A class's __newindex function is the exception: its properties are learned.
      const bool setter = callable.name.size() > 11 && callable.name.ends_with(":__newindex");
      if (callable.name.find(":__") != std::string::npos && !setter) continue;
      if (std::find(skip.begin(), skip.end(), callable.name) != skip.end()) continue;
      tell(fd, "try " + callable.name);
      // A callable that waits (a socket's receive, a sleep) would hold learning, and the
      // fuzzer, for good: after learn_seconds_per_callable() the child dies here and
      // learning starts again without it, as for a crash.
      ::alarm(learn_seconds_per_callable());
      int self = 0;
      if (callable.self_metatable != nullptr) {
        push_registry(L, kSamples);
        lua_rawgetp(L, -1, callable.self_metatable);
        lua_remove(L, -2);
        if (lua_isnil(L, -1)) {
          lua_settop(L, top);
          continue;  // no object of its class to call it on
        }
        self = lua_gettop(L);
      }
      if (setter) {
        learn_properties(L, c, i, self, fd);
        lua_settop(L, top);
        continue;
      }
      // The sample objects of every class, as candidates for object arguments.
      const int objects = lua_gettop(L) + 1;
      push_registry(L, kSamples);
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) lua_insert(L, -3);  // leaves each value below the table
      lua_pop(L, 1);
      const int objects_end = lua_gettop(L);
      Shape shape;
      std::vector<int> chosen;
      bool returned = false;  // some attempt returned without an error
      const auto learn = [&] {
        const int first = self != 0 ? 2 : 1;
        for (int p = 0; p < 4; ++p) {
          unsigned mask = 0;
          std::string class_name;
          int object = 0;  // the first object accepted
          const int position = first + p;
          auto accepts = [&](int value) {
            chosen.push_back(value);
            const std::string error = attempt(L, c, i, self, chosen);
            chosen.pop_back();
            returned = returned || error.empty();
            // An argument error naming no position (an overload set's "no matching function")
            // refuses this argument list: the kind is not accepted here either.
            const int refused = parse_arg_error(error.empty() ? nullptr : error.c_str()).position;
            return refused != position && refused != -1;
          };
          for (unsigned k = kNil; k < kObject; ++k)
            if (accepts(static_cast<int>(k) + 1)) mask |= 1u << k;
          for (int o = objects; o <= objects_end && object == 0; ++o) {
            if (!accepts(o)) continue;
            mask |= 1u << kObject;
            object = o;
            lua_getmetatable(L, o);
            if (lua_getfield(L, -1, "__name") == LUA_TSTRING) class_name = lua_tostring(L, -1);
            lua_pop(L, 2);
          }
          const unsigned every = (1u << kObject) - 1;
          if (mask == 0 || (mask & every) == every) break;  // takes nothing we have, or is not checked
          shape.accepted.push_back(mask);
          shape.classes.push_back(class_name);
          // The value later positions are tried with: an accepted one, not nil if possible.
          int pick = object != 0 ? object : 1;
          for (unsigned k : {kFunction, kBoolean, kFloat, kTable, kString, kInteger})
            if ((mask & (1u << k)) != 0) pick = static_cast<int>(k) + 1;
          chosen.push_back(pick);
        }
        // Errors that name no position (an overload set's "no matching function", sol2's
        // constructors): the first of a few whole argument lists that returns is the shape.
        if (shape.accepted.empty() && !returned) {
          static constexpr unsigned kTried[] = {kString, kInteger, kTable, kFunction};
          for (std::size_t arity = 1; arity <= 3 && shape.accepted.empty(); ++arity) {
            std::size_t combinations = 1;
            for (std::size_t a = 0; a < arity; ++a) combinations *= std::size(kTried);
            for (std::size_t n = 0; n < combinations && shape.accepted.empty(); ++n) {
              chosen.clear();
              for (std::size_t a = 0, rest = n; a < arity; ++a, rest /= std::size(kTried))
                chosen.push_back(static_cast<int>(kTried[rest % std::size(kTried)]) + 1);
              if (!attempt(L, c, i, self, chosen).empty()) continue;
              returned = true;
              for (int value : chosen) {
                shape.accepted.push_back(1u << (value - 1));
                shape.classes.emplace_back();
              }
            }
          }
        }
      };
      learn();
      // A function in a metatable that needs no self (sol2 puts the class's "new" there):
      // every attempt with an object first refused, and one without it returns.
      if (self != 0 && shape.accepted.empty() && !returned) {
        self = 0;
        chosen.clear();
        learn();
        shape.without_self = returned;
      }
      lua_settop(L, top);
      if (!shape.accepted.empty()) {
        std::string line = "shape " + callable.name;
        for (std::size_t p = 0; p < shape.accepted.size(); ++p)
          line += "\t" + std::to_string(shape.accepted[p]) + ":" + shape.classes[p];
        tell(fd, line);
      }
      if (shape.without_self) tell(fd, "static " + callable.name);
    }
  }
  for (const auto& callable : c.callables) tell(fd, "callable " + callable.name);
  for (const auto& made : c.constructs) tell(fd, "constructs " + made);
  close_module_state(c, L);
}

extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

// Learning calls the module, so a bug of the module may end it: it runs in a child process
// (output silenced) that reports each shape as it is learned. A callable the child died on
// is left unlearned (the fuzzer will find its bug from an input) and learning starts over
// without it. Deterministic: the same module dies on the same callables.
// What learning found: the argument shapes, and the facts of the module's object model
// (every callable discovered, including methods behind __index functions; which callables
// returned an object of which class).
struct Learned {
  std::map<std::string, Shape> shapes;
  std::vector<std::string> callables;
  std::vector<std::pair<std::string, std::string>> constructs;
};

Learned learn_in_child(const ModuleSpec& module) {
  Learned learned;
  auto& shapes = learned.shapes;
  std::vector<std::string> skip;
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fds[2];
    if (::pipe(fds) != 0) return learned;
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return learned;
    }
    if (pid == 0) {
      // The child dies quietly: no crash file from a fuzzing engine's handlers (they would
      // save the parent's current input), no report.
      if (&__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(nullptr);
      for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGALRM}) std::signal(sig, SIG_DFL);
      ::close(fds[0]);
      const int quiet = ::open("/dev/null", O_WRONLY);
      if (quiet >= 0) {
        ::dup2(quiet, 1);
        ::dup2(quiet, 2);
      }
      learn_shapes(module, skip, fds[1]);
      ::_exit(0);
    }
    ::close(fds[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string last_try;
    for (std::size_t start = 0; start < text.size();) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) break;  // a line cut off by the child's death
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      if (line.rfind("try ", 0) == 0) {
        last_try = line.substr(4);
      } else if (line.rfind("shape ", 0) == 0) {
        std::size_t tab = line.find('\t');
        const std::string name = line.substr(6, tab - 6);
        Shape shape;
        while (tab != std::string::npos) {
          const std::size_t next = line.find('\t', tab + 1);
          const std::string field =
              line.substr(tab + 1, next == std::string::npos ? std::string::npos : next - tab - 1);
          const std::size_t colon = field.find(':');
          shape.accepted.push_back(static_cast<unsigned>(std::strtoul(field.substr(0, colon).c_str(), nullptr, 10)));
          shape.classes.push_back(colon == std::string::npos ? "" : field.substr(colon + 1));
          tab = next;
        }
        shapes[name] = shape;
        last_try.clear();
      } else if (line.rfind("static ", 0) == 0) {
        shapes[line.substr(7)].without_self = true;
      } else if (line.rfind("callable ", 0) == 0) {
        learned.callables.push_back(line.substr(9));
      } else if (line.rfind("constructs ", 0) == 0) {
        const std::size_t tab = line.find('\t');
        if (tab != std::string::npos) learned.constructs.emplace_back(line.substr(11, tab - 11), line.substr(tab + 1));
      }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return learned;
    if (last_try.empty() || std::find(skip.begin(), skip.end(), last_try) != skip.end()) return learned;
    skip.push_back(last_try);  // it died there: go on without it
    learned.callables.clear();
    learned.constructs.clear();
  }
  return learned;
}

const Learned& learned_of(const ModuleSpec& module) {
  // Keyed by what the module is, not where its spec lives (a spec made on the stack may
  // reuse another's address).
  static std::map<std::pair<std::string, lua_CFunction>, Learned> learned;
  const std::pair<std::string, lua_CFunction> key{module.name, module.open};
  auto found = learned.find(key);
  if (found == learned.end()) found = learned.emplace(key, learn_in_child(module)).first;
  return found->second;
}

const std::map<std::string, Shape>& shapes_of(const ModuleSpec& module) { return learned_of(module).shapes; }

const char* const kKindNames[] = {"nil", "boolean", "integer", "float", "string", "table", "function", "object"};

}  // namespace

namespace {
std::string shape_text(const Shape& shape) {
  std::string text = "(";
  for (std::size_t p = 0; p < shape.accepted.size(); ++p) {
    if (p > 0) text += ", ";
    std::string kinds;
    for (unsigned k = 0; k < kKinds; ++k) {
      if ((shape.accepted[p] & (1u << k)) == 0) continue;
      if (!kinds.empty()) kinds += "|";
      kinds += k == kObject && !shape.classes[p].empty() ? shape.classes[p] : kKindNames[k];
    }
    text += kinds;
  }
  return text + (shape.without_self ? "), no self" : ")");
}
}  // namespace

std::vector<std::string> learned_argument_shapes(const ModuleSpec& module) {
  std::vector<std::string> out;
  for (const auto& [name, shape] : shapes_of(module)) out.push_back(name + shape_text(shape));
  return out;
}

void learn_module(const ModuleSpec& module) { learned_of(module); }

std::vector<std::string> describe_module_model(const ModuleSpec& module) {
  const Learned& learned = learned_of(module);
  auto with_shape = [&](const std::string& callable, const std::string& shown) {
    const auto found = learned.shapes.find(callable);
    return shown + (found != learned.shapes.end() ? shape_text(found->second) : std::string());
  };
  std::vector<std::string> out;
  std::string functions;
  std::map<std::string, std::array<std::string, 4>> classes;  // constructors, methods, properties, metamethods
  auto append = [](std::string& list, const std::string& item) { list += (list.empty() ? "" : ", ") + item; };
  // The class ends at the last ':' that is not half of a C++ "::" (sol2 names its
  // classes after the C++ types).
  auto class_end = [](const std::string& name) {
    for (std::size_t i = name.size(); i-- > 0;)
      if (name[i] == ':' && (i + 1 == name.size() || name[i + 1] != ':') && (i == 0 || name[i - 1] != ':')) return i;
    return std::string::npos;
  };
  for (const auto& name : learned.callables) {
    const std::size_t colon = class_end(name);
    if (colon == std::string::npos) {
      append(functions, with_shape(name, name));
      continue;
    }
    const std::string member = name.substr(colon + 1);
    auto& lists = classes[name.substr(0, colon)];
    append(lists[member.rfind("__", 0) == 0 ? 3 : 1], with_shape(name, member));
  }
  for (const auto& [callable, class_name] : learned.constructs) append(classes[class_name][0], callable);
  for (const auto& [name, shape] : learned.shapes) {
    const std::size_t cut = name.find(":__newindex.");
    if (cut != std::string::npos) append(classes[name.substr(0, cut)][2], name.substr(cut + 12) + shape_text(shape));
  }
  out.push_back("functions: " + (functions.empty() ? std::string("none") : functions));
  for (const auto& [name, lists] : classes) {
    out.push_back("class " + name);
    static const char* const kinds[] = {"constructed by", "methods", "properties", "metamethods"};
    for (std::size_t k = 0; k < lists.size(); ++k)
      if (!lists[k].empty()) out.push_back(std::string("  ") + kinds[k] + ": " + lists[k]);
  }
  return out;
}

namespace {

// The plans an input starts with (hook, GC, allocation failures), decoded; applied only
// when `apply` (a repeat of the input decodes them again to reach its steps).
GcPlan decode_plans(lua_State* L, Context& c, FuzzedDataProvider& provider, bool apply) {
  const auto flags = provider.ConsumeIntegral<std::uint8_t>();
  GcPlan gc;
  if ((flags & 1) != 0) {
    c.hook.emplace(HookPlan::decode(provider));
    if (apply) trace(c, c.hook->plan().describe());
  }
  if ((flags & 2) != 0) {
    gc = GcPlan::decode(provider);
    if (apply) {
      trace(c, gc.describe());
      LuaGc{L}.set_generational(gc.generational);
    }
  }
  if ((flags & 4) != 0) {
    const FailPlan fail = FailPlan::decode(provider);
    if (apply) {
      trace(c, fail.describe());
      fail.apply(c.allocator);
      c.failures_armed = true;
    }
  }
  return gc;
}

void run_steps(lua_State* L, Context& c, FuzzedDataProvider& provider, const GcPlan& gc) {
  LuaGc collector{L};
  for (c.step = 1; c.step <= c.options->max_steps && provider.remaining_bytes() > 0; ++c.step) {
    const auto step = static_cast<Step>(provider.ConsumeIntegralInRange<int>(0, 9) % static_cast<int>(Step::Count));
    c.step_text.clear();
    c.constructing = 0;
    if (c.options->trace) std::printf("step %d:\n", c.step);
    switch (step) {
      case Step::Call:
      case Step::CallInCoroutine:
      case Step::Operator: {
        lua_pushcfunction(L, step == Step::Call ? step_call : step == Step::Operator ? step_operator : step_coroutine);
        const int status = lua_pcall(L, 0, 0, 0);
        check_balance(L, status == LUA_OK ? 0 : 1, c, "a step");
        note_check(c, status == LUA_OK ? nullptr : lua_tostring(L, -1));  // a call that raised
        if (status != LUA_OK) {
          trace(c, std::string("  -> error: ") +
                       (lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1)));
          lua_pop(L, 1);
        }
        break;
      }
      case Step::Collect:
        trace(c, "full garbage collection");
        lua_gc(L, LUA_GCCOLLECT);
        break;
      case Step::ArmFailure: {
        const FailPlan fail = FailPlan::decode(provider);
        trace(c, fail.describe());
        fail.apply(c.allocator);
        c.failures_armed = true;
        break;
      }
      case Step::Disarm:
      case Step::Count:
        trace(c, "allocations succeed again");
        c.allocator.disarm();
        break;
    }
    gc.between_ops(collector, static_cast<std::uint64_t>(c.step));
  }
}

// After the steps (the hook off, allocations succeeding): two full collections, so that
// only reachable objects are left (finalizers run in the first, their objects go in the
// second); then, when `drop`, every object the input made is dropped (the pool holds the
// module value again) and collected the same way.
int collect_twice(lua_State* L) {
  if (lua_toboolean(L, 1)) {
    lua_createtable(L, kPoolSize, 0);
    push_registry(L, kModule);
    lua_rawseti(L, -2, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, kPool);
  }
  lua_gc(L, LUA_GCCOLLECT);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}

void settle(lua_State* L, Context& c, bool drop) {
  c.allocator.disarm();
  lua_sethook(L, nullptr, 0, 0);
  lua_pushcfunction(L, collect_twice);
  lua_pushboolean(L, drop ? 1 : 0);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
}

// The name of a metatable: the registry key it is registered under, else its __name.
std::string metatable_name(lua_State* L, const void* mt) {
  std::string name = "(a metatable not in the registry)";
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_topointer(L, -1) == mt) name = lua_tostring(L, -2);
    lua_pop(L, 1);
  }
  return name;
}

// The finalizer ledger: a userdata whose class has a __gc that Lua will never call.
void check_finalizers(lua_State* L, const Context& c) {
  for (const auto& found : lua_ledgers::unfinalized_userdata(L, c.touched)) {
    violation("finalizers", std::to_string(found.count) + " userdata of class " + metatable_name(L, found.metatable) +
                                " will never be finalized: their metatable has a __gc, but got it after it was set "
                                "on them (Lua marks an object for finalization only when its metatable is set)");
  }
}

// A fresh state runs the input; the in-state ledger checks follow the steps.
void run_once(const ModuleSpec& module, const std::uint8_t* data, std::size_t size, const ModuleRunOptions& options) {
  const std::map<std::string, Shape>& shapes = shapes_of(module);
  FuzzedDataProvider provider(data, size);
  Context c;
  c.module = &module;
  c.options = &options;
  c.data = &provider;
  c.shapes = &shapes;
  c.allocator.set_byte_limit(options.byte_limit);
  lua_State* L = open_module_state(c);
  if (L == nullptr) return;
  trace(c, "discovered " + std::to_string(c.callables.size()) + " function(s), argument shapes of " +
               std::to_string(shapes.size()));
  // Constructors, from what learning saw return objects (callables that need no self).
  for (const auto& [callable, class_name] : learned_of(module).constructs) {
    for (std::size_t i = 0; i < c.callables.size(); ++i)
      if (c.callables[i].name == callable && c.callables[i].self_metatable == nullptr)
        c.constructors.emplace_back(class_name, i);
    for (const auto& [metatable, name] : c.class_names)  // Lua code can make one: held
      if (name == class_name) c.held.push_back(metatable);
  }
  const std::size_t opened = lua_ledgers::live_references(L);
  const GcPlan gc = decode_plans(L, c, provider, true);  // allocation failures count from here
  install_hook(L, c);
  run_steps(L, c, provider, gc);
  settle(L, c, false);
  check_finalizers(L, c);  // on the objects still reachable: the others are gone
  settle(L, c, true);

  // The registry ledger: references still taken once every object is dropped are either
  // the module's to keep (a cache, a handler it holds) or lost. Lost ones grow with each
  // repeat of the same calls: two more repeats (in this state, no failures injected, the
  // same hook plan) must each leave more than the one before.
  std::size_t references = lua_ledgers::live_references(L);
  if (references > opened && !c.failures_armed) {
    ModuleRunOptions quiet = options;
    quiet.trace = false;
    c.options = &quiet;
    std::size_t grew = 0;
    int repeats_grown = 0;
    for (int repeat = 0; repeat < 2; ++repeat) {
      FuzzedDataProvider again(data, size);
      c.data = &again;
      c.hook.reset();
      c.instructions = 0;
      const GcPlan same = decode_plans(L, c, again, false);
      install_hook(L, c);
      run_steps(L, c, again, same);
      settle(L, c, true);
      const std::size_t now = lua_ledgers::live_references(L);
      if (now > references) {
        ++repeats_grown;
        grew = now - references;
      }
      references = now;
    }
    c.options = &options;
    c.data = &provider;
    if (repeats_grown == 2) {
      violation("registry-references", "each repeat of this input's calls leaves " + std::to_string(grew) +
                                           " more registry reference(s) taken, with every object dropped and collected "
                                           "(luaL_ref without a luaL_unref)");
    }
  }
  c.allocator.set_byte_limit(0);
  close_module_state(c, L);
  check_memory_returned(c.allocator, "lua_close");
  if (options.trace && !c.checks.empty()) {
    std::printf("argument checks (calls past the check / calls):\n");
    for (const auto& [name, counts] : c.checks) std::printf("  %s: %d/%d\n", name.c_str(), counts.second, counts.first);
  }
}

extern "C" std::size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));

}  // namespace

int run_module_input(const ModuleSpec& module, const std::uint8_t* data, std::size_t size,
                     const ModuleRunOptions& options) {
  if (&__sanitizer_get_current_allocated_bytes == nullptr) {
    run_once(module, data, size, options);
    return 0;
  }
  // The heap ledger (the sanitizer allocator's own count): once lua_close returned, all a
  // state's memory is given back, Lua's and the module's. Heap kept across states is a
  // process-wide cache (filled once) or a leak that stays reachable, invisible to
  // LeakSanitizer (an allocation lost per C++ exception, a global list that only grows):
  // the runs of the same input that follow must not each keep more. A bounded cache fills
  // and stops (OpenSSL keeps up to 16 errors per thread, one more per failing call a module
  // leaves uncleared): 24 more runs, all growing, before it counts. Only inputs that grew
  // once pay for them.
  std::size_t before = __sanitizer_get_current_allocated_bytes();
  run_once(module, data, size, options);
  std::size_t after = __sanitizer_get_current_allocated_bytes();
  if (after <= before) return 0;
  ModuleRunOptions quiet = options;
  quiet.trace = false;
  for (int repeat = 0; repeat < 24; ++repeat) {
    before = __sanitizer_get_current_allocated_bytes();
    run_once(module, data, size, quiet);
    after = __sanitizer_get_current_allocated_bytes();
    if (after <= before) return 0;
  }
  violation("memory-growth", "each run of this input on a fresh state keeps " + std::to_string(after - before) +
                                 " more heap byte(s) after lua_close: a leak that stays reachable (a global "
                                 "cache that only grows, an allocation lost per error)");
  return 0;
}

std::vector<std::string> discover_module_api(const ModuleSpec& module) {
  InputlessContext inputless(module);
  Context& c = inputless.c;
  lua_State* L = open_module_state(c);
  std::vector<std::string> names;
  if (L == nullptr) return names;
  close_module_state(c, L);
  for (const auto& callable : c.callables) names.push_back(callable.name);
  return names;
}

}  // namespace luahammer
