#pragma once
// One error hierarchy for nasforge. Messages say what, where and how to fix it.
#include <stdexcept>
#include <string>

namespace nasforge {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user's experiment file or command line is wrong.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A dataset is missing or malformed.
class DataError : public Error {
 public:
  using Error::Error;
};

// The database cannot be opened, is not nasforge's, or a statement failed.
class StoreError : public Error {
 public:
  using Error::Error;
};

// A trial could not be trained (divergence, out of memory, a LibTorch error).
class TrainingError : public Error {
 public:
  using Error::Error;
};

// A collective or the rendezvous failed: a peer died, hung past the timeout, or is unreachable;
// or this rank failed alone inside a data-parallel trial. Not a trial's own failure: the job
// cannot go on.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// A bug in nasforge itself.
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace nasforge
