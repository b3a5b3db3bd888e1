// Result<T>: the error-carrying return type of every fallible function (shaped like
// std::expected, which GCC 12 lacks). No exception crosses a module's public API.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace stack {

// An error: an errno-like code, a message, and a chain of context added by callers
// (innermost first). to_string() renders "outer: inner: message".
struct Error {
  int code = EINVAL;
  std::string message;
  std::vector<std::string> context;

  Error() = default;
  Error(int c, std::string msg) : code(c), message(std::move(msg)) {}
  explicit Error(std::string msg) : message(std::move(msg)) {}

  // Adds an outer layer of context ("loading compose.yml").
  Error& wrap(std::string ctx) & {
    context.push_back(std::move(ctx));
    return *this;
  }
  Error&& wrap(std::string ctx) && {
    context.push_back(std::move(ctx));
    return std::move(*this);
  }
  std::string to_string() const;
};

// Builds an Error from errno after a failed system call: "what: strerror(errno)".
Error errno_error(const std::string& what, int err = errno);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  Error& error() & { return std::get<1>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  // The value, or `fallback` on error.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }
  // Adds context to an error; a value passes through.
  Result wrap(std::string ctx) && {
    if (!ok()) error().wrap(std::move(ctx));
    return std::move(*this);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  Error& error() & { return err_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }
  // Adds context to an error.
  Result wrap(std::string ctx) && {
    if (failed_) err_.wrap(std::move(ctx));
    return std::move(*this);
  }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace stack

// Propagates an error: STACK_TRY(auto x, f()); or STACK_TRY_VOID(g());
#define STACK_CONCAT_INNER(a, b) a##b
#define STACK_CONCAT(a, b) STACK_CONCAT_INNER(a, b)
#define STACK_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                    \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
#define STACK_TRY(decl, expr) STACK_TRY_IMPL(STACK_CONCAT(stack_try_, __LINE__), decl, expr)
#define STACK_TRY_VOID(expr)                         \
  do {                                               \
    auto stack_try_v_ = (expr);                      \
    if (!stack_try_v_.ok()) return std::move(stack_try_v_).error(); \
  } while (0)
