// The snippet table (snippets.cc), private to the op VM.
#pragma once

#include <cstddef>
#include <cstdint>

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

}  // namespace luahammer
