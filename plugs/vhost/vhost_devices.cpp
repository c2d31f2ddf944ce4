#include "vhost/vhost_devices.hpp"

#include <rte_vhost.h>

#include <limits.h>

#include <mutex>
#include <utility>
#include <vector>

#include "vhost/vhost_port.hpp"

namespace vswitch::plugs::vhost {

namespace {

std::mutex g_mu;
std::vector<std::pair<std::string, VhostPort*>> g_ports;

// Runs fn(port) for the device's port, under the registry's lock so the port cannot go
// meanwhile.
template <typename Fn>
void with_port(int vid, Fn fn) {
  char path[PATH_MAX];
  if (rte_vhost_get_ifname(vid, path, sizeof path) != 0) return;
  std::lock_guard lock(g_mu);
  for (auto& [p, port] : g_ports) {
    if (p == path) {
      fn(*port);
      return;
    }
  }
}

int on_new_device(int vid) {
  with_port(vid, [vid](VhostPort& p) { p.tell(VhostPort::News::device_up, vid); });
  return 0;
}

void on_destroy_device(int vid) {
  with_port(vid, [vid](VhostPort& p) {
    p.release_device(vid);
    p.tell(VhostPort::News::device_down, vid);
  });
}

int on_vring_state_changed(int vid, uint16_t queue, int enable) {
  with_port(vid, [=](VhostPort& p) {
    p.tell(enable ? VhostPort::News::queue_on : VhostPort::News::queue_off, vid, queue);
  });
  return 0;
}

int on_new_connection(int vid) {
  with_port(vid, [vid](VhostPort& p) { p.tell(VhostPort::News::connected, vid); });
  return 0;
}

void on_destroy_connection(int vid) {
  with_port(vid, [vid](VhostPort& p) { p.tell(VhostPort::News::gone, vid); });
}

const rte_vhost_device_ops kOps = [] {
  rte_vhost_device_ops ops{};
  ops.new_device = on_new_device;
  ops.destroy_device = on_destroy_device;
  ops.vring_state_changed = on_vring_state_changed;
  ops.new_connection = on_new_connection;
  ops.destroy_connection = on_destroy_connection;
  return ops;
}();

}  // namespace

void add_port(const std::string& path, VhostPort* port) {
  std::lock_guard lock(g_mu);
  g_ports.emplace_back(path, port);
}

void remove_port(const std::string& path) {
  std::lock_guard lock(g_mu);
  std::erase_if(g_ports, [&](const auto& e) { return e.first == path; });
}

const rte_vhost_device_ops* device_ops() {
  return &kOps;
}

}  // namespace vswitch::plugs::vhost
