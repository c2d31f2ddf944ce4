#include "privileges.hpp"

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

using CapMask = uint64_t;  // bit N: capability N

// The capabilities a port may keep, and the ones a message may mention; the rest go by number.
constexpr std::pair<int, const char*> kCapabilityNames[] = {
    {CAP_CHOWN, "CAP_CHOWN"},         {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"},
    {CAP_SETGID, "CAP_SETGID"},       {CAP_SETUID, "CAP_SETUID"},
    {CAP_SETPCAP, "CAP_SETPCAP"},     {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
    {CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {CAP_NET_RAW, "CAP_NET_RAW"},
    {CAP_IPC_LOCK, "CAP_IPC_LOCK"},   {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
};

std::optional<unsigned long> number(const std::string& text) {
  unsigned long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

pid_t thread_id() {
  return static_cast<pid_t>(syscall(SYS_gettid));
}

struct CapSets {
  CapMask effective = 0, permitted = 0, inheritable = 0;
};

// capget/capset with the 64-bit (version 3) layout; `tid` 0 is the calling thread.
bool get_caps(pid_t tid, CapSets& out) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, tid};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  auto join = [&](auto field) { return CapMask{data[0].*field} | CapMask{data[1].*field} << 32; };
  out.effective = join(&__user_cap_data_struct::effective);
  out.permitted = join(&__user_cap_data_struct::permitted);
  out.inheritable = join(&__user_cap_data_struct::inheritable);
  return true;
}

// Async-signal-safe: the other threads run it in a signal handler.
bool set_own_caps(CapMask effective, CapMask permitted) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int word = 0; word < 2; ++word) {
    data[word].effective = static_cast<uint32_t>(effective >> (32 * word));
    data[word].permitted = static_cast<uint32_t>(permitted >> (32 * word));
  }
  return syscall(SYS_capset, &header, data) == 0;
}

int last_capability() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = CAP_LAST_CAP;
  in >> last;
  return last;
}

// What each thread does, in two steps around the change of identity; set before the threads are
// told, read in their signal handlers.
struct ThreadPlan {
  CapMask keep = 0;  // the main thread's; every other thread keeps none
  bool narrow_bounding = false;
  int last_cap = CAP_LAST_CAP;
};
ThreadPlan g_plan;
std::atomic<int> g_step{0};
std::atomic<int> g_answers{0};

// Before the change: no privilege by exec, no ambient capabilities, the bounding set narrowed.
// Needs CAP_SETPCAP for the last, which the change would take.
bool limit_thread() {
  if (g_plan.narrow_bounding) {
    for (int c = 0; c <= g_plan.last_cap; ++c) {
      if ((g_plan.keep >> c & 1) == 0 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) return false;
    }
  }
  // EINVAL: a kernel without ambient capabilities has none to clear.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return false;
  }
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
}

// After the change: the main thread keeps its share, the others nothing.
bool settle_thread(bool main_thread) {
  const CapMask keep = main_thread ? g_plan.keep : 0;
  return set_own_caps(keep, keep);
}

// The first failure's errno, 0 while none failed.
std::atomic<int> g_error{0};

enum Step : int { kLimit = 1, kSettle = 2 };

void run_step(int step, bool main_thread) {
  if (!(step == kLimit ? limit_thread() : settle_thread(main_thread))) {
    int none = 0;
    g_error.compare_exchange_strong(none, errno ? errno : EPERM);
  }
}

void on_thread_signal(int) {
  const int saved = errno;
  run_step(g_step.load(), false);
  g_answers.fetch_add(1);
  errno = saved;
}

std::set<pid_t> threads() {
  std::set<pid_t> tids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (auto n = number(e->d_name)) tids.insert(static_cast<pid_t>(*n));
    }
    closedir(d);
  }
  return tids;
}

std::string thread_name(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name.empty() ? "thread " + std::to_string(tid) : name + " (" + std::to_string(tid) + ")";
}

// Runs a step on this thread and, through a signal each, on every other one; throws when one
// fails or does not answer within a second (one that blocks the signal, say).
void on_every_thread(int step, const char* what) {
  const int sig = SIGRTMIN + 5;
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = on_thread_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, &old);
  if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
    sigaction(sig, &old, nullptr);
    throw ConfigError(std::string(what) + ": signal " + std::to_string(sig) + " is taken");
  }
  g_step = step;
  g_answers = 0;
  g_error = 0;
  const pid_t self = thread_id();
  std::set<pid_t> told;
  run_step(step, true);
  // A thread started meanwhile is found by looking again.
  for (std::set<pid_t> now = threads();; now = threads()) {
    int added = 0;
    for (pid_t tid : now) {
      if (tid == self || told.count(tid)) continue;
      if (syscall(SYS_tgkill, getpid(), tid, sig) == 0) {
        told.insert(tid);
        ++added;
      }
    }
    if (added == 0) break;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (g_answers.load() < static_cast<int>(told.size()) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (g_answers.load() < static_cast<int>(told.size())) {
      sigaction(sig, &old, nullptr);
      std::string names;
      for (pid_t tid : threads()) {
        if (tid != self) names += (names.empty() ? "" : ", ") + thread_name(tid);
      }
      throw ConfigError(std::string(what) + ": not every thread answered within a second (" +
                        names + ")");
    }
  }
  sigaction(sig, &old, nullptr);
  if (const int err = g_error.load())
    throw ConfigError(std::string(what) + ": " + std::strerror(err));
}

