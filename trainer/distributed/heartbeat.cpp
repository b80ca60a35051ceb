#include "trainer/distributed/heartbeat.h"

#include "common/errors.h"

namespace nasforge::trainer::distributed {

std::string Heartbeat::key(int rank) { return "nasforge/heartbeat/" + std::to_string(rank); }

Heartbeat::Heartbeat(std::unique_ptr<StoreClient> client, int rank,
                     std::chrono::milliseconds interval)
    : client_(std::move(client)), rank_(rank), interval_(interval) {
  client_->add(key(rank_), 1);
  thread_ = std::thread([this] { beat(); });
}

namespace {

// Added to a rank's counter when it stops beating on its own (its context destroyed, a clean
// exit or an error it reports itself): a peer sampling the counters then does not mistake a rank
// that stopped after seeing the same failure for the one that died.
constexpr std::int64_t kLeft = std::int64_t{1} << 40;

}  // namespace

Heartbeat::~Heartbeat() {
  {
    const std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_changed_.notify_all();
  thread_.join();
  try {
    const std::lock_guard client_lock(client_mutex_);
    client_->add(key(rank_), kLeft);
  } catch (const Error&) {
    // The store (rank 0) is gone: nobody is listening any more.
  }
}

void Heartbeat::beat() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_changed_.wait_for(lock, interval_, [&] { return stop_; })) {
    try {
      const std::lock_guard client_lock(client_mutex_);
      client_->add(key(rank_), 1);
    } catch (const Error&) {
      return;  // the store (rank 0) is gone: nobody is listening any more
    }
  }
}

std::vector<int> Heartbeat::silent(const std::vector<int>& ranks,
                                   std::chrono::milliseconds window) {
  auto read = [&] {
    std::vector<std::int64_t> counts;
    const std::lock_guard client_lock(client_mutex_);
    for (int r : ranks) counts.push_back(client_->add(key(r), 0));
    return counts;
  };
  try {
    const auto before = read();
    std::this_thread::sleep_for(window);
    const auto after = read();
    std::vector<int> quiet;
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      if (after[i] == before[i] && after[i] < kLeft) quiet.push_back(ranks[i]);
    }
    return quiet;
  } catch (const Error&) {
    return {0};
  }
}

HeartbeatWatch::HeartbeatWatch(std::vector<int> ranks, std::chrono::milliseconds window)
    : ranks_(std::move(ranks)),
      window_(window),
      beats_(ranks_.size(), -1),
      moved_(ranks_.size(), std::chrono::steady_clock::now()) {}

HeartbeatWatch::Gone HeartbeatWatch::check(StoreClient& store) {
  Gone gone;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < ranks_.size(); ++i) {
    const auto count = store.add(Heartbeat::key(ranks_[i]), 0);
    if (count >= kLeft) {
      gone.left.push_back(ranks_[i]);
    } else if (count != beats_[i]) {
      beats_[i] = count;
      moved_[i] = now;
    } else if (now - moved_[i] > window_) {
      gone.silent.push_back(ranks_[i]);
    }
  }
  return gone;
}

std::string describe_ranks(const std::vector<int>& ranks) {
  if (ranks.empty()) return "no rank";
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (i > 0) s += i + 1 == ranks.size() ? " and " : ", ";
    s += std::to_string(ranks[i]);
  }
  return s;
}

}  // namespace nasforge::trainer::distributed
