// Conversions between C++ and Lua values, and wrapping of C++ callables as host functions.
//
// C++ -> Lua inside a protected call: push_native() (may allocate, may raise).
// Lua -> C++: from_value<T>() on a Value (never calls into Lua except to read a string).
// Host function parameters: bool, arithmetic types, std::string(_view), Value, handles,
// LightUserData, std::optional<T>, MultiValue (the rest of the arguments, last only),
// StateHandle (first only, consumes no argument), and `const T&` / `T&` of a registered
// userdata type (a shared / mutable borrow for the duration of the call).
#pragma once

#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "cxxlua/internal/core.hpp"
#include "cxxlua/state.hpp"
#include "cxxlua/value.hpp"

namespace cxxlua {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};
template <class T>
inline constexpr bool dependent_false = false;

// The user extension point: specialize Convert<T> to pass a type of your own by value,
// through a type cxxlua already converts (its carrier). For example:
//   template <> struct cxxlua::Convert<Celsius> {
//     using carrier = double;
//     static double to_lua(const Celsius& c) { return c.degrees; }
//     static Celsius from_lua(double degrees) { return Celsius{degrees}; }  // may throw
//   };
// A Celsius then works as a host function's parameter or result, in from_value<Celsius>()
// and wherever a value is pushed; a Lua value the carrier refuses is the carrier's error.
template <class T>
struct Convert;
template <class T, class = void>
struct has_convert : std::false_type {};
template <class T>
struct has_convert<T, std::void_t<typename Convert<T>::carrier>> : std::true_type {};

// Types converted by value; anything else is treated as a userdata type.
template <class T>
inline constexpr bool is_native_v =
    has_convert<T>::value || std::is_arithmetic_v<T> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, std::string_view> || std::is_same_v<T, const char*> || std::is_same_v<T, Value> ||
    std::is_base_of_v<Reference, T> || std::is_same_v<T, LightUserData> || std::is_same_v<T, std::nullptr_t> ||
    is_optional<T>::value || std::is_same_v<T, MultiValue>;

// ---------------------------------------------------------------------------------------
// C++ -> Lua (inside a protected body)

template <class T>
void push_native(lua_State* L, const internal::StateCore& core, const T& value) {
  using D = std::decay_t<T>;
  if constexpr (has_convert<D>::value) {
    push_native(L, core, Convert<D>::to_lua(value));
  } else if constexpr (std::is_same_v<D, std::nullptr_t>) {
    lua_pushnil(L);
  } else if constexpr (std::is_same_v<D, bool>) {
    lua_pushboolean(L, value ? 1 : 0);
  } else if constexpr (std::is_integral_v<D>) {
    if constexpr (std::is_unsigned_v<D> && sizeof(D) >= sizeof(lua_Integer)) {
      if (value > static_cast<D>(std::numeric_limits<lua_Integer>::max())) {
        luaL_error(L, "integer %I is out of range for Lua", static_cast<lua_Integer>(value));
      }
    }
    lua_pushinteger(L, static_cast<lua_Integer>(value));
  } else if constexpr (std::is_floating_point_v<D>) {
    lua_pushnumber(L, static_cast<lua_Number>(value));
  } else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
    if (value == nullptr) {
      lua_pushnil(L);
    } else {
      lua_pushstring(L, value);
    }
  } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
    const std::string_view bytes = value;
    lua_pushlstring(L, bytes.data(), bytes.size());
  } else if constexpr (std::is_same_v<D, Value>) {
    internal::push_value(L, core, value);
  } else if constexpr (std::is_base_of_v<Reference, D>) {
    value.push(L, &core);
  } else if constexpr (std::is_same_v<D, LightUserData>) {
    lua_pushlightuserdata(L, value.pointer);
  } else if constexpr (is_optional<D>::value) {
    if (value) {
      push_native(L, core, *value);
    } else {
      lua_pushnil(L);
    }
  } else {
    static_assert(dependent_false<D>, "cxxlua: no conversion from this C++ type to a Lua value");
  }
}

// ---------------------------------------------------------------------------------------
// Lua -> C++

namespace internal {
std::string number_to_string(const Value& value);
[[noreturn]] void throw_conversion(const Value& value, const char* expected, int argument, const char* function);
}  // namespace internal

