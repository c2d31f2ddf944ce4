// A small JSON-shaped value: what control commands return. The control server writes it as
// JSON (`vswitchctl --json`) or as readable text; the vde_switch console formats it its way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vswitch::daemon {

class Value {
 public:
  enum class Type : uint8_t { null, boolean, integer, real, string, array, object };

  Value() = default;
  Value(bool b) : type_(Type::boolean), int_(b) {}     // NOLINT: implicit by design
  Value(int v) : type_(Type::integer), int_(v) {}      // NOLINT
  Value(int64_t v) : type_(Type::integer), int_(v) {}  // NOLINT
  Value(uint64_t v) : type_(Type::integer), int_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(uint32_t v) : type_(Type::integer), int_(v) {}                        // NOLINT
  Value(uint16_t v) : type_(Type::integer), int_(v) {}                        // NOLINT
  Value(double v) : type_(Type::real), real_(v) {}                            // NOLINT
  Value(std::string s) : type_(Type::string), str_(std::move(s)) {}           // NOLINT
  Value(std::string_view s) : type_(Type::string), str_(s) {}                 // NOLINT
  Value(const char* s) : type_(Type::string), str_(s) {}                      // NOLINT

  static Value array() {
    Value v;
    v.type_ = Type::array;
    return v;
  }
  static Value object() {
    Value v;
    v.type_ = Type::object;
    return v;
  }

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::object; }
  bool is_array() const { return type_ == Type::array; }
  int64_t as_int() const { return type_ == Type::real ? static_cast<int64_t>(real_) : int_; }
  // Any number: a rate, or a counter read as one.
  double as_double() const { return type_ == Type::real ? real_ : static_cast<double>(int_); }
  bool is_number() const { return type_ == Type::integer || type_ == Type::real; }
  bool as_bool() const { return int_ != 0; }
  const std::string& as_string() const { return str_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }

  Value& push(Value v) {
    items_.push_back(std::move(v));
    return *this;
  }
  Value& set(std::string key, Value v) {
    members_.emplace_back(std::move(key), std::move(v));
    return *this;
  }
  const Value* get(std::string_view key) const;
  // get() along a path of keys, "counters.in_packets".
  const Value* at(std::string_view path) const;

  std::string json() const;
  // Objects as "key: value" lines, arrays of objects as aligned tables.
  std::string text() const;
  static std::optional<Value> parse_json(std::string_view text);

 private:
  void write_json(std::string& out) const;
  void write_text(std::string& out, int indent) const;

  Type type_ = Type::null;
  int64_t int_ = 0;
  double real_ = 0;
  std::string str_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

}  // namespace vswitch::daemon
