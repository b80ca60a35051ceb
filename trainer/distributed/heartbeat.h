#pragma once
// Each rank of a job beats a counter in the job's store (its own connection, its own thread), so
// that a rank can tell which peer is gone when a collective fails, and the master can tell a trial
// group that stopped beating. A killed process stops at once; a hung one keeps beating (its
// thread runs), and is caught by the collective timeout instead.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trainer/distributed/store_client.h"

namespace nasforge::trainer::distributed {

constexpr std::chrono::milliseconds kHeartbeatInterval{250};

class Heartbeat {
 public:
  // Starts beating rank `rank`'s counter every `interval` through `client`.
  Heartbeat(std::unique_ptr<StoreClient> client, int rank,
            std::chrono::milliseconds interval = kHeartbeatInterval);
  ~Heartbeat();  // stops the thread
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Of `ranks`, those whose counter did not move during `window` and that did not stop on their
  // own (rank 0 alone when the store itself, served by rank 0, no longer answers).
  std::vector<int> silent(const std::vector<int>& ranks, std::chrono::milliseconds window);

  static std::string key(int rank);

 private:
  void beat();

  std::unique_ptr<StoreClient> client_;
  std::mutex client_mutex_;  // the thread's beats and silent()'s reads share the connection
  int rank_;
  std::chrono::milliseconds interval_;
  std::mutex stop_mutex_;
  std::condition_variable stop_changed_;
  bool stop_ = false;
  std::thread thread_;
};

// A poller's view of some peers' heartbeats (the caller polls, through a store client of its
// own): each check() reads their counters once and says which of them are gone.
class HeartbeatWatch {
 public:
  struct Gone {
    std::vector<int> left;    // stopped beating on their own (a clean exit or a reported error)
    std::vector<int> silent;  // counter still for `window`: killed, hung or cut off
  };
  HeartbeatWatch(std::vector<int> ranks, std::chrono::milliseconds window);
  // CollectiveError when the store (rank 0) does not answer.
  Gone check(StoreClient& store);

 private:
  std::vector<int> ranks_;
  std::chrono::milliseconds window_;
  std::vector<std::int64_t> beats_;
  std::vector<std::chrono::steady_clock::time_point> moved_;
};

// "rank 1", "ranks 1 and 3", "ranks 1, 2 and 3".
std::string describe_ranks(const std::vector<int>& ranks);

}  // namespace nasforge::trainer::distributed
