// Userdata holding C++ objects. Layout: a header (type, status, borrow count) followed by
// the object. The userdata gets its complete metatable before the object is constructed
// in it, so an allocation failure at any step leaks nothing, and a constructor that
// throws leaves the status Empty: __gc never destroys what was never constructed.
// The destructor runs exactly once: in __gc, at close, or at take()/destroy(), never
// while borrowed. A userdata reached after its finalizer raises "userdata has been
// destructed".
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "cxxlua/convert.hpp"
#include "cxxlua/state.hpp"

namespace cxxlua {

enum class UserDataStatus : std::uint8_t { Empty = 0, Constructed = 1, Destructed = 2 };

struct UserDataHeader {
  const void* type_key;
  void (*destroy)(UserDataHeader*) noexcept;
  UserDataStatus status;
  std::int32_t borrows;  // > 0: shared borrows; -1: borrowed mutably
};

template <class T>
struct TypeKey {
  static inline const char key = 0;
};

template <class T>
struct UserDataBlock {
  static_assert(alignof(T) <= 8, "cxxlua: Lua aligns userdata to 8 bytes; over-aligned types are not supported");
  UserDataHeader header;
  alignas(T) unsigned char storage[sizeof(T)];
  T* object() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  static void destroy(UserDataHeader* header) noexcept { reinterpret_cast<UserDataBlock*>(header)->object()->~T(); }
};

// What a registered type offers to Lua; filled by UserDataBuilder, consumed by registration.
struct UserDataSpec {
  std::string name;
  std::vector<std::pair<std::string, HostCallback>> methods;
  std::vector<std::pair<std::string, HostCallback>> getters;
  std::vector<std::pair<std::string, HostCallback>> setters;
  std::vector<std::pair<std::string, HostCallback>> metamethods;
  HostCallback index_fallback;
  HostCallback newindex_fallback;
};

template <class T>
class UserDataBuilder {
 public:
  // fn(const T& or T&, args...) -> results; or a member function pointer of T.
  template <class F>
  UserDataBuilder& method(std::string name, F fn) {
    spec_.methods.emplace_back(std::move(name), wrap_callable(std::move(fn)));
    return *this;
  }
  // getter(const T&) -> value, read as obj.name
  template <class F>
  UserDataBuilder& field(std::string name, F getter) {
    spec_.getters.emplace_back(std::move(name), wrap_callable(std::move(getter)));
    return *this;
  }
  // setter(T&, value), written as obj.name = value
  template <class F>
  UserDataBuilder& field_setter(std::string name, F setter) {
    spec_.setters.emplace_back(std::move(name), wrap_callable(std::move(setter)));
    return *this;
  }
  // Any metamethod: __tostring, __eq, __lt, __le, __add, __len, __call, __close, __concat…
  template <class F>
  UserDataBuilder& meta(std::string name, F fn) {
    spec_.metamethods.emplace_back(std::move(name), wrap_callable(std::move(fn)));
    return *this;
  }
  // fallback(const T&, Value key) -> Value, for keys that are neither methods nor fields.
  template <class F>
  UserDataBuilder& index_fallback(F fn) {
    spec_.index_fallback = wrap_callable(std::move(fn));
    return *this;
  }
  // fallback(T&, Value key, Value value), for assignments to unknown keys.
  template <class F>
  UserDataBuilder& newindex_fallback(F fn) {
    spec_.newindex_fallback = wrap_callable(std::move(fn));
    return *this;
  }
  UserDataSpec& spec() { return spec_; }

 private:
  UserDataSpec spec_;
};

// Describes a type that is registered on first use (create_userdata before register_type).
template <class T>
struct UserDataTraits {
  static const char* name() { return typeid(T).name(); }
  static void describe(UserDataBuilder<T>&) {}
};

namespace internal {
void register_userdata_type(internal::StateCore& core, lua_State* L, const void* key, UserDataSpec& spec);
bool type_registered(lua_State* L, const void* key) noexcept;
// Pushes a new userdata of `size` bytes with the type's metatable and references it;
// returns the block. Inside no protected call: does its own.
void* create_userdata_block(internal::StateCore& core, lua_State* L, const void* key, std::size_t size,
                            void (*destroy)(UserDataHeader*) noexcept, int& ref);
// The block of the userdata at `ref` if it is of type `key` (else null); throws
// Conversion naming the expected type otherwise.
UserDataHeader* userdata_header(internal::StateCore& core, lua_State* L, int ref, const void* key);
// The object is built: marks it and tracks it until destroyed (internal::StateCore::track_object).
void userdata_constructed(internal::StateCore& core, UserDataHeader* header);
void begin_borrow(internal::StateCore& core, UserDataHeader* header, bool mutable_borrow);
void canary_set_metatable_late(internal::StateCore& core, lua_State* L, int ref, const void* key);
void end_borrow(internal::StateCore& core, UserDataHeader* header, bool mutable_borrow) noexcept;
}  // namespace internal

// A shared borrow: keeps the userdata alive and the object immutable for Lua and C++.
template <class T>
class Borrowed {
 public:
  Borrowed(AnyUserData owner, UserDataHeader* header) noexcept : owner_(std::move(owner)), header_(header) {}
  Borrowed(Borrowed&& other) noexcept
      : owner_(std::move(other.owner_)), header_(std::exchange(other.header_, nullptr)) {}
  Borrowed(const Borrowed&) = delete;
  Borrowed& operator=(const Borrowed&) = delete;
  Borrowed& operator=(Borrowed&&) = delete;
  ~Borrowed() {
    if (header_ != nullptr) internal::end_borrow(*owner_.core(), header_, false);
  }
  const T& operator*() const noexcept { return *reinterpret_cast<UserDataBlock<T>*>(header_)->object(); }
  const T* operator->() const noexcept { return &**this; }

 private:
  AnyUserData owner_;
  UserDataHeader* header_;
};

// A mutable borrow: exclusive; any other borrow meanwhile is a Borrow error.
template <class T>
class BorrowedMut {
 public:
  BorrowedMut(AnyUserData owner, UserDataHeader* header) noexcept : owner_(std::move(owner)), header_(header) {}
  BorrowedMut(BorrowedMut&& other) noexcept
      : owner_(std::move(other.owner_)), header_(std::exchange(other.header_, nullptr)) {}
  BorrowedMut(const BorrowedMut&) = delete;
  BorrowedMut& operator=(const BorrowedMut&) = delete;
  BorrowedMut& operator=(BorrowedMut&&) = delete;
  ~BorrowedMut() {
    if (header_ != nullptr) internal::end_borrow(*owner_.core(), header_, true);
  }
  T& operator*() const noexcept { return *reinterpret_cast<UserDataBlock<T>*>(header_)->object(); }
  T* operator->() const noexcept { return &**this; }

 private:
  AnyUserData owner_;
  UserDataHeader* header_;
};

}  // namespace cxxlua
