// A DomainSpec as the `atoll run` arguments that build the same domain, so
// `atoll create CFG` runs exactly what `atoll run` would with the equivalent
// flags (until the fleet daemon of issue 13 builds domains from specs itself).
#pragma once

#include <string>
#include <vector>

#include "domain_spec.h"

namespace atl::hv {

// The arguments after `atoll run`: options, IMAGE, then `--` and the guest's
// arguments. An error (message only) when flags cannot say it: a disk path
// with a comma, or vdevs that are not xvda, xvdb, ... without a gap.
cfg::Parsed<std::vector<std::string>> run_args(const DomainSpec& spec);

// The guest's arguments back from the text after its name, split as the guest
// splits its command line (kernel/boot.cpp): whitespace separates, double
// quotes group, backslash escapes the next character. quote_arg's inverse.
std::vector<std::string> split_guest_args(const std::string& text);

// `atoll run ARGS...` for a person to read or paste into a shell.
std::string shell_command(const std::vector<std::string>& args);

}  // namespace atl::hv
