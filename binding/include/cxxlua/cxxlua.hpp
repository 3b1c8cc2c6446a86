// cxxlua: a compact C++20 binding for Lua 5.4, in the spirit of Rust's mlua.
// Include this header; it pulls in every part and the template definitions.
#pragma once

#include <exception>
#include <vector>

#include "cxxlua/canary.hpp"
#include "cxxlua/convert.hpp"
#include "cxxlua/error.hpp"
#include "cxxlua/executor.hpp"
#include "cxxlua/hooks.hpp"
#include "cxxlua/internal/core.hpp"
#include "cxxlua/state.hpp"
#include "cxxlua/userdata.hpp"
#include "cxxlua/value.hpp"

namespace cxxlua {

// True for the private marker an async function yields while pending; tools use it to
// check the marker never reaches user code.
bool is_pending_marker(const Value& value) noexcept;

template <class T>
Value to_value(const StateHandle& state, T&& value) {
  using D = std::decay_t<T>;
  if constexpr (has_convert<D>::value) {
    return to_value(state, Convert<D>::to_lua(value));
  } else if constexpr (std::is_same_v<D, Value>) {
    return std::forward<T>(value);
  } else if constexpr (std::is_same_v<D, std::nullptr_t>) {
    return Value();
  } else if constexpr (std::is_same_v<D, bool>) {
    return Value(value);
  } else if constexpr (std::is_integral_v<D>) {
    if constexpr (std::is_unsigned_v<D> && sizeof(D) >= sizeof(lua_Integer)) {
      if (value > static_cast<D>(std::numeric_limits<lua_Integer>::max())) {
        throw Error(ErrorKind::Conversion, "integer " + std::to_string(value) + " is out of range for Lua");
      }
    }
    return Value(static_cast<lua_Integer>(value));
  } else if constexpr (std::is_floating_point_v<D>) {
    return Value(static_cast<lua_Number>(value));
  } else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
    if (value == nullptr) return Value();
    return Value(state.create_string(value));
  } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
    return Value(state.create_string(std::string_view(value)));
  } else if constexpr (std::is_base_of_v<Reference, D> || std::is_same_v<D, LightUserData>) {
    return Value(std::forward<T>(value));
  } else if constexpr (is_optional<D>::value) {
    if (!value) return Value();
    return to_value(state, *std::forward<T>(value));
  } else {
    return Value(state.template create_userdata<D>(std::forward<T>(value)));
  }
}

// ---------------------------------------------------------------------------------------
// Table

template <class K, class V>
void Table::set(const K& key, const V& value) const {
  internal::Entry entry(core_ref(), "Table::set");
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    push(L, core_.get());
    push_native(L, *core_, key);
    push_native(L, *core_, value);
    lua_settable(L, -3);
    return 0;
  });
}

template <class K, class V>
void Table::raw_set(const K& key, const V& value) const {
  internal::Entry entry(core_ref(), "Table::raw_set");
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    push(L, core_.get());
    push_native(L, *core_, key);
    push_native(L, *core_, value);
    lua_rawset(L, -3);
    return 0;
  });
}

namespace internal {
// Runs `lookup` (which leaves one value on top) in a protected call and returns it.
// A hook may raise on the trampoline's return event, after the reference was taken: the
// error path releases it (a nil internal::RawValue releases nothing).
template <class Lookup>
Value protected_value(internal::StateCore& core, lua_State* L, Lookup&& lookup) {
  internal::RawValue raw;
  try {
    internal::protect(L, 0, 0, [&](lua_State* state) {
      lookup(state);
      raw_from_stack(core, state, -1, raw);
      return 0;
    });
  } catch (...) {
    release_raws(core, &raw, 1);
    throw;
  }
  return value_from_raw(core.shared_from_this(), raw);
}
}  // namespace internal

template <class V, class K>
V Table::get(const K& key) const {
  Value result;
  {
    internal::Entry entry(core_ref(), "Table::get");
    result = internal::protected_value(*core_, entry.L(), [&](lua_State* L) {
      push(L, core_.get());
      push_native(L, *core_, key);
      lua_gettable(L, -2);
    });
  }
  return from_value<V>(result);
}

