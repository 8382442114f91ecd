// libFuzzer target for domain configs (hypervisor/config/): the xl.cfg
// grammar, the keys, the vif and disk strings and command-line overrides.
//
// The input is a config file's text; after a NUL byte, each line is one
// KEY=VALUE override. Every file a config names exists here.
//
// What must hold: an error names the input ("fuzz.cfg:" or "command line:")
// and says something; a config that is read prints a resolved config that
// reads back to the same resolved config. Anything else (crash, leak, UB,
// hang) is for the sanitizers and libFuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "domain_spec.h"

namespace {

atl::hv::SpecSources sources_for(std::string text, std::vector<std::string> overrides) {
  atl::hv::SpecSources s;
  s.text = std::move(text);
  s.name = "fuzz.cfg";
  s.dir = "/cfg";
  s.cwd = "/cwd";
  s.overrides = std::move(overrides);
  s.check_file = [](const std::string&) { return std::string(); };
  return s;
}

[[noreturn]] void broken(const char* what, const std::string& detail) {
  fprintf(stderr, "xl-cfg fuzz: %s\n%s\n", what, detail.c_str());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::vector<std::string> overrides;
  if (nul != std::string::npos) {
    size_t start = nul + 1;
    while (start <= input.size()) {
      size_t end = input.find('\n', start);
      if (end == std::string::npos) end = input.size();
      overrides.push_back(input.substr(start, end - start));
      start = end + 1;
    }
    input.resize(nul);
  }
  auto spec = atl::hv::read_domain_spec(sources_for(input, overrides));
  if (!spec.ok()) {
    std::string e = spec.error().to_string();
    if (e.rfind("fuzz.cfg", 0) != 0 && e.rfind("command line: ", 0) != 0) broken("an error that names no input", e);
    if (spec.error().message.empty()) broken("an error that says nothing", e);
    return 0;
  }
  std::string resolved = spec.value().to_cfg();
  auto again = atl::hv::read_domain_spec(sources_for(resolved, {}));
  if (!again.ok()) broken("the resolved config does not read back", resolved + "\n" + again.error().to_string());
  if (again.value().to_cfg() != resolved) broken("the resolved config reads back differently", resolved);
  return 0;
}
