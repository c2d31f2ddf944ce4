// DPDK's EAL for in-process tests and benchmarks: the embedded default (no hugepages, no PCI,
// no shared state), started once, and one mbuf pool.
#pragma once

#include <string>
#include <vector>

struct rte_mempool;

namespace vswitch::test {

// Starts EAL if needed; false (with the reason logged) if it cannot start.
bool start_eal();
rte_mempool* test_pool();

}  // namespace vswitch::test
