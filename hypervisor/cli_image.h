// The image verbs of the atoll command line: seal, inspect, keygen, sign
// (docs/images.md). Each returns the process's exit status.
#pragma once

namespace atl::hv {

int cmd_seal(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_keygen(int argc, char** argv);
int cmd_sign(int argc, char** argv);

extern const char* const kSealHelp;
extern const char* const kInspectHelp;
extern const char* const kKeygenHelp;
extern const char* const kSignHelp;

}  // namespace atl::hv
