#include "eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <cstdio>

#include "options.hpp"

namespace vswitch::test {

bool start_eal() {
  static const bool started = [] {
    // The daemon's own embedded default, so the tests start DPDK the way users do.
    std::vector<std::string> words = daemon::default_eal_args(256, LogLevel::error);
    words.insert(words.begin(), "vswitch-test");
    std::vector<char*> argv;
    for (auto& w : words)
      argv.push_back(w.data());
    rte_openlog_stream(stderr);
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
      return false;
    }
    return true;
  }();
  return started;
}

rte_mempool* test_pool() {
  static rte_mempool* pool = start_eal()
                                 ? rte_pktmbuf_pool_create("test_mbufs", 16383, 0, 0,
                                                           RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY)
                                 : nullptr;
  return pool;
}

}  // namespace vswitch::test
