#pragma once
// A non-owning reference to a callable (like C++26 std::function_ref): no allocation, for callbacks
// that run before the call that receives them returns (Store::read()).
#include <memory>
#include <type_traits>
#include <utility>

namespace talon::store {

template <class Signature>
class FunctionRef;

/// Refers to a callable that must outlive every call through the reference. Copyable, cheap.
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
      FunctionRef(F&& f)
  noexcept  // NOLINT(google-explicit-constructor): used like a function parameter
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace talon::store
