#include "trainer/batch_prefetcher.h"

#include <ATen/ATen.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <utility>

#include "common/errors.h"

namespace nasforge::trainer {

// One batch on its way. Whoever claims it first gathers it: a worker ahead of time, or the
// training thread itself when no worker has got to it (every oneTBB worker may be busy, or the
// machine may have none to give), so next() never waits on a task that cannot run. Nothing
// else waits on a task either: one that never runs holds a claimed batch nobody waits for.
struct BatchPrefetcher::Pending {
  at::Tensor index;
  std::atomic<bool> claimed{false};
  std::mutex mutex;
  std::condition_variable ready_changed;
  bool ready = false;
  HostBatch batch;
  std::exception_ptr error;
};

struct BatchPrefetcher::Source {
  at::Tensor images, labels;
  bool pin = false;

  void gather(Pending& pending) const {
    HostBatch out;
    std::exception_ptr error;
    try {
      auto sizes = images.sizes().vec();
      sizes[0] = pending.index.size(0);
      out.images = at::empty(sizes, images.options().pinned_memory(pin));
      at::index_select_out(out.images, images, 0, pending.index);
      out.labels = at::empty({pending.index.size(0)}, labels.options().pinned_memory(pin));
      at::index_select_out(out.labels, labels, 0, pending.index);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(pending.mutex);
    pending.batch = std::move(out);
    pending.error = error;
    pending.ready = true;
    pending.ready_changed.notify_all();
  }
};

// Tasks are enqueued, fire and forget. An arena destroyed with tasks still queued lives on
// inside oneTBB until they have run.
struct BatchPrefetcher::Workers {
  tbb::task_arena arena;
  explicit Workers(int count) : arena(count, /*reserved_for_masters=*/0) {}
};

BatchPrefetcher::BatchPrefetcher(at::Tensor images, at::Tensor labels, int depth, int workers,
                                 bool pin)
    : depth_(static_cast<size_t>(std::max(1, depth))),
      workers_(std::make_unique<Workers>(std::max(1, workers))) {
  if (images.device().type() != c10::kCPU || labels.device().type() != c10::kCPU) {
    throw InternalError("BatchPrefetcher: the data must be on the host");
  }
  auto source = std::make_shared<Source>();
  source->images = std::move(images);
  source->labels = std::move(labels);
  source->pin = pin;
  source_ = std::move(source);
}

BatchPrefetcher::~BatchPrefetcher() {
  // Batches not yet started are claimed here, so that their tasks, if they ever run, do nothing.
  for (auto& pending : pending_) pending->claimed.exchange(true);
}

void BatchPrefetcher::start_epoch(std::vector<at::Tensor> batch_indices) {
  // The previous epoch's batches not taken are dropped; a task still gathering one writes into a
  // batch that nobody reads, and one not yet started finds it claimed.
  for (auto& pending : pending_) pending->claimed.exchange(true);
  pending_.clear();
  batch_indices_ = std::move(batch_indices);
  submitted_ = taken_ = 0;
  while (submitted_ < batch_indices_.size() && submitted_ < depth_) submit(submitted_++);
}

void BatchPrefetcher::submit(size_t batch) {
  auto pending = std::make_shared<Pending>();
  pending->index = batch_indices_[batch];
  pending_.push_back(pending);
  // The task holds the source weakly: once the prefetcher is gone it has nothing to gather for.
  std::weak_ptr<const Source> source = source_;
  // Not queued (oneTBB refused the task): next() gathers it on the training thread.
  try {
    workers_->arena.enqueue([source, pending] {
      if (pending->claimed.exchange(true)) return;
      if (const auto alive = source.lock()) alive->gather(*pending);
    });
  } catch (const std::exception&) {
  }
}

HostBatch BatchPrefetcher::next() {
  if (pending_.empty()) throw InternalError("BatchPrefetcher: no batch left in this epoch");
  auto pending = std::move(pending_.front());
  pending_.pop_front();
  ++taken_;
  // Keep `depth` batches in flight.
  if (submitted_ < batch_indices_.size()) submit(submitted_++);
  if (!pending->claimed.exchange(true)) source_->gather(*pending);
  std::unique_lock lock(pending->mutex);
  pending->ready_changed.wait(lock, [&] { return pending->ready; });
  if (pending->error) std::rethrow_exception(pending->error);
  return std::move(pending->batch);
}

}  // namespace nasforge::trainer
