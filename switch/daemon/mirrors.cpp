#include "mirrors.hpp"

#include "spec.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

void set_direction(MirrorRequest& r, const std::string& d) {
  if (d != "in" && d != "out" && d != "both") {
    throw ConfigError("mirror direction is in, out or both, not '" + d + "'");
  }
  r.received = d != "out";
  r.sent = d != "in";
}

}  // namespace

MirrorRequest parse_mirror(const std::vector<std::string>& words) {
  if (words.empty() || words[0].find('=') != std::string::npos) {
    throw ConfigError(std::string("a mirror is ") + kMirrorSyntax);
  }
  MirrorRequest r;
  r.name = words[0];
  for (size_t i = 1; i < words.size(); ++i) {
    const size_t eq = words[i].find('=');
    if (eq == std::string::npos) throw ConfigError("'" + words[i] + "' is not key=value");
    const std::string key = words[i].substr(0, eq), value = words[i].substr(eq + 1);
    if (key == "src") {
      r.sources = port_name_list(value);
    } else if (key == "dst") {
      r.output = value;
    } else if (key == "direction") {
      set_direction(r, value);
    } else if (key == "vlan") {
      r.vlans = VlanSet::parse(value);
      if (!r.vlans) throw ConfigError("mirror " + r.name + ": '" + value + "' is not a VLAN list");
    } else {
      throw ConfigError("mirror " + r.name + ": unknown key '" + key + "'; a mirror is " +
                        kMirrorSyntax);
    }
  }
  if (r.sources.empty() || r.output.empty()) {
    throw ConfigError("mirror " + r.name + " needs src= and dst=; a mirror is " + kMirrorSyntax);
  }
  return r;
}

void add_mirror(Engine& engine, const MirrorRequest& r) {
  const auto out = engine.find_port(r.output);
  if (!out) throw ConfigError("mirror " + r.name + ": no port named " + r.output);
  MirrorSettings m;
  m.name = r.name;
  m.output = out->id;
  m.received = r.received;
  m.sent = r.sent;
  m.vlans = r.vlans;
  for (const std::string& name : r.sources) {
    const auto src = engine.find_port(name);
    if (!src) throw ConfigError("mirror " + r.name + ": no port named " + name);
    if (src->segment != out->segment) {
      throw ConfigError("mirror " + r.name + ": " + name + " and " + r.output +
                        " are in different segments");
    }
    m.sources.push_back(src->id);
  }
  for (const auto& s : engine.segments()) {
    for (const auto& existing : s->mirrors()) {
      if (existing->settings.name == r.name) {
        throw ConfigError("mirror " + r.name + " exists (segment " + s->name() + ")");
      }
    }
  }
  out->segment->add_mirror(std::move(m));
}

void remove_mirror(Engine& engine, const std::string& name) {
  for (const auto& s : engine.segments()) {
    for (const auto& m : s->mirrors()) {
      if (m->settings.name == name) {
        s->remove_mirror(name);
        return;
      }
    }
  }
  throw ConfigError("no mirror named " + name);
}

Value mirror_rows(const Engine& engine) {
  Value rows = Value::array();
  for (const auto& s : engine.segments()) {
    for (const auto& m : s->mirrors()) {
      const MirrorSettings& ms = m->settings;
      Value sources = Value::array();
      for (uint16_t id : ms.sources)
        sources.push(s->port(id)->name());
      const char* direction = ms.received && ms.sent ? "both" : ms.received ? "in" : "out";
      Value row = Value::object();
      row.set("name", ms.name)
          .set("segment", s->name())
          .set("src", std::move(sources))
          .set("dst", s->port(ms.output)->name())
          .set("direction", direction)
          .set("vlan", ms.vlans ? ms.vlans->str() : std::string("all"))
          .set("frames", m->counters.frames)
          .set("no_buffer", m->counters.no_buffer);
      rows.push(std::move(row));
    }
  }
  return rows;
}

}  // namespace vswitch::daemon
