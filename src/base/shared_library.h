#pragma once
// A shared library opened at run time (dlopen), for optional dependencies that only some
// configurations use (libcurl, GMime, libstrophe): a process that never needs one never loads it, and
// one that cannot load it gets an error naming the library, the reason and the Debian package.

#include <string>

namespace talon {

/// One library opened with dlopen(RTLD_NOW | RTLD_LOCAL), and the first problem met: it could not be
/// opened, or a symbol asked for was missing. Not thread-safe: load once (callers keep the result in
/// a function-local static or behind a mutex).
class SharedLibrary {
 public:
  /// Opens `soname` ("libcurl.so.4"); `debianPackage` ("libcurl4") is named in problem().
  SharedLibrary(std::string soname, std::string debianPackage);
  ~SharedLibrary() = default;  // the handle stays open unless close() is called (see there)
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  bool opened() const { return handle_ != nullptr; }

  /// Sets `into` to the function `name` of the library (null when it is absent or the library did not
  /// open; the first absent name becomes the problem).
  template <typename F>
  void resolve(F& into, const char* name) {
    into = reinterpret_cast<F>(symbol(name));
  }

  /// Empty when the library opened and had every symbol asked for; otherwise "cannot load <soname>:
  /// <dlerror>" or "<soname> has no symbol <name>", followed by " (Debian package <package>)".
  std::string problem() const;

  /// Closes the library: after a failure, so that nothing of it stays mapped. On success a caller
  /// keeps it open for the life of the process (its functions are called until exit).
  void close();

 private:
  void* symbol(const char* name);

  std::string soname_;
  std::string debianPackage_;
  void* handle_ = nullptr;
  std::string problem_;
};

}  // namespace talon
