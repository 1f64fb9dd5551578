// See ../README.md: a declaration-only stand-in for gloo's header.
#pragma once
#include <stdexcept>
#include <string>
namespace gloo {
struct Exception : public std::runtime_error {
  explicit Exception(const std::string &what) : std::runtime_error(what) {}
};
struct IoException : public Exception {
  explicit IoException(const std::string &what) : Exception(what) {}
};
} // namespace gloo