template <class T>
const char* lua_type_expected() {
  using D = std::decay_t<T>;
  if constexpr (has_convert<D>::value)
    return lua_type_expected<typename Convert<D>::carrier>();
  else if constexpr (std::is_same_v<D, bool>)
    return "boolean";
  else if constexpr (std::is_integral_v<D>)
    return "integer";
  else if constexpr (std::is_floating_point_v<D>)
    return "number";
  else if constexpr (std::is_same_v<D, std::string> || std::is_same_v<D, std::string_view>)
    return "string";
  else if constexpr (std::is_same_v<D, String>)
    return "string";
  else if constexpr (std::is_same_v<D, Table>)
    return "table";
  else if constexpr (std::is_same_v<D, Function>)
    return "function";
  else if constexpr (std::is_same_v<D, Thread>)
    return "thread";
  else if constexpr (std::is_same_v<D, AnyUserData>)
    return "userdata";
  else if constexpr (std::is_same_v<D, LightUserData>)
    return "light userdata";
  else
    return "value";
}

template <class T>
T from_value(const Value& value, int argument = 0, const char* function = nullptr) {
  using D = std::decay_t<T>;
  if constexpr (has_convert<D>::value) {
    return Convert<D>::from_lua(from_value<typename Convert<D>::carrier>(value, argument, function));
  } else if constexpr (std::is_same_v<D, Value>) {
    return value;
  } else if constexpr (is_optional<D>::value) {
    if (value.is_nil()) return std::nullopt;
    return from_value<typename D::value_type>(value, argument, function);
  } else if constexpr (std::is_same_v<D, bool>) {
    return value.truthy();
  } else if constexpr (std::is_integral_v<D>) {
    lua_Integer integer = 0;
    if (const auto* i = value.get_if<lua_Integer>()) {
      integer = *i;
    } else if (const auto* n = value.get_if<lua_Number>()) {
      // Exact integral floats convert, as lua_tointegerx does.
      if (!(std::floor(*n) == *n && *n >= -9223372036854775808.0 && *n < 9223372036854775808.0)) {
        internal::throw_conversion(value, "number with an integer representation", argument, function);
      }
      integer = static_cast<lua_Integer>(*n);
    } else {
      internal::throw_conversion(value, "integer", argument, function);
    }
    if constexpr (!std::is_same_v<D, lua_Integer>) {
      if (!std::in_range<D>(integer)) {
        internal::throw_conversion(value, "integer in the range of the C++ type", argument, function);
      }
    }
    return static_cast<D>(integer);
  } else if constexpr (std::is_floating_point_v<D>) {
    if (const auto* i = value.get_if<lua_Integer>()) return static_cast<D>(*i);
    if (const auto* n = value.get_if<lua_Number>()) return static_cast<D>(*n);
    internal::throw_conversion(value, "number", argument, function);
  } else if constexpr (std::is_same_v<D, std::string>) {
    if (const auto* s = value.get_if<String>()) return s->to_std_string();
    if (value.type() == Type::Integer || value.type() == Type::Number) return internal::number_to_string(value);
    internal::throw_conversion(value, "string", argument, function);
  } else if constexpr (std::is_base_of_v<Reference, D> || std::is_same_v<D, LightUserData>) {
    if (const auto* h = value.get_if<D>()) return *h;
    internal::throw_conversion(value, lua_type_expected<D>(), argument, function);
  } else {
    static_assert(dependent_false<D>, "cxxlua: no conversion from a Lua value to this C++ type");
  }
}

// ---------------------------------------------------------------------------------------
// Callables -> host functions

template <class F>
struct callable_traits : callable_traits<decltype(&F::operator())> {};
#define CXXLUA_CALLABLE_TRAITS(QUALIFIERS)            \
  template <class R, class C, class... A>             \
  struct callable_traits<R (C::*)(A...) QUALIFIERS> { \
    using result = R;                                 \
    using args = std::tuple<A...>;                    \
  };
CXXLUA_CALLABLE_TRAITS()
CXXLUA_CALLABLE_TRAITS(const)
CXXLUA_CALLABLE_TRAITS(noexcept)
CXXLUA_CALLABLE_TRAITS(const noexcept)
#undef CXXLUA_CALLABLE_TRAITS
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R (*)(A...)> {};

