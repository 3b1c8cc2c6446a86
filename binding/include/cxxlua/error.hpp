// cxxlua error family: every failure the binding reports is a cxxlua::Error with a kind,
// a message, an optional Lua traceback and an optional cause (callback errors chain the
// C++ error that a host function raised).
#pragma once

#include <exception>
#include <memory>
#include <string>

namespace cxxlua {

enum class ErrorKind {
  Runtime,        // a Lua runtime error (error(), a failed operation)
  Syntax,         // load() of malformed source, or a binary chunk where text is required
  Memory,         // the allocator failed or the memory limit was reached
  Callback,       // a host function raised; cause() is what it raised
  StateClosed,    // a handle used after its state was closed
  Borrow,         // a userdata borrowed mutably while borrowed, or destroyed while borrowed
  Destructed,     // a userdata used after its C++ object was destroyed
  Conversion,     // a Lua value could not become the C++ type asked for
  StackOverflow,  // too many values for the Lua stack
  Coroutine,      // resuming a running or dead coroutine, or the current one
  WrongState,     // a handle passed to a state it does not belong to
  Thread,         // a non-thread-safe state used from a second thread
};

const char* to_string(ErrorKind kind) noexcept;

class Error : public std::exception {
 public:
  Error(ErrorKind kind, std::string message, std::string traceback = {}, std::shared_ptr<const Error> cause = nullptr);

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& traceback() const noexcept { return traceback_; }
  const std::shared_ptr<const Error>& cause() const noexcept { return cause_; }
  // "<kind>: <message>", followed by each cause on its own line.
  const char* what() const noexcept override { return full_.c_str(); }

  static Error conversion(const char* expected, const char* actual, int argument = 0, const char* function = nullptr);

 private:
  ErrorKind kind_;
  std::string message_;
  std::string traceback_;
  std::shared_ptr<const Error> cause_;
  std::string full_;
};

}  // namespace cxxlua
