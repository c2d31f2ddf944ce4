#include "value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace vswitch::daemon {

const Value* Value::get(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Value* Value::at(std::string_view path) const {
  const Value* v = this;
  while (v != nullptr && !path.empty()) {
    const size_t dot = path.find('.');
    v = v->get(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return v;
}

// The shortest text that reads back as the same number; JSON has no NaN or infinity, which
// become null.
static std::string real_text(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc{} ? end : buf);
  // Still a fraction when written back, so that a reader keeps its type.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

static void write_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void Value::write_json(std::string& out) const {
  switch (type_) {
    case Type::null:
      out += "null";
      break;
    case Type::boolean:
      out += int_ ? "true" : "false";
      break;
    case Type::integer:
      out += std::to_string(int_);
      break;
    case Type::real:
      out += real_text(real_);
      break;
    case Type::string:
      write_json_string(out, str_);
      break;
    case Type::array:
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        items_[i].write_json(out);
      }
      out += ']';
      break;
    case Type::object:
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        write_json_string(out, members_[i].first);
        out += ':';
        members_[i].second.write_json(out);
      }
      out += '}';
      break;
  }
}

std::string Value::json() const {
  std::string out;
  write_json(out);
  return out;
}

namespace {

std::string scalar_text(const Value& v) {
  switch (v.type()) {
    case Value::Type::null:
      return "-";
    case Value::Type::boolean:
      return v.as_bool() ? "yes" : "no";
    case Value::Type::integer:
      return std::to_string(v.as_int());
    case Value::Type::real: {
      char buf[32];
      snprintf(buf, sizeof buf, "%.1f", v.as_double());
      return buf;
    }
    case Value::Type::string:
      return v.as_string();
    case Value::Type::array: {
      if (v.items().empty()) return "(none)";
      std::string s;
      for (const Value& item : v.items()) {
        if (!s.empty()) s += ",";
        s += scalar_text(item);
      }
      return s;
    }
    case Value::Type::object: {
      std::string s;
      for (const auto& [k, item] : v.members()) {
        if (!s.empty()) s += " ";
        s += k + "=" + scalar_text(item);
      }
      return s;
    }
  }
  return "";
}

bool is_table(const Value& v) {
  if (!v.is_array() || v.items().empty()) return false;
  return std::all_of(v.items().begin(), v.items().end(),
                     [](const Value& i) { return i.is_object(); });
}

void write_table(std::string& out, const Value& rows, int indent) {
  std::vector<std::string> columns;
  for (const Value& row : rows.items()) {
    for (const auto& [k, v] : row.members()) {
      if (std::find(columns.begin(), columns.end(), k) == columns.end()) columns.push_back(k);
    }
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c)
    width[c] = columns[c].size();
  for (const Value& row : rows.items()) {
    auto& line = cells.emplace_back();
    for (size_t c = 0; c < columns.size(); ++c) {
      const Value* v = row.get(columns[c]);
      line.push_back(v ? scalar_text(*v) : "");
      width[c] = std::max(width[c], line.back().size());
    }
  }
  auto emit = [&](const std::vector<std::string>& line) {
    std::string s(static_cast<size_t>(indent), ' ');
    for (size_t c = 0; c < line.size(); ++c) {
      s += line[c];
      if (c + 1 < line.size()) s += std::string(width[c] - line[c].size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ')
      s.pop_back();
    out += s + '\n';
  };
  std::vector<std::string> header;
  for (const auto& c : columns)
    header.push_back(c);
  emit(header);
  for (const auto& line : cells)
    emit(line);
}

}  // namespace

void Value::write_text(std::string& out, int indent) const {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (is_table(*this)) {
    write_table(out, *this, indent);
    return;
  }
  if (type_ != Type::object) {
    out += pad + scalar_text(*this) + '\n';
    return;
  }
  for (const auto& [k, v] : members_) {
    if (v.is_object() || is_table(v)) {
      out += pad + k + ":\n";
      v.write_text(out, indent + 2);
    } else {
      out += pad + k + ": " + scalar_text(v) + '\n';
    }
  }
}

std::string Value::text() const {
  std::string out;
  write_text(out, 0);
  return out;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::optional<Value> document() {
    auto v = value();
    skip_ws();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      const char e = s_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return std::nullopt;
          unsigned cp = 0;
          auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + 4, cp, 16);
          if (ec != std::errc{} || end != s_.data() + pos_ + 4) return std::nullopt;
          pos_ += 4;
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          } else {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          }
          break;
        }
        default:
          out += e;
      }
    }
    return std::nullopt;
  }

  std::optional<Value> value() {
    if (++depth_ > 64) return std::nullopt;
    skip_ws();
    std::optional<Value> result;
    if (pos_ >= s_.size()) return std::nullopt;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      Value obj = Value::object();
      if (!eat('}')) {
        do {
          auto key = string();
          if (!key || !eat(':')) return std::nullopt;
          auto v = value();
          if (!v) return std::nullopt;
          obj.set(std::move(*key), std::move(*v));
        } while (eat(','));
        if (!eat('}')) return std::nullopt;
      }
      result = std::move(obj);
    } else if (c == '[') {
      ++pos_;
      Value arr = Value::array();
      if (!eat(']')) {
        do {
          auto v = value();
          if (!v) return std::nullopt;
          arr.push(std::move(*v));
        } while (eat(','));
        if (!eat(']')) return std::nullopt;
      }
      result = std::move(arr);
    } else if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      result = Value(std::move(*s));
    } else if (literal("true")) {
      result = Value(true);
    } else if (literal("false")) {
      result = Value(false);
    } else if (literal("null")) {
      result = Value();
    } else {
      result = number();
      if (!result) return std::nullopt;
    }
    --depth_;
    return result;
  }

  // An integer unless it has a fraction or an exponent.
  std::optional<Value> number() {
    const char* begin = s_.data() + pos_;
    const char* last = s_.data() + s_.size();
    int64_t i = 0;
    auto [end, ec] = std::from_chars(begin, last, i);
    if (ec == std::errc{} && (end == last || (*end != '.' && *end != 'e' && *end != 'E'))) {
      pos_ = static_cast<size_t>(end - s_.data());
      return Value(i);
    }
    double d = 0;
    auto [dend, dec] = std::from_chars(begin, last, d);
    if (dec != std::errc{}) return std::nullopt;
    pos_ = static_cast<size_t>(dend - s_.data());
    return Value(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<Value> Value::parse_json(std::string_view text) {
  return Parser(text).document();
}

}  // namespace vswitch::daemon
