// Content types by extension, the hand-made command-line parser and the log line.
#include <gtest/gtest.h>

#include <vector>

#include "access_log.h"
#include "mime.h"
#include "options.h"

namespace atl::httpd {
namespace {

TEST(Mime, KnowsTheCommonTypes) {
  EXPECT_EQ(mime_type_for("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("/INDEX.HTM"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("/s.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type_for("/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type_for("/d.json"), "application/json");
  EXPECT_EQ(mime_type_for("/a.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(mime_type_for("/p.png"), "image/png");
  EXPECT_EQ(mime_type_for("/p.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("/p.JPEG"), "image/jpeg");
  EXPECT_EQ(mime_type_for("/p.gif"), "image/gif");
  EXPECT_EQ(mime_type_for("/p.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type_for("/favicon.ico"), "image/x-icon");
  EXPECT_EQ(mime_type_for("/m.wasm"), "application/wasm");
  EXPECT_EQ(mime_type_for("/d.pdf"), "application/pdf");
  EXPECT_EQ(mime_type_for("/f.xml"), "application/xml");
  EXPECT_EQ(mime_type_for("/f.woff2"), "font/woff2");
}

TEST(Mime, FallsBackToOctetStream) {
  EXPECT_EQ(mime_type_for("/README"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("/.html"), "application/octet-stream");  // a dotfile, not an extension
  EXPECT_EQ(mime_type_for("/dir.html/file"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("/x.tar.gz"), "application/octet-stream");
}

OptionsResult parse(std::vector<const char*> args) {
  args.insert(args.begin(), "httpd");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(Options, Defaults) {
  OptionsResult r = parse({});
  ASSERT_EQ(r.kind, OptionsResult::Kind::Run);
  EXPECT_EQ(r.options.port, 80);
  EXPECT_EQ(r.options.root, "/srv");
  EXPECT_EQ(r.options.addr, "0.0.0.0");
  EXPECT_EQ(r.options.max_conns, 4096u);
  EXPECT_EQ(r.options.header_timeout_ms, 10'000u);
  EXPECT_EQ(r.options.idle_timeout_ms, 60'000u);
  EXPECT_EQ(r.options.memory_budget, 0u);
  EXPECT_FALSE(r.options.quiet);
}

TEST(Options, ParsesEveryOption) {
  OptionsResult r = parse({"--port", "8080", "--addr=127.0.0.1", "--root", "/www/", "--quiet", "--max-conns", "10",
                           "--header-timeout", "0.5", "--idle-timeout=2", "--memory-budget", "3M"});
  ASSERT_EQ(r.kind, OptionsResult::Kind::Run) << r.error;
  EXPECT_EQ(r.options.port, 8080);
  EXPECT_EQ(r.options.addr, "127.0.0.1");
  EXPECT_EQ(r.options.root, "/www");
  EXPECT_TRUE(r.options.quiet);
  EXPECT_EQ(r.options.max_conns, 10u);
  EXPECT_EQ(r.options.header_timeout_ms, 500u);
  EXPECT_EQ(r.options.idle_timeout_ms, 2000u);
  EXPECT_EQ(r.options.memory_budget, 3u << 20);
  EXPECT_EQ(parse({"--memory-budget=640K"}).options.memory_budget, 640u << 10);
  EXPECT_EQ(parse({"--memory-budget", "65536"}).options.memory_budget, 65536u);
  EXPECT_EQ(parse({"--root", "/"}).options.root, "/");
  EXPECT_EQ(listen_address(r.options), "127.0.0.1:8080");
  EXPECT_EQ(listen_address(parse({"--addr", "::1", "--port", "81"}).options), "[::1]:81");
}

TEST(Options, RejectsBadInput) {
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"--port", "65536"}, {"--port", "-1"}, {"--port"}, {"--bogus"}, {"--max-conns", "0"},
           {"--header-timeout", "0"}, {"--idle-timeout", "1.2345"}, {"--idle-timeout", "x"}, {"--root="},
           {"--memory-budget", "1K"}, {"--memory-budget", "M"}, {"--memory-budget", "-4M"}, {"--memory-budget", "4G"},
           {"--memory-budget", "2000000M"}})
    EXPECT_EQ(parse(bad).kind, OptionsResult::Kind::Error) << bad[0];
  EXPECT_EQ(parse({"--help"}).kind, OptionsResult::Kind::Help);
}

TEST(AccessLog, FormatsACommonLogLine) {
  Request req;
  req.method = "GET";
  req.target = "/a\"b";
  LogRecord rec{"10.0.0.1", &req, Status::Ok, 1234, 57, 784111777};
  EXPECT_EQ(format_log_line(rec), "10.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /a\\\"b HTTP/1.1\" 200 1234 57us\n");
  rec.request = nullptr;
  rec.status = Status::BadRequest;
  EXPECT_EQ(format_log_line(rec), "10.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"-\" 400 1234 57us\n");
}

}  // namespace
}  // namespace atl::httpd
