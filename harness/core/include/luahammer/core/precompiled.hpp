// The harness's own Lua chunks (the op VM's snippets) compiled once per process and loaded
// as binary chunks: Lua's parser under ASan and coverage costs several times the loading
// of the same chunk precompiled. Only fixed sources of the harness are precompiled; fuzzed
// and generated code stays text, and the sandbox keeps refusing binary chunks to Lua code
// (bytecode is unsafe by design, sandbox.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace luahammer {

// `source` compiled under `chunkname` and dumped with its debug information (line numbers
// and the chunk's name stay in error messages and tracebacks, as when loaded as text);
// nothing when it does not compile (the caller loads the text and gets Lua's syntax error).
std::optional<std::string> precompile(std::string_view source, const char* chunkname);

}  // namespace luahammer
