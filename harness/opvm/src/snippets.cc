// The snippets LoadSnippet loads: Lua chunks that drive the binding's host paths. One row
// per snippet: {wire code, name, source}. LoadSnippet's operand n names a snippet by its
// code (n % kSnippetCodeSpace). Codes are fixed forever: never renumber or reuse one; a
// new snippet takes a free code, so no stored input changes meaning.
#include "snippets.hpp"

#include <cstring>
#include <optional>
#include <vector>

#include <luahammer/core/precompiled.hpp>
#include <luahammer/opvm/vm_host.hpp>

namespace luahammer {

// clang-format off
const Snippet kSnippets[] = {
    {0, "echo_args",
     "return host.echo(...)"},
    {1, "probe_methods",
     "local u = host.make(3) u:set(4) return u:get()"},
    {2, "userdata_in_table",
     "local t = {} t.ud = host.make(1) t[1] = host.make(2) return t"},
    {3, "vararg_count",
     "return function(...) return select('#', ...) end"},
    {4, "host_stored_function",
     "local s = host.store(function(x) return x end) return host.call_stored(s, 5)"},
    {5, "coroutine_wrap_yield",
     "return coroutine.wrap(function(x) local y = coroutine.yield(x) return y end)"},
    {6, "async_in_plain_resume",
     "local co = coroutine.create(function() return host.fetch(2) end) return host.echo(coroutine.resume(co))"},
    {7, "async_sum",
     "return host.fetch(1) + host.fetch(2)"},
    {8, "error_table",
     "error({code = 1})"},
    {9, "close_probe",
     "local r <close> = host.make(9) return r:get()"},
    {10, "gc_creates_userdata",
     "setmetatable({}, {__gc = function() local u = host.make(1) end}) collectgarbage()"},
    {11, "resurrection",
     "local t = setmetatable({}, {__gc = function(o) saved = o.ud end}) t.ud = host.make(5) t = nil "
     "collectgarbage() collectgarbage() return saved and pcall(saved.get, saved)"},
    {12, "host_yield",
     "return host.pause(7)"},
    {13, "unpack_300",
     "local many = {} for i = 1, 300 do many[i] = i end return table.unpack(many)"},
    {14, "long_concat",
     "return host.concat(string.rep('x', 100), 1)"},
    {15, "pcall_wrapper",
     "return function(f, ...) return pcall(f, ...) end"},
    {16, "host_fail_table",
     "host.fail({code = 2})"},
    {17, "fragile_constructor",
     "local ok, f = pcall(host.fragile, ...) return ok and f:get()"},
    {18, "retry_loop_fresh_coroutines",
     "for i = 1, 5 do local co = coroutine.create(function() error('retry') end) coroutine.resume(co) "
     "setmetatable({}, {__gc = function() local x = coroutine.create(function() end) end}) end "
     "collectgarbage('step', 1)"},
    {19, "probe_stored_function",
     "local u = host.make(1) u:store(function(...) return ... end) return u:call_stored(1, 2)"},
    {20, "nested_wrap_async",
     "local w = coroutine.wrap(function() local inner = coroutine.wrap(function() return host.fetch(3) end) "
     "return inner() end) return w()"},
    // The binding's resume and wrap on the edges: dead, non-suspended (the main thread),
    // a wrapped coroutine raising a string (position added) and called again once dead.
    {21, "running_coroutine",
     "local co = coroutine.create(function() return 1 end) coroutine.resume(co) "
     "local w = coroutine.wrap(function() error('inner') end) local _, wrapped = pcall(w) local _, again = pcall(w) "
     "return select(2, coroutine.resume(co)), wrapped, again, select(2, coroutine.resume(coroutine.running())), "
     "coroutine.running()"},
    // A reference taken inside a coroutine outlives it (sol2 #890).
    {22, "store_in_coroutine",
     "local co = coroutine.wrap(function() return host.store(function() return 1 end) end) "
     "local slot = co() co = nil collectgarbage() return host.call_stored(slot)"},
    // Self-checking: after hook yields and collections the locals must be intact (mlua #723).
    {23, "hook_yield_self_check",
     "local ok, good = pcall(function() local parts, text = {}, string.rep('a', 10) .. 'b' "
     "for i = 1, 40 do parts[#parts + 1] = text .. i end return #parts == 40 and parts[40] == text .. 40 end) "
     "host.check(ok and good or not ok and host.expected_error(good), 'live registers lost: ' .. tostring(good))"},
    // Closing the running coroutine from a host handle is a clean error (mlua #416).
    {24, "close_running_coroutine",
     "local co = coroutine.wrap(function() return pcall(host.close, coroutine.running()) end) return co()"},
    // Field setters and the __index / __newindex fallbacks of a registered type.
    {25, "probe_fields",
     "local u = host.make(2) u.value = 7 u.extra = 3 local ok = pcall(function() u.extra = 'x' end) "
     "return u.value + u.twice + u.extra, u.nothing, ok"},
    {26, "fragile_fields",
     "local ok, f = pcall(host.fragile, 2) if ok then f.value = 4 local bad = pcall(function() f.other = 1 end) "
     "return f.value, f.other, bad end"},
    // Non-string error values reaching the host (a number, a float), then a host error's box.
    {27, "number_errors",
     "local n = ... if n then error(1.5) end error(42)"},
    {28, "error_box_tostring",
     "local ok, e = pcall(host.fail, 1) return tostring(e), e"},
    {29, "syntax_error",
     "return +"},
    {30, "light_userdata",
     "local p = host.light() return host.echo(p, type(p), p == host.light())"},
    // Argument conversions: floats to strings and integers, and the refusals.
    {31, "argument_coercions",
     "return host.concat(1.5, 2), host.concat(2^53, 1), host.add(2.0, 3), pcall(host.add, 1.5, 2), "
     "pcall(host.add, 'x', 1), pcall(host.concat, {}, 1)"},
    // Every kind of exception a host function throws, as the error value Lua sees.
    {32, "host_throws",
     "local seen = {} for i = 0, 35 do local ok, e = pcall(host.throw, i) seen[#seen + 1] = tostring(e) end "
     "return #seen, seen[1], seen[2], seen[3]"},
    // Finalizers that raise (a string, a table): Lua reports them as warnings, not errors.
    {33, "gc_raises",
     "setmetatable({}, {__gc = function() error('gc fails') end}) "
     "setmetatable({}, {__gc = function() error({}) end}) collectgarbage() collectgarbage()"},
    // A finalizer that runs only at close and calls back into the binding there: the
    // binding must refuse cleanly (the state is closing). Run early, it makes a Probe.
    {34, "finalizer_calls_in_at_close",
     "kept_until_close = setmetatable({}, {__gc = function() host.make(1) end}) return kept_until_close"},
    // Calls into the binding from inside Lua, in each context of the shape table (issue 21):
    // a stored function called from a host function with the call's own arguments (their
    // kinds and counts; the results are the arguments), and from a __close, a finalizer
    // (run now, and at close), a coroutine; host.close on the main thread.
    {35, "call_stored_with_args",
     "local slot = host.store(function(...) return ... end) return host.call_stored(slot, ...)"},
    {36, "host_calls_in_close",
     "local args = table.pack(...) do local c <close> = setmetatable({}, {__close = function() "
     "host.echo(table.unpack(args, 1, args.n)) host.call_stored(host.store(function() return 1 end)) "
     "host.close(coroutine.create(print)) end}) end"},
    {37, "host_calls_in_finalizers",
     "local function make() setmetatable({}, {__gc = function() host.echo(1) "
     "host.call_stored(host.store(function() return 1 end)) host.close(coroutine.create(print)) end}) end "
     "make() collectgarbage() kept_for_close = setmetatable({}, {__gc = function() pcall(host.echo, 1) "
     "pcall(host.call_stored, 1) pcall(host.close, coroutine.create(print)) end})"},
    {38, "close_from_lua",
     "local co = coroutine.create(function(...) coroutine.yield(...) end) coroutine.resume(co, ...) "
     "local bad = coroutine.create(function() local c <close> = setmetatable({}, {__close = function() "
     "error('closing fails') end}) coroutine.yield() end) coroutine.resume(bad) "
     "return host.close(co), pcall(host.close, bad)"},
    // Exactly LUA_MINSTACK results, and more: through a call, a resume, a host function.
    {39, "twenty_results",
     "local t = {} for i = 1, 20 do t[i] = i end return table.unpack(t)"},
    {40, "thirty_results",
     "local t = {} for i = 1, 30 do t[i] = i end return table.unpack(t)"},
    // A table whose metamethods call host functions that fail: Table::get and set see the
    // host's error through Lua (a callback error).
    {41, "host_failing_metamethods",
     "return setmetatable({}, {__index = function(t, k) return host.throw(1) end, "
     "__newindex = function(t, k, v) host.fail(v) end})"},
    // A coroutine body that yields inside a scope whose __close fails: closing the
    // suspended coroutine (Thread::close, reset) reports the closing method's error.
    {42, "yield_in_failing_close",
     "local c <close> = setmetatable({}, {__close = function() error('closing fails') end}) "
     "coroutine.yield(1) return 2"},
    // A Probe's stored function called by Lua with the caller's values: when the function
    // belongs to another state, the values cannot cross (a wrong-state error).
    {43, "call_probe_stored",
     "local u, a = ... return u:call_stored(a)"},
    // Garbage whose finalizers call back into the binding, left for whoever collects next:
    // a hook plan's collection (the calls then run below a hook), a gc op, the close.
    {44, "finalizers_left_for_later",
     "local function make() setmetatable({}, {__gc = function() host.echo(1) "
     "host.call_stored(host.store(function() return 1 end)) host.close(coroutine.create(print)) end}) end "
     "make() make() local s = 0 for i = 1, 32 do s = s + i end return s"},
    // A coroutine suspended inside a scope whose __close fails, handed to the driver:
    // closing it (Thread::close, reset) reports the closing method's error.
    {45, "suspended_in_failing_close",
     "local co = coroutine.create(function() local c <close> = setmetatable({}, {__close = function() "
     "error('closing fails') end}) coroutine.yield(1) end) coroutine.resume(co) return co"},
};
// clang-format on
const std::size_t kSnippetRows = sizeof(kSnippets) / sizeof(kSnippets[0]);

const Snippet* snippet_of(std::uint32_t n) noexcept {
  const std::uint32_t code = n % kSnippetCodeSpace;
  for (std::size_t i = 0; i < kSnippetRows; ++i) {
    if (kSnippets[i].code == code) return &kSnippets[i];
  }
  return nullptr;
}

const char* snippet_name(std::uint32_t n) noexcept {
  const Snippet* s = snippet_of(n);
  return s != nullptr ? s->name : "";
}

const char* snippet_chunkname(const Snippet& snippet) noexcept {
  return std::strcmp(snippet.name, "hook_yield_self_check") == 0 ? kSelfCheckChunk : "=snippet";
}

const std::string* snippet_chunk(const Snippet& snippet) {
  static const std::vector<std::optional<std::string>> chunks = [] {
    std::vector<std::optional<std::string>> all;
    all.reserve(kSnippetRows);
    for (std::size_t i = 0; i < kSnippetRows; ++i)
      all.push_back(precompile(kSnippets[i].source, snippet_chunkname(kSnippets[i])));
    return all;
  }();
  const auto row = static_cast<std::size_t>(&snippet - kSnippets);
  return row < chunks.size() && chunks[row] ? &*chunks[row] : nullptr;
}

}  // namespace luahammer