template <class V, class K>
V Table::raw_get(const K& key) const {
  Value result;
  {
    internal::Entry entry(core_ref(), "Table::raw_get");
    result = internal::protected_value(*core_, entry.L(), [&](lua_State* L) {
      push(L, core_.get());
      push_native(L, *core_, key);
      lua_rawget(L, -2);
    });
  }
  return from_value<V>(result);
}

template <class K>
bool Table::contains_key(const K& key) const {
  return !raw_get<Value>(key).is_nil();
}

template <class V>
void Table::push_back(const V& value) const {
  internal::Entry entry(core_ref(), "Table::push_back");
  internal::protect(entry.L(), 0, 0, [&](lua_State* L) {
    push(L, core_.get());
    const lua_Integer length = static_cast<lua_Integer>(lua_rawlen(L, -1));
    push_native(L, *core_, value);
    lua_rawseti(L, -2, length + 1);
    return 0;
  });
}

namespace internal {
// One step of next(): false at the end. Inside an entry.
bool table_next(internal::StateCore& core, lua_State* L, const Table& table, Value& key, Value& value);
}  // namespace internal

template <class Fn>
void Table::for_each(Fn&& fn) const {
  Value key;
  Value value;
  for (;;) {
    {
      internal::Entry entry(core_ref(), "Table::for_each");
      if (!internal::table_next(*core_, entry.L(), *this, key, value)) return;
    }
    fn(key, value);
  }
}

// ---------------------------------------------------------------------------------------
// Function

namespace internal {
MultiValue call_function(internal::StateCore& core, const Function& function, int nargs,
                         void (*push_args)(lua_State*, const internal::StateCore&, const void*), const void* args);
}  // namespace internal

template <class... Args>
MultiValue Function::call(const Args&... args) const {
  const std::tuple<const Args&...> packed(args...);
  return internal::call_function(
      core_ref(), *this, static_cast<int>(sizeof...(Args)),
      [](lua_State* L, const internal::StateCore& core, const void* p) {
        std::apply([&](const auto&... items) { (push_native(L, core, items), ...); },
                   *static_cast<const std::tuple<const Args&...>*>(p));
      },
      &packed);
}

template <class R, class... Args>
R Function::call_as(const Args&... args) const {
  MultiValue results = call(args...);
  if constexpr (std::is_same_v<R, MultiValue>) {
    return results;
  } else if constexpr (is_tuple<R>::value) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return R{from_value<std::tuple_element_t<I, R>>(I < results.size() ? results[I] : Value())...};
    }
    (std::make_index_sequence<std::tuple_size_v<R>>());
  } else {
    return from_value<R>(results.empty() ? Value() : results.front());
  }
}

// ---------------------------------------------------------------------------------------
// Thread

namespace internal {
MultiValue resume_thread(internal::StateCore& core, const Thread& thread, const MultiValue& args, const Waker* waker,
                         bool* pending);
}  // namespace internal

template <class... Args>
MultiValue Thread::resume(const Args&... args) const {
  MultiValue values;
  if constexpr (sizeof...(Args) > 0) {
    core_ref();  // an empty handle raises before its arguments are converted
    StateHandle state(core_);
    (values.push_back(to_value(state, args)), ...);
  }
  return resume_values(values);
}

// ---------------------------------------------------------------------------------------
// StateHandle templates

template <class F>
Function StateHandle::create_async_function(F&& fn) const {
  using D = std::decay_t<F>;
  using Traits = traits_of<D>;
  using Args = typename Traits::args;
  static_assert(std::is_convertible_v<typename Traits::result, AsyncPoll>,
                "cxxlua: an async function returns an AsyncPoll");
  AsyncFactory factory = [fn = D(std::forward<F>(fn))](StateHandle& state, MultiValue& args) mutable -> AsyncPoll {
    return call_typed<typename Traits::result>(fn, state, args, nullptr, static_cast<Args*>(nullptr),
                                               std::make_index_sequence<std::tuple_size_v<Args>>());
  };
  return create_raw_async_function(std::move(factory));
}

template <class F>
Function StateHandle::create_function(F&& fn) const {
  return create_raw_function(wrap_callable(std::forward<F>(fn)));
}

template <class F>
void Table::set_function(std::string_view name, F&& fn) const {
  set_raw_function(name, wrap_callable(std::forward<F>(fn)));
}

