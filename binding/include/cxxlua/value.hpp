// Values and handles. A handle (String, Table, Function, Thread, AnyUserData) holds one
// registry reference plus a shared link to its state's core, never a coroutine's
// lua_State. Copying a handle takes a new reference, dropping it releases it once;
// after the state closed, dropping does nothing and using it raises StateClosed. Using an
// empty handle (default-constructed, moved from, reset) raises a Runtime error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <luahammer/lua.hpp>

#include "cxxlua/error.hpp"

namespace cxxlua {

namespace internal {
class StateCore;
}  // namespace internal
class StateHandle;
class Value;
using MultiValue = std::vector<Value>;
// A host function as the binding stores it (convert.hpp wraps any callable into one).
using HostCallback = std::function<MultiValue(StateHandle&, MultiValue&)>;
template <class T>
class Borrowed;
template <class T>
class BorrowedMut;

class Reference {
 public:
  Reference() noexcept = default;
  // Adopts `ref`, a registry slot already counted by the core's reference ledger.
  Reference(std::shared_ptr<internal::StateCore> core, int ref) noexcept;
  Reference(const Reference& other);
  Reference& operator=(const Reference& other);
  Reference(Reference&& other) noexcept;
  Reference& operator=(Reference&& other) noexcept;
  ~Reference();

  bool valid() const noexcept { return core_ != nullptr; }
  bool state_alive() const noexcept;
  internal::StateCore* core() const noexcept { return core_.get(); }
  const std::shared_ptr<internal::StateCore>& shared_core() const noexcept { return core_; }
  int ref() const noexcept { return ref_; }
  // Pushes the referenced value on L (non-raising); throws StateClosed or WrongState.
  void push(lua_State* L, const internal::StateCore* expected) const;
  // Identity: same Lua object (raw equality), same state.
  bool same_object(const Reference& other) const;
  void reset() noexcept;

 protected:
  // The handle's state core, for a method to enter; raises Error (Runtime) on an empty
  // handle (default-constructed, moved from or reset) instead of dereferencing nothing.
  internal::StateCore& core_ref() const {
    if (core_ == nullptr) throw_empty_handle();
    return *core_;
  }

  std::shared_ptr<internal::StateCore> core_;
  int ref_ = LUA_NOREF;

 private:
  [[noreturn]] static void throw_empty_handle();
  void copy_from(const Reference& other);
};

class String : public Reference {
 public:
  using Reference::Reference;
  std::string to_std_string() const;
  std::size_t size() const;
};

class Table : public Reference {
 public:
  using Reference::Reference;
  template <class K, class V>
  void set(const K& key, const V& value) const;
  template <class V = Value, class K>
  V get(const K& key) const;
  template <class K, class V>
  void raw_set(const K& key, const V& value) const;
  template <class V = Value, class K>
  V raw_get(const K& key) const;
  template <class K>
  bool contains_key(const K& key) const;  // raw, not nil
  lua_Integer len() const;                // with __len
  lua_Integer raw_len() const;
  std::optional<Table> metatable() const;
  void set_metatable(const std::optional<Table>& metatable) const;
  // Snapshot of all pairs in next() order (raw, no __pairs).
  std::vector<std::pair<Value, Value>> pairs() const;
  // Calls fn(key, value) for each pair; a table modified during iteration gives a clean
  // error, never undefined behaviour.
  template <class Fn>
  void for_each(Fn&& fn) const;
  template <class V>
  void push_back(const V& value) const;  // t[#t+1] = v (raw)
  // t[name] = a host function made from `fn` (as StateHandle::create_function makes it),
  // in one protected call and with no handle in between: no registry slot taken and given
  // back, the cheap way to fill a table of functions.
  template <class F>
  void set_function(std::string_view name, F&& fn) const;
  void set_raw_function(std::string_view name, HostCallback callback) const;
  MultiValue sequence_values() const;  // t[1..#t] (raw)
};

class Function : public Reference {
 public:
  using Reference::Reference;
  // Calls with any number of arguments (C++ values or Values); returns all results.
  template <class... Args>
  MultiValue call(const Args&... args) const;
  template <class R, class... Args>
  R call_as(const Args&... args) const;
  MultiValue call_values(const MultiValue& args) const;
  // The arguments by address: the caller keeps them and no handle is copied (a call with
  // many arguments that repeat a few values).
  MultiValue call_borrowed(std::span<const Value* const> args) const;
};

enum class ThreadStatus { Resumable, Running, Normal, Finished, Error };

class Thread : public Reference {
 public:
  using Reference::Reference;
  template <class... Args>
  MultiValue resume(const Args&... args) const;
  MultiValue resume_values(const MultiValue& args) const;
  ThreadStatus status() const;
  // Closes a suspended or dead coroutine (pending to-be-closed variables run).
  void close() const;
  // Closes it and gives it a new body.
  void reset(const Function& function) const;
  // Hooks of this coroutine only. While they are set the hook table holds a reference of
  // its own to the coroutine (its lua_State* is the table's key and must not be reused):
  // the coroutine lives until remove_hook() or the state's close.
  void set_hook(const struct HookTriggers& triggers,
                std::function<class HookAction(StateHandle&, const struct HookEvent&)> callback) const;
  void remove_hook() const;
  lua_State* raw_thread() const;  // for tests; valid while the handle lives
};

class AnyUserData : public Reference {
 public:
  using Reference::Reference;
  template <class T>
  bool is() const;
  template <class T>
  Borrowed<T> borrow() const;
  template <class T>
  BorrowedMut<T> borrow_mut() const;
  // Moves the object out; the userdata is left destructed.
  template <class T>
  T take() const;
  // Runs the destructor now; later use raises Destructed, __gc does nothing.
  void destroy() const;
  bool is_destructed() const;
};

struct LightUserData {
  void* pointer = nullptr;
  bool operator==(const LightUserData&) const = default;
};

enum class Type { Nil, Boolean, Integer, Number, LightUserData, String, Table, Function, Thread, UserData };
const char* type_name(Type type) noexcept;

class Value {
 public:
  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}
  Value(bool b) noexcept : v_(b) {}
  Value(lua_Integer i) noexcept : v_(i) {}
  Value(int i) noexcept : v_(lua_Integer{i}) {}
  Value(lua_Number n) noexcept : v_(n) {}
  Value(LightUserData p) noexcept : v_(p) {}
  Value(String s) noexcept : v_(std::move(s)) {}
  Value(Table t) noexcept : v_(std::move(t)) {}
  Value(Function f) noexcept : v_(std::move(f)) {}
  Value(Thread t) noexcept : v_(std::move(t)) {}
  Value(AnyUserData u) noexcept : v_(std::move(u)) {}

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  const char* type_name() const noexcept { return cxxlua::type_name(type()); }
  bool is_nil() const noexcept { return type() == Type::Nil; }
  template <class T>
  const T* get_if() const noexcept {
    return std::get_if<T>(&v_);
  }
  // Mutable access: a handle can be moved out (it keeps its registry slot; a copy takes a
  // slot of its own).
  template <class T>
  T* get_if() noexcept {
    return std::get_if<T>(&v_);
  }
  const Reference* reference() const noexcept;
  // Lua truthiness: everything but nil and false.
  bool truthy() const noexcept;

 private:
  std::variant<std::monostate, bool, lua_Integer, lua_Number, LightUserData, String, Table, Function, Thread,
               AnyUserData>
      v_;
};

}  // namespace cxxlua
