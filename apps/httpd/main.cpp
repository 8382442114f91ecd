// httpd: a static file server for one document root. The same source runs as an
// Atoll appliance and as a Linux program (httpd-native) for tests and benchmarks.
#include <stdio.h>

#include "options.h"
#include "server.h"

int main(int argc, char** argv) {
  using namespace atl::httpd;
  OptionsResult parsed = parse_options(argc, argv);
  if (parsed.kind == OptionsResult::Kind::Help) {
    fputs(usage_text(), stdout);
    return 0;
  }
  if (parsed.kind == OptionsResult::Kind::Error) {
    fprintf(stderr, "httpd: %s\n%s", parsed.error.c_str(), usage_text());
    return 2;
  }
  const Options& options = parsed.options;
  std::string error;
  std::unique_ptr<Server> server = Server::try_create(options, error);
  if (!server) {
    fprintf(stderr, "httpd: %s\n", error.c_str());
    return 1;
  }
  printf("httpd: serving %s on %s\n", options.root.c_str(), listen_address(options).c_str());
  if (server->memory_budget() != 0)
    printf("httpd: memory budget %llu KiB for connections; beyond it new ones get 503\n",
           static_cast<unsigned long long>(server->memory_budget() >> 10));
  fflush(stdout);
  int status = server->run();
  fprintf(stderr, "httpd: poll failed, exiting\n");
  return status;
}
