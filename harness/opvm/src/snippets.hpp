// The snippet table (snippets.cc), private to the op VM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <luahammer/opvm/op_vm.hpp>

namespace luahammer {

struct Snippet {
  std::uint32_t code;  // the wire code LoadSnippet's operand names (< kSnippetCodeSpace)
  const char* name;
  const char* source;
};
extern const Snippet kSnippets[];
extern const std::size_t kSnippetRows;
// The snippet LoadSnippet's operand n names, or nullptr (a free code).
const Snippet* snippet_of(std::uint32_t n) noexcept;
// The chunk name a snippet loads under: only the self-checking snippet's may fail
// host.check (kSelfCheckChunk); every other is "=snippet".
const char* snippet_chunkname(const Snippet& snippet) noexcept;
// The snippet compiled once per process under that name (core/precompiled.hpp), or
// nullptr for one that does not compile (syntax_error: loaded as text, Lua's own error).
const std::string* snippet_chunk(const Snippet& snippet);

}  // namespace luahammer
