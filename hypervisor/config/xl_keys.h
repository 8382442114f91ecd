// The keys of a domain config, one reader each (xl_keys.cpp), and the checks
// across keys once all are read. Private to domain_spec.cpp.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "domain_spec.h"

namespace atl::hv {

struct SpecBuilder {
  const SpecSources& sources;
  DomainSpec spec;
  std::map<std::string, cfg::Origin> seen;  // key -> where it was set last
};

std::optional<cfg::Error> apply_setting(SpecBuilder& b, const cfg::Setting& setting);
std::optional<cfg::Error> finish_spec(SpecBuilder& b);

// Domain names: what `atoll console NAME` and xenstore's name key can carry
// without quoting, and never a number, which would read as a domain id.
constexpr const char* kDomainNameRule =
    "1 to 64 letters, digits, '-', '_' or '.', not all digits (that reads as a domain id)";
bool is_domain_name(const std::string& name);

// A value as the user wrote it, for messages: 16, 'lots', a list.
std::string shown(const cfg::Value& v);

}  // namespace atl::hv
