#include "control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vswitch::cli {

namespace {

constexpr int kTimeoutMs = 10000;

std::nullopt_t fail(ControlError* error, bool unreachable, std::string message) {
  if (error) *error = ControlError{unreachable, std::move(message)};
  return std::nullopt;
}

}  // namespace

std::optional<daemon::Value> request_json(const std::string& socket_path,
                                          const std::vector<std::string>& args,
                                          ControlError* error) {
  daemon::Value argv = daemon::Value::array();
  for (const auto& a : args)
    argv.push(a);
  daemon::Value req = daemon::Value::object();
  req.set("args", std::move(argv)).set("format", "json");
  const std::string request = req.json() + "\n";

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return fail(error, true, "socket path too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = strerror(errno);
    if (fd >= 0) close(fd);
    return fail(error, true, "cannot reach vswitchd at " + socket_path + ": " + why);
  }
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return fail(error, true, std::string("send: ") + strerror(errno));
  }
  std::string reply;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, kTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      close(fd);
      return fail(error, true, "no reply from vswitchd within 10 s");
    }
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t nl = reply.find('\n');
  const std::string status = reply.substr(0, nl);
  const std::string body = nl == std::string::npos ? "" : reply.substr(nl + 1);
  if (status == "error") {
    return fail(error, false,
                body.empty() || body.back() != '\n' ? body : body.substr(0, body.size() - 1));
  }
  auto value = status == "ok" ? daemon::Value::parse_json(body) : std::nullopt;
  if (!value) return fail(error, true, "malformed reply from vswitchd");
  return value;
}

}  // namespace vswitch::cli
