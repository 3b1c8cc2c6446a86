#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"

namespace cxxlua {

// ---------------------------------------------------------------------------------------
// Reference

Reference::Reference(std::shared_ptr<StateCore> core, int ref) noexcept : core_(std::move(core)), ref_(ref) {}

Reference::Reference(const Reference& other) : core_(other.core_) {
  if (core_ == nullptr || other.ref_ == LUA_NOREF || core_->closed()) return;  // dead stays dead
  try {
    copy_from(other);
  } catch (const Error& error) {
    // The state closed between the check and the entry (another thread closed it): the
    // copy is as dead as the original.
    if (error.kind() != ErrorKind::StateClosed) throw;
  }
}

void Reference::copy_from(const Reference& other) {
  Entry entry(*core_, "Reference::copy");
  lua_State* L = entry.L();
  int ref = LUA_NOREF;
  other.push(L, core_.get());
  try {
    internal::protect(L, 1, 0, [&](lua_State* state) {
      lua_pushvalue(state, 1);
      ref = core_->take_reference(state);
      return 0;
    });
  } catch (...) {
    core_->release_reference(ref);  // taken, then a hook raised on the way out
    throw;
  }
  ref_ = ref;
}

Reference& Reference::operator=(const Reference& other) {
  if (this != &other) {
    Reference copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Reference::Reference(Reference&& other) noexcept
    : core_(std::move(other.core_)), ref_(std::exchange(other.ref_, LUA_NOREF)) {}

Reference& Reference::operator=(Reference&& other) noexcept {
  if (this != &other) {
    reset();
    // Canary ref_leak: the moved-from handle keeps its slot, so it is released twice.
    if (CXXLUA_CANARY(ref_leak)) {
      core_ = other.core_;
      ref_ = other.ref_;
      return *this;
    }
    core_ = std::move(other.core_);
    ref_ = std::exchange(other.ref_, LUA_NOREF);
  }
  return *this;
}

Reference::~Reference() { reset(); }

void Reference::reset() noexcept {
  if (core_ != nullptr && ref_ != LUA_NOREF) core_->release_reference(ref_);
  core_.reset();
  ref_ = LUA_NOREF;
}

bool Reference::state_alive() const noexcept { return core_ != nullptr && !core_->closed(); }

void Reference::throw_empty_handle() { throw Error(ErrorKind::Runtime, "use of an empty handle"); }

void Reference::push(lua_State* L, const StateCore* expected) const {
  if (core_ == nullptr) throw_empty_handle();
  if (core_->closed() || ref_ == LUA_NOREF) {
    throw Error(ErrorKind::StateClosed, "handle used after its state was closed");
  }
  if (core_.get() != expected) throw Error(ErrorKind::WrongState, "handle belongs to another state");
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref_);
}

bool Reference::same_object(const Reference& other) const {
  if (core_ == nullptr || core_ != other.core_) return false;
  Entry entry(*core_, "Reference::same_object");
  lua_State* L = entry.L();
  push(L, core_.get());
  other.push(L, core_.get());
  const bool same = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return same;
}

// ---------------------------------------------------------------------------------------
// Value

const char* type_name(Type type) noexcept {
  switch (type) {
    case Type::Nil: return "nil";
    case Type::Boolean: return "boolean";
    case Type::Integer: return "integer";
    case Type::Number: return "number";
    case Type::LightUserData: return "light userdata";
    case Type::String: return "string";
    case Type::Table: return "table";
    case Type::Function: return "function";
    case Type::Thread: return "thread";
    case Type::UserData: return "userdata";
  }
  return "?";
}

const Reference* Value::reference() const noexcept {
  return std::visit(
      [](const auto& v) -> const Reference* {
        if constexpr (std::is_base_of_v<Reference, std::decay_t<decltype(v)>>)
          return &v;
        else
          return nullptr;
      },
      v_);
}

bool Value::truthy() const noexcept {
  if (is_nil()) return false;
  if (const bool* b = get_if<bool>()) return *b;
  return true;
}

void request_yield(const StateHandle& state) noexcept { state.core()->yield_requested = true; }

namespace internal {

std::string number_to_string(const Value& value) {
  char buffer[64];
  if (const auto* i = value.get_if<lua_Integer>()) {
    std::snprintf(buffer, sizeof buffer, "%" PRId64, static_cast<int64_t>(*i));
  } else {
    // As Lua's tostring: "%.14g", plus ".0" when the result looks like an integer.
    std::snprintf(buffer, sizeof buffer, "%.14g", static_cast<double>(*value.get_if<lua_Number>()));
    if (buffer[std::strspn(buffer, "-0123456789")] == '\0') std::strcat(buffer, ".0");
  }
  return buffer;
}

void throw_conversion(const Value& value, const char* expected, int argument, const char* function) {
  // Canary longjmp_skips_dtor (sol2 #592): an argument conversion raises the Lua error
  // itself, jumping over every C++ frame of the call (the converted arguments, the
  // argument list) without running their destructors.
  if (CXXLUA_CANARY(longjmp_skips_dtor) && internal::callback_state != nullptr) {
    luaL_error(internal::callback_state, "bad argument #%d (%s expected, got %s)", argument, expected,
               value.type_name());
  }
  throw Error::conversion(expected, value.type_name(), argument, function);
}

AnyUserData userdata_argument(const Value& value, int argument, const char* function) {
  if (const auto* userdata = value.get_if<AnyUserData>()) return *userdata;
  throw Error::conversion("userdata", value.type_name(), argument, function);
}

bool table_next(StateCore& core, lua_State* L, const Table& table, Value& key, Value& value) {
  RawValue raws[2];
  int taken = 0;
  bool more = false;
  try {
    internal::protect(L, 0, 0, [&](lua_State* state) {
      table.push(state, &core);
      push_value(state, core, key);
      if (lua_next(state, -2) == 0) return 0;
      raw_from_stack(core, state, -2, raws[0]);
      taken = 1;
      raw_from_stack(core, state, -1, raws[1]);
      taken = 2;
      more = true;
      return 0;
    });
  } catch (...) {
    release_raws(core, raws, static_cast<std::size_t>(taken));
    throw;
  }
  if (!more) return false;
  const auto shared = core.shared_from_this();
  key = value_from_raw(shared, raws[0]);
  value = value_from_raw(shared, raws[1]);
  return true;
}

MultiValue call_function(StateCore& core, const Function& function, int nargs,
                         void (*push_args)(lua_State*, const StateCore&, const void*), const void* args) {
  Entry entry(core, "Function::call");
  lua_State* L = entry.L();
  std::vector<RawValue> raws;
  int taken = 0;
  try {
    internal::protect(
        L, 0, 0,
        [&](lua_State* state) {
          if (!lua_checkstack(state, nargs + 1)) luaL_error(state, "stack overflow (%d arguments)", nargs);
          function.push(state, &core);
          push_args(state, core, args);
          lua_call(state, nargs, LUA_MULTRET);
          const int count = lua_gettop(state);
          raws.resize(static_cast<std::size_t>(count));
          for (int i = 1; i <= count; ++i) {
            raw_from_stack(core, state, i, raws[static_cast<std::size_t>(i - 1)]);
            taken = i;
          }
          return 0;
        },
        /*traceback=*/true);
  } catch (...) {
    release_raws(core, raws.data(), static_cast<std::size_t>(taken));
    throw;
  }
  MultiValue results;
  results.reserve(raws.size());
  const auto shared = core.shared_from_this();
  for (const RawValue& raw : raws) results.push_back(value_from_raw(shared, raw));
  return results;
}

}  // namespace internal

// ---------------------------------------------------------------------------------------
// String, Table, Function

std::string String::to_std_string() const {
  Entry entry(core_ref(), "String::to_std_string");
  lua_State* L = entry.L();
  push(L, core_.get());
  std::size_t length = 0;
  const char* bytes = lua_tolstring(L, -1, &length);  // a string: no conversion, no allocation
  std::string out;
  try {
    out.assign(bytes, length);
  } catch (...) {
    lua_pop(L, 1);
    throw;
  }
  lua_pop(L, 1);
  return out;
}

std::size_t String::size() const {
  Entry entry(core_ref(), "String::size");
  push(entry.L(), core_.get());
  const std::size_t length = lua_rawlen(entry.L(), -1);
  lua_pop(entry.L(), 1);
  return length;
}

void Table::set_raw_function(std::string_view name, HostCallback callback) const {
  Entry entry(core_ref(), "Table::set_function");
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    push(L, core_.get());
    lua_pushlstring(L, name.data(), name.size());
    internal::push_host_function(L, callback);
    lua_settable(L, -3);
    return 0;
  });
}