// Member function pointers used as methods: the object comes first.
template <class M>
struct member_traits;
template <class R, class C, class... A>
struct member_traits<R (C::*)(A...)> {
  using result = R;
  using args = std::tuple<C&, A...>;
};
template <class R, class C, class... A>
struct member_traits<R (C::*)(A...) const> {
  using result = R;
  using args = std::tuple<const C&, A...>;
};
template <class R, class C, class... A>
struct member_traits<R (C::*)(A...) noexcept> : member_traits<R (C::*)(A...)> {};
template <class R, class C, class... A>
struct member_traits<R (C::*)(A...) const noexcept> : member_traits<R (C::*)(A...) const> {};

template <class F>
using traits_of = std::conditional_t<std::is_member_function_pointer_v<F>, member_traits<F>, callable_traits<F>>;

// The arguments of one call and the Lua position (0-based) of the parameter being
// converted. Positions are computed at compile time: GCC does not sequence the braced
// pack expansion that builds the holders.
struct ArgCursor {
  MultiValue& args;
  std::size_t next = 0;
  const char* function = nullptr;
  const Value& take() const {
    static const Value nil;
    return next < args.size() ? args[next] : nil;
  }
  int position() const { return static_cast<int>(next) + 1; }
};

template <class T>
class Borrowed;
template <class T>
class BorrowedMut;

// Holds one converted argument for the duration of the call.
template <class A, class = void>
struct ArgHolder;

template <class A>
struct ArgHolder<A, std::enable_if_t<std::is_same_v<std::decay_t<A>, StateHandle>>> {
  ArgHolder(StateHandle& state, const ArgCursor&) : state_(state) {}
  StateHandle& get() { return state_; }
  StateHandle& state_;
};

template <class A>
struct ArgHolder<A, std::enable_if_t<std::is_same_v<std::decay_t<A>, MultiValue>>> {
  ArgHolder(StateHandle&, const ArgCursor& cursor) {
    for (std::size_t i = cursor.next; i < cursor.args.size(); ++i) rest_.push_back(std::move(cursor.args[i]));
  }
  MultiValue& get() { return rest_; }
  MultiValue rest_;
};

template <class A>
struct ArgHolder<A, std::enable_if_t<std::is_same_v<std::decay_t<A>, std::string_view> ||
                                     std::is_same_v<std::decay_t<A>, const char*>>> {
  ArgHolder(StateHandle&, const ArgCursor& cursor) {
    const Value& value = cursor.take();
    text_ = from_value<std::string>(value, cursor.position(), cursor.function);
  }
  auto get() {
    if constexpr (std::is_same_v<std::decay_t<A>, const char*>)
      return text_.c_str();
    else
      return std::string_view(text_);
  }
  std::string text_;
};

template <class A>
struct ArgHolder<A, std::enable_if_t<is_native_v<std::decay_t<A>> && !std::is_same_v<std::decay_t<A>, MultiValue> &&
                                     !std::is_same_v<std::decay_t<A>, std::string_view> &&
                                     !std::is_same_v<std::decay_t<A>, const char*>>> {
  ArgHolder(StateHandle&, const ArgCursor& cursor)
      : value_(from_value<std::decay_t<A>>(cursor.take(), cursor.position(), cursor.function)) {}
  std::decay_t<A>& get() { return value_; }
  std::decay_t<A> value_;
};

namespace internal {
AnyUserData userdata_argument(const Value& value, int argument, const char* function);
}

// `const T&` / `T&` / `T` of a userdata type: a borrow held for the call.
template <class A>
struct ArgHolder<A, std::enable_if_t<!is_native_v<std::decay_t<A>> && !std::is_same_v<std::decay_t<A>, StateHandle>>> {
  using T = std::remove_cv_t<std::remove_reference_t<A>>;
  static constexpr bool kMutable = std::is_lvalue_reference_v<A> && !std::is_const_v<std::remove_reference_t<A>>;
  using Guard = std::conditional_t<kMutable, BorrowedMut<T>, Borrowed<T>>;
  ArgHolder(StateHandle&, const ArgCursor& cursor) : guard_(make(cursor)) {}
  static Guard make(const ArgCursor& cursor) {
    AnyUserData userdata = internal::userdata_argument(cursor.take(), cursor.position(), cursor.function);
    if constexpr (kMutable)
      return userdata.template borrow_mut<T>();
    else
      return userdata.template borrow<T>();
  }
  decltype(auto) get() { return *guard_; }
  Guard guard_;
};

