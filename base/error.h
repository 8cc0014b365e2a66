// Exception types. Every error a user can cause names what is wrong and where.
#pragma once

#include <stdexcept>
#include <string>

namespace hc {

// Base of all errors hypercomp reports to users.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file, key or value is malformed or out of range.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// An environment was used against its contract (invalid action, stepping a finished episode,
// task index out of range).
class EnvError : public Error {
 public:
  using Error::Error;
};

}  // namespace hc
