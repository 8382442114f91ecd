#include "response.h"

namespace atl::httpd {

std::string_view reason_phrase(Status s) {
  switch (s) {
    case Status::Ok: return "OK";
    case Status::PartialContent: return "Partial Content";
    case Status::MovedPermanently: return "Moved Permanently";
    case Status::NotModified: return "Not Modified";
    case Status::BadRequest: return "Bad Request";
    case Status::Forbidden: return "Forbidden";
    case Status::NotFound: return "Not Found";
    case Status::MethodNotAllowed: return "Method Not Allowed";
    case Status::RequestTimeout: return "Request Timeout";
    case Status::ContentTooLarge: return "Content Too Large";
    case Status::UriTooLong: return "URI Too Long";
    case Status::RangeNotSatisfiable: return "Range Not Satisfiable";
    case Status::InternalServerError: return "Internal Server Error";
    case Status::ServiceUnavailable: return "Service Unavailable";
    case Status::VersionNotSupported: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

ResponseHead::ResponseHead(Status status, std::string_view date) {
  m_text.reserve(256);
  m_text += "HTTP/1.1 ";
  m_text += std::to_string(code_of(status));
  m_text += ' ';
  m_text += reason_phrase(status);
  m_text += "\r\n";
  add("Server", "atoll-httpd");
  add("Date", date);
}

void ResponseHead::add(std::string_view name, std::string_view value) {
  m_text += name;
  m_text += ": ";
  m_text += value;
  m_text += "\r\n";
}

void ResponseHead::add(std::string_view name, uint64_t value) { add(name, std::to_string(value)); }

std::string ResponseHead::finish() && {
  m_text += "\r\n";
  return std::move(m_text);
}

std::string error_page(Status s) {
  std::string title = std::to_string(code_of(s)) + " " + std::string(reason_phrase(s));
  return "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head>\n<body><h1>" + title +
         "</h1></body></html>\n";
}

}  // namespace atl::httpd
