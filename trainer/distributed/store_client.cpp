#include "trainer/distributed/store_client.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <vector>

#include "common/errors.h"
#include "common/first_line.h"

namespace nasforge::trainer::distributed {

struct StoreClient::Impl {
  std::string where;
  c10::intrusive_ptr<c10d::Store> store;
};

StoreClient::StoreClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreClient::~StoreClient() = default;

std::unique_ptr<StoreClient> StoreClient::connect(const std::string& host, int port,
                                                  std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->where = host + ":" + std::to_string(port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = false;
    options.waitWorkers = false;  // the job's rendezvous already counted this process
    options.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(host, options);
  } catch (const std::exception& e) {
    throw CollectiveError("cannot reach the job's store at " + impl->where +
                          " (rank 0): " + first_line(e.what()));
  }
  return std::unique_ptr<StoreClient>(new StoreClient(std::move(impl)));
}

void StoreClient::fail(const std::string& what, const std::exception& e) const {
  throw CollectiveError("the job's store at " + impl_->where + " (rank 0) did not answer " + what +
                        ": " + first_line(e.what()));
}

std::string StoreClient::where() const { return impl_->where; }

void StoreClient::set(const std::string& key, const std::string& value) {
  try {
    impl_->store->set(key, std::vector<std::uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    fail("set " + key, e);
  }
}

std::optional<std::string> StoreClient::try_get(const std::string& key) {
  try {
    if (!impl_->store->check({key})) return std::nullopt;
    const auto bytes = impl_->store->get(key);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    fail("get " + key, e);
  }
}

std::int64_t StoreClient::add(const std::string& key, std::int64_t delta) {
  try {
    return impl_->store->add(key, delta);
  } catch (const std::exception& e) {
    fail("add " + key, e);
  }
}

}  // namespace nasforge::trainer::distributed
