#include "trainer/batch_prefetcher.h"

#include <ATen/ATen.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>

#include "common/errors.h"

namespace nasforge::trainer {

// One batch on its way. Whoever claims it first gathers it: a worker ahead of time, or the
// training thread itself when no worker has got to it (every oneTBB worker may be busy, e.g.
// running trials side by side), so next() never waits on a task that cannot run.
struct BatchPrefetcher::Pending {
  at::Tensor index;
  std::atomic<bool> claimed{false};
  std::mutex mutex;
  std::condition_variable ready_changed;
  bool ready = false;
  HostBatch batch;
  std::exception_ptr error;
};

// Tasks are enqueued (fire and forget), and counted so that the prefetcher can wait for them.
struct BatchPrefetcher::Workers {
  tbb::task_arena arena;
  std::mutex mutex;
  std::condition_variable idle;
  int outstanding = 0;

  explicit Workers(int count) : arena(count, /*reserved_for_masters=*/0) {}

  void run(std::function<void()> task) {
    {
      std::lock_guard lock(mutex);
      ++outstanding;
    }
    try {
      arena.enqueue([this, task = std::move(task)] {
        task();
        std::lock_guard lock(mutex);
        if (--outstanding == 0) idle.notify_all();
      });
    } catch (...) {
      std::lock_guard lock(mutex);
      --outstanding;
      throw;
    }
  }
  void wait() {
    std::unique_lock lock(mutex);
    idle.wait(lock, [this] { return outstanding == 0; });
  }
};

BatchPrefetcher::BatchPrefetcher(at::Tensor images, at::Tensor labels, int depth, int workers,
                                 bool pin)
    : images_(std::move(images)),
      labels_(std::move(labels)),
      depth_(static_cast<size_t>(std::max(1, depth))),
      pin_(pin),
      workers_(std::make_unique<Workers>(std::max(1, workers))) {
  if (images_.device().type() != c10::kCPU || labels_.device().type() != c10::kCPU) {
    throw InternalError("BatchPrefetcher: the data must be on the host");
  }
}

BatchPrefetcher::~BatchPrefetcher() { workers_->wait(); }

void BatchPrefetcher::start_epoch(std::vector<at::Tensor> batch_indices) {
  // Tasks of the previous epoch may still be writing into their (now dropped) batches.
  workers_->wait();
  pending_.clear();
  batch_indices_ = std::move(batch_indices);
  submitted_ = taken_ = 0;
  while (submitted_ < batch_indices_.size() && submitted_ < depth_) submit(submitted_++);
}

void BatchPrefetcher::submit(size_t batch) {
  auto pending = std::make_shared<Pending>();
  pending->index = batch_indices_[batch];
  pending_.push_back(pending);
  // Not queued (oneTBB refused the task): next() gathers it on the training thread.
  try {
    workers_->run([this, pending] {
      if (!pending->claimed.exchange(true)) gather(*pending);
    });
  } catch (const std::exception&) {
  }
}

void BatchPrefetcher::gather(Pending& pending) const {
  HostBatch out;
  std::exception_ptr error;
  try {
    auto sizes = images_.sizes().vec();
    sizes[0] = pending.index.size(0);
    out.images = at::empty(sizes, images_.options().pinned_memory(pin_));
    at::index_select_out(out.images, images_, 0, pending.index);
    out.labels = at::empty({pending.index.size(0)}, labels_.options().pinned_memory(pin_));
    at::index_select_out(out.labels, labels_, 0, pending.index);
  } catch (...) {
    error = std::current_exception();
  }
  std::lock_guard lock(pending.mutex);
  pending.batch = std::move(out);
  pending.error = error;
  pending.ready = true;
  pending.ready_changed.notify_all();
}

HostBatch BatchPrefetcher::next() {
  if (pending_.empty()) throw InternalError("BatchPrefetcher: no batch left in this epoch");
  auto pending = std::move(pending_.front());
  pending_.pop_front();
  ++taken_;
  // Keep `depth` batches in flight.
  if (submitted_ < batch_indices_.size()) submit(submitted_++);
  if (!pending->claimed.exchange(true)) gather(*pending);
  std::unique_lock lock(pending->mutex);
  pending->ready_changed.wait(lock, [&] { return pending->ready; });
  if (pending->error) std::rethrow_exception(pending->error);
  return std::move(pending->batch);
}

}  // namespace nasforge::trainer
