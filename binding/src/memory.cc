// StateCore's memory: the allocator that counts and limits Lua's memory, and the C++
// objects living in userdata, tracked from construction to destruction.
#include "cxxlua/state.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cxxlua/cxxlua.hpp"
#include "cxxlua/canary.hpp"
#include "internal.hpp"
#include "lua_exception.hpp"

namespace cxxlua {

// ---------------------------------------------------------------------------------------
// StateCore

StateCore::StateCore(const StateOptions& options)
    : inner_allocator_(options.allocator),
      inner_allocator_data_(options.allocator_data),
      thread_safe_(options.thread_safe),
      observer_(options.reference_observer),
      owner_(std::this_thread::get_id()) {
  memory_limit_.store(options.memory_limit);
}

void* StateCore::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* core = static_cast<StateCore*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    if (ptr != nullptr) {
      if (!core->tracked_objects_.empty()) core->destroy_tracked_in(ptr, osize);
      if (core->inner_allocator_ != nullptr) {
        core->inner_allocator_(core->inner_allocator_data_, ptr, osize, 0);
      } else {
        std::free(ptr);
      }
      core->used_memory_.fetch_sub(old);
    }
    return nullptr;
  }
  const std::size_t limit = core->memory_limit_.load();
  // Only growth may fail: Lua assumes shrinking never does.
  if (limit != 0 && nsize > old && core->used_memory_.load() - old + nsize > limit) {
    core->refused_allocations_.fetch_add(1);
    return nullptr;
  }
  void* block = core->inner_allocator_ != nullptr
                    ? core->inner_allocator_(core->inner_allocator_data_, ptr, osize, nsize)
                    : std::realloc(ptr, nsize);
  if (block == nullptr) core->refused_allocations_.fetch_add(1);
  if (block != nullptr) core->used_memory_.fetch_add(nsize - old);  // unsigned: a shrink wraps back
  return block;
}

void StateCore::track_object(void* object, void (*destroy)(void*) noexcept) noexcept {
  try {
    tracked_objects_.emplace(reinterpret_cast<std::uintptr_t>(object), destroy);
  } catch (...) {
    // Out of C++ memory: the object is only guarded by its __gc, as before tracking.
  }
}

void StateCore::note_warning_piece(const char* piece, bool to_be_continued) noexcept {
  // Lua reports a failed __gc call in pieces: "error in ", "__gc", " (", message, ")".
  // Only a memory error can keep one of our (non-raising) finalizers from running.
  static const char* const expected[] = {"error in ", "__gc", " (", "not enough memory", ")"};
  if (warning_piece_ >= 0 && warning_piece_ < 5 && std::strcmp(piece, expected[warning_piece_]) == 0) {
    ++warning_piece_;
  } else {
    warning_piece_ = -1;  // some other warning: ignore it to its end
  }
  if (!to_be_continued) {
    // Counted only when an allocation was refused since the last one counted: Lua code can
    // raise "not enough memory" from a finalizer of its own, or warn those very words.
    const std::size_t refused = refused_allocations_.load();
    if (warning_piece_ == 5 && refused > refused_when_last_counted_) {
      ++finalizer_call_failures_;
      refused_when_last_counted_ = refused;
    }
    warning_piece_ = 0;
  }
}

void StateCore::untrack_object(void* object) noexcept {
  tracked_objects_.erase(reinterpret_cast<std::uintptr_t>(object));
}

void StateCore::destroy_tracked_in(void* block, std::size_t size) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(block);
  auto it = tracked_objects_.lower_bound(begin);
  while (it != tracked_objects_.end() && it->first < begin + size) {
    const auto [address, destroy] = *it;
    tracked_objects_.erase(it);
    ++finalizers_skipped_;
    internal::FinalizerScope scope(this);  // reference drops are deferred, as in __gc
    sweeping_ = true;
    destroy(reinterpret_cast<void*>(address));
    sweeping_ = false;
    it = tracked_objects_.lower_bound(begin);  // the destructor may have changed the map
  }
}

}  // namespace cxxlua
