#include <luahammer/core/chaos.hpp>

#include <luahammer/lua.hpp>

namespace luahammer {

int HookPlan::Triggers::lua_mask() const {
  return (on_calls ? LUA_MASKCALL : 0) | (on_returns ? LUA_MASKRET : 0) | (every_line ? LUA_MASKLINE : 0) |
         (every_nth_instruction > 0 ? LUA_MASKCOUNT : 0);
}

void HookPlan::encode(ByteWriter& out) const {
  const int mask = (triggers.on_calls ? 1 : 0) | (triggers.on_returns ? 2 : 0) | (triggers.every_line ? 4 : 0) |
                   (triggers.every_nth_instruction > 0 ? 8 : 0);
  out.put<std::uint8_t>(static_cast<std::uint8_t>(mask));
  if (triggers.every_nth_instruction > 0) out.put_in_range<int>(triggers.every_nth_instruction, 1, 2000);
  out.put_in_range<std::uint32_t>(event_number, 1, 400);
  out.put_bool(repeat_every > 0);
  if (repeat_every > 0) out.put_in_range<std::uint32_t>(repeat_every, 1, 64);
  out.put_in_range<int>(static_cast<int>(action), 0, kActions - 1);
}

const char* HookPlan::action_name(Action action) {
  static const char* const names[] = {"raise", "yield", "collect", "replace", "remove", "throw"};
  return names[static_cast<int>(action)];
}

std::string HookPlan::describe() const {
  static const char* const actions[] = {
      "raise", "yield", "collect garbage", "replace the hook", "remove the hook", "throw a C++ exception"};
  std::string out = "hook on";
  if (triggers.on_calls) out += " calls";
  if (triggers.on_returns) out += " returns";
  if (triggers.every_line) out += " lines";
  if (triggers.every_nth_instruction > 0)
    out += " every " + std::to_string(triggers.every_nth_instruction) + " instructions";
  out += ": " + std::string(actions[static_cast<int>(action)]) + " at event " + std::to_string(event_number);
  if (repeat_every > 0) out += " and every " + std::to_string(repeat_every) + " after";
  return out;
}

void GcPlan::encode(ByteWriter& out) const {
  out.put_bool(generational);
  out.put_bool(step_kilobytes > 0);
  if (step_kilobytes > 0) out.put_in_range<int>(step_kilobytes, 0, 64);
  out.put_bool(collect_every > 0);
  if (collect_every > 0) out.put_in_range<int>(collect_every, 1, 16);
  out.put_bool(switch_modes);
}

std::string GcPlan::describe() const {
  std::string out = generational ? "gc generational" : "gc incremental";
  if (step_kilobytes > 0) out += ", step " + std::to_string(step_kilobytes) + " KB between ops";
  if (collect_every > 0) out += ", full collection every " + std::to_string(collect_every) + " ops";
  if (switch_modes) out += ", switching modes";
  return out;
}

void FailPlan::encode(ByteWriter& out) const {
  int selector = 0;
  switch (mode) {
    case FaultAllocator::Mode::Off: selector = 0; break;
    case FaultAllocator::Mode::FailNth: selector = 1; break;
    case FaultAllocator::Mode::FailFromNth: selector = 2; break;
    case FaultAllocator::Mode::FailRandomly: selector = 3; break;
  }
  out.put_in_range<int>(selector, 0, 4);
  out.put_in_range<std::uint64_t>(n, 1, 4000);
  out.put_in_range<std::uint32_t>(per_million, 1, 20000);
  out.put<std::uint64_t>(seed);
  out.put_bool(byte_limit > 0);
  if (byte_limit > 0) out.put_in_range<std::size_t>(byte_limit, 64 * 1024, 4 * 1024 * 1024);
}

std::string FailPlan::describe() const {
  std::string out;
  switch (mode) {
    case FaultAllocator::Mode::Off: out = "no allocation failures"; break;
    case FaultAllocator::Mode::FailNth: out = "fail allocation " + std::to_string(n); break;
    case FaultAllocator::Mode::FailFromNth: out = "fail every allocation from " + std::to_string(n); break;
    case FaultAllocator::Mode::FailRandomly:
      out = "fail allocations with probability " + std::to_string(per_million) + "/1e6 (seed " + std::to_string(seed) +
            ")";
      break;
  }
  if (byte_limit > 0) out += ", byte limit " + std::to_string(byte_limit);
  return out;
}

void FailPlan::apply(FaultAllocator& allocator) const {
  allocator.set_byte_limit(byte_limit);
  switch (mode) {
    case FaultAllocator::Mode::Off: allocator.disarm(); break;
    case FaultAllocator::Mode::FailNth: allocator.fail_nth(n); break;
    case FaultAllocator::Mode::FailFromNth: allocator.fail_from_nth(n); break;
    case FaultAllocator::Mode::FailRandomly: allocator.fail_randomly(per_million, seed); break;
  }
}

}  // namespace luahammer
