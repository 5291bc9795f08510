#pragma once
// A minimal value-or-error type in the shape of C++23 std::expected (P0323), for C++20.
// Debian 12 packages no tl::expected, so Talon carries this small one. Not thread-safe beyond the
// usual value-type rules.
#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace talon {

/// Wraps an error value to construct an Expected in its error state.
template <class E>
class Unexpected {
 public:
  explicit Unexpected(E e) : error_(std::move(e)) {}
  E& error() & { return error_; }
  E&& error() && { return std::move(error_); }
  const E& error() const& { return error_; }

 private:
  E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

/// Either a T or an E. Accessing the wrong alternative is a programmer error (asserts).
template <class T, class E>
class Expected {
 public:
  using value_type = T;
  using error_type = E;

  Expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  template <class U = T>
  requires std::is_constructible_v<T, U&&> &&
      (!std::is_same_v<std::remove_cvref_t<U>, Expected>)&&(!std::is_same_v<std::remove_cvref_t<U>, Unexpected<E>>)
          Expected(U&& v)
      : v_(std::in_place_index<0>, std::forward<U>(v)) {}
  template <class G>
  Expected(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error())) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E& error() & {
    assert(!has_value());
    return std::get<1>(v_);
  }
  const E& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> v_;
};

/// Success-or-error with no value.
template <class E>
class Expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;
  Expected() = default;
  template <class G>
  Expected(Unexpected<G> u) : err_(std::move(u.error())), ok_(false) {}
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { assert(ok_); }
  E& error() & {
    assert(!ok_);
    return err_;
  }
  const E& error() const& {
    assert(!ok_);
    return err_;
  }
  E&& error() && {
    assert(!ok_);
    return std::move(err_);
  }

 private:
  E err_{};
  bool ok_ = true;
};

}  // namespace talon