template <class T>
Value to_value(const StateHandle& state, T&& value);

// Returned by a host function: yields its values from the calling coroutine; the values
// the coroutine is resumed with become the host function's results.
struct Yield {
  MultiValue values;
};
void request_yield(const StateHandle& state) noexcept;

template <class R>
MultiValue to_multi(const StateHandle& state, R&& result) {
  using D = std::decay_t<R>;
  if constexpr (std::is_same_v<D, MultiValue>) {
    return std::forward<R>(result);
  } else if constexpr (std::is_same_v<D, Yield>) {
    request_yield(state);
    return std::forward<R>(result).values;
  } else if constexpr (is_tuple<D>::value) {
    MultiValue out;
    std::apply([&](auto&&... items) { (out.push_back(to_value(state, std::forward<decltype(items)>(items))), ...); },
               std::forward<R>(result));
    return out;
  } else {
    MultiValue out;
    out.push_back(to_value(state, std::forward<R>(result)));
    return out;
  }
}

// Lua position of each parameter: a StateHandle parameter consumes no argument.
template <class... A>
constexpr std::array<std::size_t, sizeof...(A) + 1> argument_positions() {
  constexpr bool consumes[] = {!std::is_same_v<std::decay_t<A>, StateHandle>..., false};
  std::array<std::size_t, sizeof...(A) + 1> out{};
  for (std::size_t i = 1; i <= sizeof...(A); ++i) out[i] = out[i - 1] + (consumes[i - 1] ? 1 : 0);
  return out;
}

// Converts the arguments and calls fn; returns what fn returns.
template <class R, class F, class... A, std::size_t... I>
R call_typed(F& fn, [[maybe_unused]] StateHandle& state, [[maybe_unused]] MultiValue& args,
             [[maybe_unused]] const char* name, std::tuple<A...>*, std::index_sequence<I...>) {
  [[maybe_unused]] constexpr auto positions = argument_positions<A...>();
  [[maybe_unused]] std::tuple<ArgHolder<A>...> holders{ArgHolder<A>(state, ArgCursor{args, positions[I], name})...};
  return std::invoke(fn, std::get<I>(holders).get()...);
}

template <class R, class F, class... A, std::size_t... I>
MultiValue invoke_typed(F& fn, StateHandle& state, MultiValue& args, const char* name, std::tuple<A...>* tag,
                        std::index_sequence<I...> indices) {
  if constexpr (std::is_void_v<R>) {
    call_typed<R>(fn, state, args, name, tag, indices);
    return {};
  } else {
    return to_multi(state, call_typed<R>(fn, state, args, name, tag, indices));
  }
}

// A callable that already has the HostCallback shape (StateHandle&, MultiValue&) -> MultiValue.
template <class Args>
struct is_raw_callback_args : std::false_type {};
template <class A, class B>
struct is_raw_callback_args<std::tuple<A, B>>
    : std::bool_constant<std::is_same_v<std::decay_t<A>, StateHandle> && std::is_same_v<std::decay_t<B>, MultiValue> &&
                         std::is_lvalue_reference_v<B>> {};

template <class F>
HostCallback wrap_callable(F fn, const char* name = nullptr) {
  using D = std::decay_t<F>;
  if constexpr (std::is_same_v<typename traits_of<D>::result, MultiValue> &&
                is_raw_callback_args<typename traits_of<D>::args>::value) {
    return HostCallback(std::move(fn));
  } else {
    using Traits = traits_of<D>;
    using Args = typename Traits::args;
    return [fn = std::move(fn), name](StateHandle& state, MultiValue& args) mutable -> MultiValue {
      return invoke_typed<typename Traits::result>(fn, state, args, name, static_cast<Args*>(nullptr),
                                                   std::make_index_sequence<std::tuple_size_v<Args>>());
    };
  }
}

}  // namespace cxxlua