lua_Integer Table::len() const {
  Entry entry(core_ref(), "Table::len");
  lua_Integer length = 0;
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    push(L, core_.get());
    lua_len(L, -1);
    int is_integer = 0;
    length = lua_tointegerx(L, -1, &is_integer);
    if (!is_integer) luaL_error(L, "object length is not an integer");
    return 0;
  });
  return length;
}

lua_Integer Table::raw_len() const {
  Entry entry(core_ref(), "Table::raw_len");
  push(entry.L(), core_.get());
  const auto length = static_cast<lua_Integer>(lua_rawlen(entry.L(), -1));
  // Canary stack_leak (sol2 #12, #717): one value left on the stack per call.
  if (!CXXLUA_CANARY(stack_leak)) lua_pop(entry.L(), 1);
  return length;
}

std::optional<Table> Table::metatable() const {
  Value result;
  {
    Entry entry(core_ref(), "Table::metatable");
    result = internal::protected_value(*core_, entry.L(), [&](lua_State* L) {
      push(L, core_.get());
      if (!lua_getmetatable(L, -1)) lua_pushnil(L);
    });
  }
  if (const auto* table = result.get_if<Table>()) return *table;
  return std::nullopt;
}

void Table::set_metatable(const std::optional<Table>& metatable) const {
  Entry entry(core_ref(), "Table::set_metatable");
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    push(L, core_.get());
    if (metatable) {
      metatable->push(L, core_.get());
    } else {
      lua_pushnil(L);
    }
    lua_setmetatable(L, -2);
    return 0;
  });
}

