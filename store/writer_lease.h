#pragma once
// One writer per database: `run` and `resume` hold a lease (owner pid, host, start time,
// heartbeat) for as long as they write. A second writer is refused with a StoreError naming the
// owner; a lease whose owner is dead is taken over: on the same host when its process is gone,
// on another host when its heartbeat is older than the timeout. Readers (`status`, `export`)
// never take it. The heartbeat is written every few seconds by a thread of its own, on its own
// connection.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace nasforge::store {

struct LeaseOptions {
  double heartbeat_seconds = 5;
  double timeout_seconds = 60;  // a heartbeat older than this, from another host: dead owner
};

class WriterLease {
 public:
  // Takes the lease of the database at `path` (an existing nasforge database) or throws.
  explicit WriterLease(const std::string& path, LeaseOptions options = {});
  // Stops the heartbeat and gives the lease back.
  ~WriterLease();
  WriterLease(const WriterLease&) = delete;
  WriterLease& operator=(const WriterLease&) = delete;

 private:
  void beat();

  std::string path_;
  LeaseOptions options_;
  std::mutex mutex_;
  std::condition_variable stop_changed_;
  bool stop_ = false;
  std::thread heartbeat_;
};

// This machine's name, as leases record it.
std::string host_name();

}  // namespace nasforge::store
