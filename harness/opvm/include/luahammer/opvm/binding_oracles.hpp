// The oracles that read cxxlua's own state: stack balance at rest, the reference ledger
// plugged into its observer, finalizers Lua skipped, and its memory accounting.
#pragma once

#include <cxxlua/cxxlua.hpp>

#include <luahammer/core/fault_allocator.hpp>
#include <luahammer/core/oracles.hpp>

namespace luahammer {

// --- stack balance -------------------------------------------------------------------
// At rest the main thread's stack is empty; a finished coroutine holds nothing; a
// coroutine a hook suspended still holds its Lua function's registers.
void check_stack_at_rest(const cxxlua::StateHandle& state, const char* after);
void check_coroutine(const cxxlua::Thread& thread, const char* after);

// --- references ----------------------------------------------------------------------
// Plugs into StateOptions::reference_observer: every registry slot taken and released.
class ReferenceLedger : public cxxlua::ReferenceObserver {
 public:
  void on_take(int ref) noexcept override;
  void on_release(int ref) noexcept override;  // releasing a slot that is not live: violation
  std::size_t live() const { return slots_.live(); }
  // None live (call after every handle was dropped and an entry released deferred slots).
  void check_none_live(const char* after) const { slots_.check_none_live(after); }

 private:
  SlotLedger slots_;
};

// Lua freed userdata whose __gc it never called (the binding destroyed their objects as
// a safety net): legitimate only when Lua reported that many failed __gc calls. More means
// the binding never registered a finalizer for them (piccolo #45).
void check_finalizers_called_by_lua(const cxxlua::StateHandle& state, const char* after);

// The binding's count of Lua's memory (what its memory limit is enforced on) must equal
// the live bytes of the allocator under it: every block Lua holds goes through both.
void check_memory_accounting(const cxxlua::StateHandle& state, const FaultAllocator& allocator, const char* after);

}  // namespace luahammer