std::vector<std::pair<Value, Value>> Table::pairs() const {
  std::vector<std::pair<Value, Value>> out;
  Value key;
  Value value;
  for (;;) {
    Entry entry(core_ref(), "Table::pairs");
    if (!internal::table_next(*core_, entry.L(), *this, key, value)) break;
    out.emplace_back(key, value);
  }
  return out;
}

MultiValue Table::sequence_values() const {
  Entry entry(core_ref(), "Table::sequence_values");
  lua_State* L = entry.L();
  std::vector<RawValue> raws;
  int taken = 0;
  try {
    internal::protect(L, 0, 0, [&](lua_State* state) {
      push(state, core_.get());
      const auto length = static_cast<lua_Integer>(lua_rawlen(state, -1));
      raws.resize(static_cast<std::size_t>(length));
      for (lua_Integer i = 1; i <= length; ++i) {
        lua_rawgeti(state, 1, i);
        internal::raw_from_stack(*core_, state, -1, raws[static_cast<std::size_t>(i - 1)]);
        lua_pop(state, 1);
        taken = static_cast<int>(i);
      }
      return 0;
    });
  } catch (...) {
    internal::release_raws(*core_, raws.data(), static_cast<std::size_t>(taken));
    throw;
  }
  MultiValue values;
  values.reserve(raws.size());
  for (const RawValue& raw : raws) values.push_back(internal::value_from_raw(core_, raw));
  return values;
}

namespace {

const Value& referent(const Value& value) { return value; }
const Value& referent(const Value* value) { return *value; }

// Pushes each value of the `Values` at `p` (owned values or pointers to them), in order.
template <class Values>
void push_each(lua_State* L, const StateCore& core, const void* p) {
  for (const auto& value : *static_cast<const Values*>(p)) internal::push_value(L, core, referent(value));
}

}  // namespace

