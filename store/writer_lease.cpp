#include "store/writer_lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "common/errors.h"
#include "common/log.h"
#include "store/sqlite.h"

namespace nasforge::store {

using detail::Connection;
using detail::now_seconds;
using detail::Statement;
using detail::Transaction;

namespace {

bool process_alive(std::int64_t pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

}  // namespace

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

WriterLease::WriterLease(const std::string& path, LeaseOptions options)
    : path_(path), options_(options) {
  Connection connection(path_, false);
  Transaction transaction(connection);
  const auto host = host_name();
  const auto now = now_seconds();
  {
    Statement owner(connection, "SELECT pid, host, started_at, heartbeat_at FROM writer_lease");
    if (owner.step()) {
      const auto pid = owner.column_int(0);
      const auto owner_host = owner.column_text(1);
      const double started = owner.column_double(2);
      const double heartbeat_age = now - owner.column_double(3);
      const bool alive =
          owner_host == host ? process_alive(pid) : heartbeat_age < options_.timeout_seconds;
      if (alive) {
        char line[512];
        std::snprintf(line, sizeof line,
                      ": another nasforge is writing this database (pid %lld on %s, started %.0f "
                      "s ago, heartbeat %.0f s ago); stop it first, or read it with `nasforge "
                      "status`",
                      static_cast<long long>(pid), owner_host.c_str(), now - started,
                      heartbeat_age);
        throw StoreError(path_ + line);
      }
      log::warn(path_ + ": taking over the writer lease of pid " + std::to_string(pid) + " on " +
                owner_host + ", which is no longer running");
    }
  }
  Statement take(connection,
                 "INSERT OR REPLACE INTO writer_lease (id, pid, host, started_at, heartbeat_at) "
                 "VALUES (1, ?, ?, ?, ?)");
  take.bind(1, static_cast<std::int64_t>(::getpid())).bind(2, host).bind(3, now).bind(4, now).run();
  transaction.commit();
  heartbeat_ = std::thread([this] { beat(); });
}

void WriterLease::beat() {
  try {
    Connection connection(path_, false);
    std::unique_lock lock(mutex_);
    while (!stop_changed_.wait_for(lock, std::chrono::duration<double>(options_.heartbeat_seconds),
                                   [&] { return stop_; })) {
      Statement s(connection,
                  "UPDATE writer_lease SET heartbeat_at = ? WHERE pid = ? AND host = ?");
      s.bind(1, now_seconds()).bind(2, static_cast<std::int64_t>(::getpid())).bind(3, host_name());
      s.run();
    }
  } catch (const std::exception& e) {
    log::warn(path_ + ": lease heartbeat stopped: " + e.what());
  }
}

WriterLease::~WriterLease() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_changed_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  try {
    Connection connection(path_, false);
    Statement s(connection, "DELETE FROM writer_lease WHERE pid = ? AND host = ?");
    s.bind(1, static_cast<std::int64_t>(::getpid())).bind(2, host_name()).run();
  } catch (const std::exception& e) {
    log::warn(path_ + ": could not give the writer lease back: " + e.what());
  }
}

}  // namespace nasforge::store