template <class T>
bool StateHandle::is_registered() const {
  internal::Entry entry(*core_, "is_registered");
  return internal::type_registered(entry.L(), &TypeKey<T>::key);
}

template <class T, class Describe>
void StateHandle::register_type(std::string name, Describe&& describe) const {
  UserDataBuilder<T> builder;
  builder.spec().name = std::move(name);
  describe(builder);
  internal::Entry entry(*core_, "register_type");
  internal::register_userdata_type(*core_, entry.L(), &TypeKey<T>::key, builder.spec());
}

template <class T, class... Args>
AnyUserData StateHandle::create_userdata(Args&&... args) const {
  static_assert(alignof(T) <= 8, "cxxlua: Lua aligns userdata to 8 bytes");
  const bool first_use = !is_registered<T>();
  if (first_use && !CXXLUA_CANARY(finalizer_skipped)) {
    register_type<T>(UserDataTraits<T>::name(), &UserDataTraits<T>::describe);
  }
  int ref = LUA_NOREF;
  void* block = nullptr;
  {
    internal::Entry entry(*core_, "create_userdata");
    block = internal::create_userdata_block(*core_, entry.L(), &TypeKey<T>::key, sizeof(UserDataBlock<T>),
                                            &UserDataBlock<T>::destroy, ref);
  }
  AnyUserData userdata(core_, ref);
  auto* typed = static_cast<UserDataBlock<T>*>(block);
  // Canary finalizer_skipped (mlua 4e92ea3, rlua 37165a8): the object goes in before the
  // userdata has its __gc metatable, so a failure while setting it leaks the object.
  if (CXXLUA_CANARY(finalizer_skipped)) {
    new (typed->storage) T(std::forward<Args>(args)...);
    typed->header.status = UserDataStatus::Constructed;
    // The metatable is built (allocating) only now: a failure here leaks the object.
    if (first_use) register_type<T>(UserDataTraits<T>::name(), &UserDataTraits<T>::describe);
    internal::Entry entry(*core_, "create_userdata");
    internal::canary_set_metatable_late(*core_, entry.L(), ref, &TypeKey<T>::key);
    return userdata;
  }
  // Constructed only now that the userdata is complete; if this throws, status stays
  // Empty and __gc leaves the storage alone.
  new (typed->storage) T(std::forward<Args>(args)...);
  internal::userdata_constructed(*core_, &typed->header);
  return userdata;
}

// ---------------------------------------------------------------------------------------
// AnyUserData templates

template <class T>
bool AnyUserData::is() const {
  internal::Entry entry(core_ref(), "AnyUserData::is");
  try {
    return internal::userdata_header(*core_, entry.L(), ref_, &TypeKey<T>::key) != nullptr;
  } catch (const Error&) {
    return false;
  }
}

template <class T>
Borrowed<T> AnyUserData::borrow() const {
  internal::Entry entry(core_ref(), "AnyUserData::borrow");
  UserDataHeader* header = internal::userdata_header(*core_, entry.L(), ref_, &TypeKey<T>::key);
  internal::begin_borrow(*core_, header, false);
  try {
    return Borrowed<T>(*this, header);
  } catch (...) {
    internal::end_borrow(*core_, header, false);
    throw;
  }
}

template <class T>
BorrowedMut<T> AnyUserData::borrow_mut() const {
  internal::Entry entry(core_ref(), "AnyUserData::borrow_mut");
  UserDataHeader* header = internal::userdata_header(*core_, entry.L(), ref_, &TypeKey<T>::key);
  internal::begin_borrow(*core_, header, true);
  try {
    return BorrowedMut<T>(*this, header);
  } catch (...) {
    internal::end_borrow(*core_, header, true);
    throw;
  }
}

template <class T>
T AnyUserData::take() const {
  internal::Entry entry(core_ref(), "AnyUserData::take");
  UserDataHeader* header = internal::userdata_header(*core_, entry.L(), ref_, &TypeKey<T>::key);
  internal::begin_borrow(*core_, header, true);  // checks: constructed, not borrowed
  internal::end_borrow(*core_, header, true);
  T* object = reinterpret_cast<UserDataBlock<T>*>(header)->object();
  T out(std::move(*object));
  header->status = UserDataStatus::Destructed;
  core_->untrack_object(header);
  object->~T();
  return out;
}

}  // namespace cxxlua
