#pragma once
// A connection of its own to the job's key-value store (c10d's TCPStore served by rank 0): the
// channel for what is not a tensor collective (heartbeats, trial assignments and results). Each
// client is one socket; the server is rank 0, so when rank 0 is gone every call fails.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace nasforge::trainer::distributed {

class StoreClient {
 public:
  // Connects to the store at host:port (waiting up to `timeout` for it). CollectiveError if it
  // cannot be reached.
  static std::unique_ptr<StoreClient> connect(const std::string& host, int port,
                                              std::chrono::milliseconds timeout);
  ~StoreClient();
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  // Every call throws CollectiveError when the store (rank 0) does not answer.
  void set(const std::string& key, const std::string& value);
  // The value of `key`, or nothing when it is not set yet (never waits for it).
  std::optional<std::string> try_get(const std::string& key);
  // Adds `delta` to the integer at `key` (0 when unset) and returns the sum; add(key, 0) reads.
  std::int64_t add(const std::string& key, std::int64_t delta);
  std::string where() const;  // "127.0.0.1:29500"

 private:
  struct Impl;
  explicit StoreClient(std::unique_ptr<Impl> impl);
  [[noreturn]] void fail(const std::string& what, const std::exception& e) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nasforge::trainer::distributed