MultiValue Function::call_values(const MultiValue& args) const {
  return internal::call_function(core_ref(), *this, static_cast<int>(args.size()), push_each<MultiValue>, &args);
}

MultiValue Function::call_borrowed(std::span<const Value* const> args) const {
  return internal::call_function(core_ref(), *this, static_cast<int>(args.size()),
                                 push_each<std::span<const Value* const>>, &args);
}

// ---------------------------------------------------------------------------------------
// StateHandle

namespace {

template <class Make>
Value make_object(StateCore& core, const char* where, Make&& make) {
  Entry entry(core, where);
  return internal::protected_value(core, entry.L(), std::forward<Make>(make));
}

}  // namespace

Table StateHandle::globals() const {
  return std::move(*make_object(*core_, "StateHandle::globals", [](lua_State* L) {
                      lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
                    }).get_if<Table>());
}

Table StateHandle::registry() const {
  return std::move(*make_object(*core_, "StateHandle::registry", [](lua_State* L) {
                      lua_pushvalue(L, LUA_REGISTRYINDEX);
                    }).get_if<Table>());
}

Table StateHandle::create_table(int sequence_size, int record_size) const {
  return std::move(*make_object(*core_, "StateHandle::create_table", [&](lua_State* L) {
                      lua_createtable(L, sequence_size, record_size);
                    }).get_if<Table>());
}

String StateHandle::create_string(std::string_view bytes) const {
  return std::move(*make_object(*core_, "StateHandle::create_string", [&](lua_State* L) {
                      lua_pushlstring(L, bytes.data(), bytes.size());
                    }).get_if<String>());
}

Function StateHandle::load(std::string_view source, std::string_view chunkname, std::string_view mode) const {
  const std::string name(chunkname);
  const std::string mode_text(mode);
  int status = LUA_OK;
  Value result = make_object(*core_, "StateHandle::load", [&](lua_State* L) {
    status = luaL_loadbufferx(L, source.data(), source.size(), name.c_str(), mode_text.c_str());
  });
  if (status != LUA_OK) {
    std::string message;
    if (const auto* text = result.get_if<String>()) message = text->to_std_string();
    throw Error(status == LUA_ERRMEM ? ErrorKind::Memory : ErrorKind::Syntax, message);
  }
  return std::move(*result.get_if<Function>());
}

MultiValue StateHandle::exec(std::string_view source, std::string_view chunkname) const {
  return load(source, chunkname).call();
}

Function StateHandle::create_raw_function(HostCallback callback) const {
  return std::move(*make_object(*core_, "StateHandle::create_function", [&](lua_State* L) {
                      internal::push_host_function(L, callback);
                    }).get_if<Function>());
}

void StateHandle::collect_garbage() const {
  Entry entry(*core_, "StateHandle::collect_garbage");
  internal::protect(entry.L(), 0, 0, [](lua_State* L) {
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
  });
}

bool StateHandle::gc_step(int kilobytes) const {
  Entry entry(*core_, "StateHandle::gc_step");
  bool finished = false;
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    finished = lua_gc(L, LUA_GCSTEP, kilobytes) != 0;
    return 0;
  });
  return finished;
}

void StateHandle::set_gc_incremental(int pause, int step_multiplier, int step_size) const {
  Entry entry(*core_, "StateHandle::set_gc_incremental");
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    lua_gc(L, LUA_GCINC, pause, step_multiplier, step_size);
    return 0;
  });
}

void StateHandle::set_gc_generational(int minor_multiplier, int major_multiplier) const {
  Entry entry(*core_, "StateHandle::set_gc_generational");
  // Entering generational mode runs a full cycle, finalizers included: protected.
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    lua_gc(L, LUA_GCGEN, minor_multiplier, major_multiplier);
    return 0;
  });
}

}  // namespace cxxlua
