// The one exception type for refused configuration: a port that cannot join, a device that
// cannot be opened, an option that makes no sense. Its message is shown to the user as is.
#pragma once

#include <stdexcept>

namespace vswitch {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vswitch
