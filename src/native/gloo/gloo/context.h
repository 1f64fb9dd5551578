// See README.md: a declaration-only stand-in for gloo's header.
#pragma once
#include <chrono>
#include <memory>
namespace gloo {
namespace transport {
class Device;
class UnboundBuffer;
} // namespace transport
class Context {
 public:
  const int rank;
  const int size;
  void setTimeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds getTimeout() const;
};
} // namespace gloo