std::string mask_names(const std::vector<KeptCapability>& caps) {
  std::string out;
  for (const KeptCapability& c : caps)
    out += (out.empty() ? "" : ", ") + capability_name(c.number) + " (" + c.reason + ")";
  return out;
}

}  // namespace

std::string capability_name(int n) {
  for (auto [number, name] : kCapabilityNames) {
    if (number == n) return name;
  }
  return "capability " + std::to_string(n);
}

Identity parse_identity(const std::string& text) {
  const size_t colon = text.find(':');
  const std::string user = text.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (user.empty()) throw ConfigError("no user named");
  if (colon != std::string::npos && group.empty()) throw ConfigError("no group after ':'");
  Identity who;
  char buf[16384];
  passwd pw{};
  passwd* found = nullptr;
  getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found);
  const auto user_number = number(user);
  if (found == nullptr && user_number) {
    getpwuid_r(static_cast<uid_t>(*user_number), &pw, buf, sizeof buf, &found);
  }
  if (found) {
    who.user = found->pw_name;
    who.uid = found->pw_uid;
    who.gid = found->pw_gid;
  } else if (user_number && !group.empty()) {
    who.user = user;
    who.uid = static_cast<uid_t>(*user_number);
  } else {
    throw ConfigError(user_number
                          ? "no user has uid " + user + ": name a group too (" + user + ":GROUP)"
                          : "no user named '" + user + "'");
  }
  if (!group.empty()) {
    struct group gr {};
    struct group* g = nullptr;
    getgrnam_r(group.c_str(), &gr, buf, sizeof buf, &g);
    const auto group_number = number(group);
    if (g == nullptr && group_number) {
      getgrgid_r(static_cast<gid_t>(*group_number), &gr, buf, sizeof buf, &g);
    }
    if (g) {
      who.gid = g->gr_gid;
    } else if (group_number) {
      who.gid = static_cast<gid_t>(*group_number);
    } else {
      throw ConfigError("no group named '" + group + "'");
    }
  }
  struct group gr {};
  struct group* g = nullptr;
  getgrgid_r(who.gid, &gr, buf, sizeof buf, &g);
  who.group = g ? g->gr_name : std::to_string(who.gid);
  // The user's groups as login would give them, with the chosen one among them.
  who.groups = {who.gid};
  if (found) {
    int n = 64;
    std::vector<gid_t> list(static_cast<size_t>(n));
    if (getgrouplist(who.user.c_str(), who.gid, list.data(), &n) < 0) {
      list.resize(static_cast<size_t>(n));
      getgrouplist(who.user.c_str(), who.gid, list.data(), &n);
    }
    list.resize(static_cast<size_t>(std::max(n, 0)));
    if (!list.empty()) who.groups = list;
  }
  return who;
}

std::string why_cannot_become(const Identity& who) {
  if (geteuid() == 0) return "";
  if (getuid() == who.uid && geteuid() == who.uid && getgid() == who.gid && getegid() == who.gid) {
    return "";
  }
  return "vswitchd runs as uid " + std::to_string(geteuid()) + " and gid " +
         std::to_string(getegid()) + "; only root may become another user";
}

Change become(const Identity& who, const std::vector<KeptCapability>& keep) {
  CapSets had;
  if (!get_caps(0, had)) throw ConfigError(std::string("capget: ") + std::strerror(errno));
  Change change;
  CapMask kept = 0;
  for (const KeptCapability& c : keep) {
    if (had.permitted >> c.number & 1) {
      if ((kept >> c.number & 1) == 0) change.kept.push_back(c);
      kept |= CapMask{1} << c.number;
    } else {
      change.lacked.push_back(c);
    }
  }
  g_plan.keep = kept;
  g_plan.last_cap = last_capability();
  g_plan.narrow_bounding = (had.effective >> CAP_SETPCAP & 1) != 0;
  change.bounding_narrowed = g_plan.narrow_bounding;

  on_every_thread(kLimit, "limiting the threads");
  const bool from_root = geteuid() == 0;
  if (from_root) {
    // glibc changes the ids of every thread at once; the kernel then clears the capabilities
    // of each, but for the one that asked to keep them (and only until capset below).
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
        setgroups(who.groups.size(), who.groups.data()) != 0 ||
        setresgid(who.gid, who.gid, who.gid) != 0 || setresuid(who.uid, who.uid, who.uid) != 0) {
      throw ConfigError("becoming " + who.user + ": " + std::strerror(errno));
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (who.uid != 0 && setuid(0) == 0) throw ConfigError("could become root again");
  }
  on_every_thread(kSettle, "setting the threads' capabilities");

  // Each thread as the kernel now sees it.
  const pid_t self = thread_id();
  for (pid_t tid : threads()) {
    CapSets now;
    if (!get_caps(tid, now)) continue;  // gone meanwhile
    const CapMask want = tid == self ? kept : 0;
    if (now.effective != want || now.permitted != want || now.inheritable != 0) {
      throw ConfigError("capabilities of " + thread_name(tid) + " are not what was set");
    }
  }
  return change;
}

std::string describe(const Identity& who, const Change& change) {
  std::string line = "running as " + who.user + ":" + who.group + " (uid " +
                     std::to_string(who.uid) + ", gid " + std::to_string(who.gid) + ")";
  if (change.kept.empty()) {
    line += " with no capabilities: no port needs one once open";
  } else {
    line += ", keeping " + mask_names(change.kept);
  }
  if (!change.bounding_narrowed) line += "; bounding set left as given (no CAP_SETPCAP)";
  return line;
}

}  // namespace vswitch::daemon
