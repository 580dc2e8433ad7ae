// ProcessGroupGloo. Built when gloo's headers were found (LIGHTPEFT_WITH_GLOO); torch's wheel
// exports the symbols from libtorch_cpu.so. Everything this file touches of gloo is held through
// shared_ptr, so the layout of torch's classes does not depend on which gloo headers we compile with.
#include "backends.h"

#include <cstdlib>

#include "lightpeft/core/error.h"

#ifdef LIGHTPEFT_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

namespace lightpeft::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                    int size, std::chrono::milliseconds timeout,
                                                    const std::string& master_addr) {
#ifdef LIGHTPEFT_WITH_GLOO
  using c10d::ProcessGroupGloo;
  auto options = ProcessGroupGloo::Options::create(timeout);
  // GLOO_SOCKET_IFNAME (as torch.distributed reads it) picks the network interfaces; a job whose
  // rendezvous is on the loopback stays there; otherwise gloo picks the interface of the hostname.
  if (const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME"); ifnames && *ifnames) {
    std::string list = ifnames;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) options->devices.push_back(ProcessGroupGloo::createDeviceForInterface(list.substr(start, comma - start)));
      start = comma + 1;
    }
  } else if (master_addr == "127.0.0.1" || master_addr == "localhost") {
    options->devices.push_back(ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    options->devices.push_back(ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = 2;
  return c10::make_intrusive<ProcessGroupGloo>(store, rank, size, options);
#else
  (void)store, (void)rank, (void)size, (void)timeout, (void)master_addr;
  throw_error("distributed: this lightpeft was built without gloo's headers, so it has no CPU (Gloo) "
              "backend; install them (Debian: apt-get install libgloo-dev) and rebuild");
#endif
}

}  // namespace lightpeft::dist::detail
