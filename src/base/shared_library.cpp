#include "base/shared_library.h"

#include <dlfcn.h>

#include <utility>

namespace talon {

SharedLibrary::SharedLibrary(std::string soname, std::string debianPackage)
    : soname_(std::move(soname)), debianPackage_(std::move(debianPackage)) {
  handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = dlerror();
    problem_ = "cannot load " + soname_ + ": " + (why != nullptr ? why : "unknown reason");
  }
}

void* SharedLibrary::symbol(const char* name) {
  void* p = handle_ != nullptr ? dlsym(handle_, name) : nullptr;
  if (p == nullptr && problem_.empty()) problem_ = soname_ + " has no symbol " + name;
  return p;
}

std::string SharedLibrary::problem() const {
  if (problem_.empty()) return problem_;
  return problem_ + " (Debian package " + debianPackage_ + ")";
}

void SharedLibrary::close() {
  if (handle_ != nullptr) dlclose(handle_);
  handle_ = nullptr;
}

}  // namespace talon
