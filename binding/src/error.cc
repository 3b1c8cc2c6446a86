#include "cxxlua/error.hpp"

#include <utility>

namespace cxxlua {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Runtime: return "runtime error";
    case ErrorKind::Syntax: return "syntax error";
    case ErrorKind::Memory: return "memory error";
    case ErrorKind::Callback: return "callback error";
    case ErrorKind::StateClosed: return "state closed";
    case ErrorKind::Borrow: return "borrow error";
    case ErrorKind::Destructed: return "userdata has been destructed";
    case ErrorKind::Conversion: return "conversion error";
    case ErrorKind::StackOverflow: return "stack overflow";
    case ErrorKind::Coroutine: return "coroutine error";
    case ErrorKind::WrongState: return "wrong state";
    case ErrorKind::Thread: return "thread error";
  }
  return "error";
}

Error::Error(ErrorKind kind, std::string message, std::string traceback, std::shared_ptr<const Error> cause)
    : kind_(kind), message_(std::move(message)), traceback_(std::move(traceback)), cause_(std::move(cause)) {
  full_ = std::string(to_string(kind_)) + ": " + message_;
  for (const Error* c = cause_.get(); c != nullptr; c = c->cause_.get()) {
    full_ += "\ncaused by: " + std::string(to_string(c->kind_)) + ": " + c->message_;
  }
}

Error Error::conversion(const char* expected, const char* actual, int argument, const char* function) {
  std::string message;
  if (argument > 0) {
    message = "bad argument #" + std::to_string(argument);
    if (function != nullptr) message += std::string(" to '") + function + "'";
    message += ": ";
  }
  message += std::string(expected) + " expected, got " + actual;
  return Error(ErrorKind::Conversion, std::move(message));
}

}  // namespace cxxlua
