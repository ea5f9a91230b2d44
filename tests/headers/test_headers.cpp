// Real headers (glibc and Debian's -dev packages) read by CScope::include through the C
// preprocessor, and real calls of the libraries made from what the header declares alone:
// the signatures, callback signatures and constants come from the header; each argument is a
// literal written for its declared type (parse_value), as an interpreter would pass it.
// This file also includes the headers itself, but only to check tramp's reading against the
// compiler's: record layouts (sizeof, offsetof) and constants' values.
#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <expat.h>
#include <math.h>
#include <openssl/evp.h>
#include <png.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "tramp/tramp.hpp"

namespace {

const char* const kHeaders[] = {"stdio.h", "stdlib.h", "string.h", "math.h", "time.h",
                                "pthread.h", "signal.h", "unistd.h", "sys/socket.h", "zlib.h",
                                "sqlite3.h", "png.h", "curl/curl.h", "openssl/evp.h", "expat.h"};

// Each header read once (lenient, with its constants), shared by the test cases.
const tramp::CScope& scope_of(const std::string& header) {
  static std::map<std::string, tramp::CScope> scopes;
  auto it = scopes.find(header);
  if (it == scopes.end()) {
    tramp::CScope s;
    s.include(header);
    it = scopes.emplace(header, std::move(s)).first;
  }
  return it->second;
}

// The functions gcc itself declares for `header`: its -aux-info prototypes, static ones left
// out (no library has them), as CScope leaves them out.
std::set<std::string> gcc_function_names(const std::string& header) {
  const std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  const std::string stem = dir + "/tramp-aux-" + std::to_string(::getpid());
  {
    std::ofstream(stem + ".c") << "#include <" << header << ">\n";
  }
  const std::string cmd = "cc -aux-info " + stem + ".txt -S -o /dev/null " + stem + ".c";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(stem + ".txt");
  std::set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    // "/* /usr/include/stdio.h:152:NC */ extern int remove (const char *);"
    const std::size_t code = line.find("*/ ");
    if (code == std::string::npos || line.compare(code + 3, 7, "static ") == 0) continue;
    // The name is the first word followed by a '(' that opens a parameter list rather than
    // a nested declarator: "int (*signal (int, ...))(int)", "struct t (*f (void))[1]".
    std::size_t begin = 0, end = 0;
    for (std::size_t i = code + 3; i < line.size() && line[i] != ';'; ++i) {
      if (line[i] != '(') continue;
      std::size_t k = i + 1;
      while (k < line.size() && line[k] == ' ') ++k;
      if (k < line.size() && line[k] == '*') continue;
      end = i;
      while (end > 0 && line[end - 1] == ' ') --end;
      begin = end;
      while (begin > 0 && (std::isalnum(static_cast<unsigned char>(line[begin - 1])) || line[begin - 1] == '_')) --begin;
      if (begin < end) break;
    }
    if (begin == end) {  // "extern fn_t name;": a function declared through a function type
      end = line.find(';', code);
      begin = end;
      while (begin > 0 && (std::isalnum(static_cast<unsigned char>(line[begin - 1])) || line[begin - 1] == '_')) --begin;
    }
    names.insert(line.substr(begin, end - begin));
  }
  std::remove((stem + ".c").c_str());
  std::remove((stem + ".txt").c_str());
  return names;
}

// Each library opened once and never closed: what it allocates for itself and keeps in its
// own globals (libcurl's version string, libcrypto's tables) stays reachable, rather than
// turning into leaks LeakSanitizer reports from an unloaded "<unknown module>".
tramp::Library library(const std::string& name) {
  static auto* open = new std::map<std::string, tramp::Library>();
  auto it = open->find(name);
  if (it == open->end()) it = open->emplace(name, tramp::Library::open(name)).first;
  return it->second;
}

// A call from the header's knowledge: each argument a literal of the parameter's declared
// type (or, after `...`, of its promoted type), the result as raw bytes.
struct Caller {
  tramp::Library lib;
  const tramp::CScope& scope;
  std::deque<std::string> strings;

  template <class R>
  R call(const char* name, const std::vector<std::string>& literals) {
    const tramp::CFunction* decl = scope.function(name);
    INFO(name);
    REQUIRE(decl != nullptr);
    tramp::Function f = tramp::Engine::global().function(lib, scope, name);
    const tramp::Signature& sig = f.signature();
    REQUIRE(literals.size() == sig.args().size());
    std::vector<std::vector<unsigned char>> storage;
    std::vector<void*> args;
    storage.reserve(literals.size());
    for (std::size_t i = 0; i < literals.size(); ++i) {
      storage.emplace_back(sig.args()[i]->size() + 16);
      void* slot = align16(storage.back().data());
      tramp::parse_value(literals[i], sig.args()[i], slot, strings);
      args.push_back(slot);
    }
    if constexpr (!std::is_void_v<R>) {
      REQUIRE(sig.ret()->size() == sizeof(R));
      R result{};
      f(&result, args.data());
      return result;
    } else {
      REQUIRE(sig.ret()->is_void());
      f(nullptr, args.data());
    }
  }
  static void* align16(unsigned char* p) {
    return reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(p) + 15) & ~std::uintptr_t{15});
  }
};

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(p)));
  return p ? buf : "null";
}

const tramp::CConstant& constant(const tramp::CScope& s, const char* name) {
  const tramp::CConstant* c = s.constant(name);
  INFO(name);
  REQUIRE(c != nullptr);
  return *c;
}

}  // namespace

TEST_CASE("the 15 headers parse whole: every declaration understood, every function gcc declares",
          "[headers]") {
  std::printf("%-14s %6s %10s %9s %9s %8s\n", "header", "decls", "understood", "functions", "constants", "ms");
  for (const char* h : kHeaders) {
    INFO(h);
    const auto t0 = std::chrono::steady_clock::now();
    const tramp::CScope& s = scope_of(h);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::set<std::string> function_names, constant_names;
    for (const tramp::CFunction& f : s.functions()) function_names.insert(f.name);
    for (const tramp::CConstant& c : s.constants()) constant_names.insert(c.name);
    std::printf("%-14s %6zu %10zu %9zu %9zu %8.1f\n", h, s.declaration_count(), s.declaration_count() - s.skipped().size(),
                function_names.size(), constant_names.size(), ms);
    CHECK(s.declaration_count() > 10);
    std::string not_understood;
    for (const tramp::CSkipped& k : s.skipped()) not_understood += k.name + ": " + k.message + "\n";
    CHECK(not_understood == "");
    std::set<std::string> ours;
    for (const tramp::CFunction& f : s.functions()) ours.insert(f.name);
    std::set<std::string> missing;
    for (const std::string& n : gcc_function_names(h))
      if (!ours.count(n)) missing.insert(n);
    std::string list;
    for (const std::string& n : missing) list += n + " ";
    INFO("declared by gcc, not read by tramp: " << list);
    CHECK(missing.empty());
    CHECK(ours.size() > 10);
  }
}

TEST_CASE("a header read twice into one scope: every typedef, record and function again, identical", "[headers]") {
  for (const char* h : kHeaders) {
    INFO(h);
    tramp::CScope s = scope_of(h);
    const std::size_t skipped = s.skipped().size(), functions = s.functions().size();
    s.include(h);  // the include guards are the preprocessor's: all of it comes again
    CHECK(s.skipped().size() == 2 * skipped);
    CHECK(s.functions().size() == 2 * functions);
  }
}

TEST_CASE("records read from real headers have the compiler's layout", "[headers]") {
  auto check = [](const char* header, const char* name, std::size_t size, std::size_t align) {
    INFO(header << ": " << name);
    const tramp::Type* t = scope_of(header).type(name);
    REQUIRE(t != nullptr);
    CHECK(t->size() == size);
    CHECK(t->align() == align);
  };
  check("stdio.h", "struct _IO_FILE", sizeof(FILE), alignof(FILE));
  check("time.h", "struct tm", sizeof(struct tm), alignof(struct tm));
  check("time.h", "struct timespec", sizeof(struct timespec), alignof(struct timespec));
  check("pthread.h", "pthread_mutex_t", sizeof(pthread_mutex_t), alignof(pthread_mutex_t));
  check("pthread.h", "pthread_attr_t", sizeof(pthread_attr_t), alignof(pthread_attr_t));
  check("signal.h", "struct sigaction", sizeof(struct sigaction), alignof(struct sigaction));
  check("signal.h", "siginfo_t", sizeof(siginfo_t), alignof(siginfo_t));
  check("sys/socket.h", "struct sockaddr_storage", sizeof(struct sockaddr_storage), alignof(struct sockaddr_storage));
  check("sys/socket.h", "struct cmsghdr", sizeof(struct cmsghdr), alignof(struct cmsghdr));  // a flexible array member
  check("zlib.h", "z_stream", sizeof(z_stream), alignof(z_stream));
  check("zlib.h", "gz_header", sizeof(gz_header), alignof(gz_header));
  check("png.h", "png_color", sizeof(png_color), alignof(png_color));
  check("png.h", "png_image", sizeof(png_image), alignof(png_image));
  check("curl/curl.h", "curl_version_info_data", sizeof(curl_version_info_data), alignof(curl_version_info_data));
  check("curl/curl.h", "struct curl_hstsentry", sizeof(struct curl_hstsentry), alignof(struct curl_hstsentry));
  check("expat.h", "XML_Memory_Handling_Suite", sizeof(XML_Memory_Handling_Suite), alignof(XML_Memory_Handling_Suite));
  check("openssl/evp.h", "struct evp_cipher_info_st", sizeof(EVP_CIPHER_INFO), alignof(EVP_CIPHER_INFO));
  const tramp::Type* z = scope_of("zlib.h").type("z_stream");
  REQUIRE(z != nullptr);
  for (const tramp::Field& f : z->fields()) {
    INFO(f.name);
    if (f.name == "avail_in") CHECK(f.offset == offsetof(z_stream, avail_in));
    if (f.name == "adler") CHECK(f.offset == offsetof(z_stream, adler));
  }
  // curl's one bit-field, at the bit where the compiler sets it, and the member after it.
  struct curl_hstsentry e;
  std::memset(&e, 0, sizeof e);
  e.includeSubDomains = 1;
  std::size_t set_bit = 0;
  for (std::size_t b = 0; b < sizeof e * 8; ++b)
    if (reinterpret_cast<const unsigned char*>(&e)[b / 8] >> (b % 8) & 1) set_bit = b;
  const tramp::Type* hsts = scope_of("curl/curl.h").type("struct curl_hstsentry");
  REQUIRE(hsts != nullptr);
  for (const tramp::Field& f : hsts->fields()) {
    INFO(f.name);
    if (f.name == "includeSubDomains") {
      CHECK(f.bit_width == 1);
      CHECK(f.offset * 8 + f.bit_offset == set_bit);
    }
    if (f.name == "expire") CHECK(f.offset == offsetof(struct curl_hstsentry, expire));
  }
  // A flexible array member's record works through a pointer only.
  CHECK_THROWS_WITH(tramp::CScope(scope_of("sys/socket.h")).parse("struct cmsghdr by_value(void);"),
                    Catch::Contains("ends in a flexible array member"));
}

TEST_CASE("#define and enum constants from real headers, with their C types", "[headers]") {
  const tramp::CScope& z = scope_of("zlib.h");
  CHECK(constant(z, "Z_OK").integer == Z_OK);
  CHECK(constant(z, "Z_BEST_COMPRESSION").integer == Z_BEST_COMPRESSION);
  CHECK(constant(z, "Z_DEFLATED").type == tramp::Type::i32());
  CHECK(constant(z, "ZLIB_VERSION").kind == tramp::CConstant::Kind::String);
  CHECK(constant(z, "ZLIB_VERSION").string == ZLIB_VERSION);
  CHECK(constant(z, "ZLIB_VERNUM").integer == ZLIB_VERNUM);
  const tramp::CScope& q = scope_of("sqlite3.h");
  CHECK(constant(q, "SQLITE_VERSION").string == SQLITE_VERSION);
  CHECK(constant(q, "SQLITE_IOERR_READ").integer == SQLITE_IOERR_READ);  // (SQLITE_IOERR | (1<<8))
  CHECK(constant(q, "SQLITE_TRANSIENT").type == tramp::Type::pointer());  // ((sqlite3_destructor_type)-1)
  CHECK(static_cast<std::uint64_t>(constant(q, "SQLITE_TRANSIENT").integer) == UINT64_MAX);
  const tramp::CScope& m = scope_of("math.h");
  CHECK(constant(m, "M_PI").kind == tramp::CConstant::Kind::Float);
  CHECK(constant(m, "M_PI").type == tramp::Type::f64());
  CHECK(static_cast<double>(constant(m, "M_PI").floating) == M_PI);
  CHECK(constant(m, "INFINITY").type == tramp::Type::f32());
  CHECK(constant(m, "FP_NAN").integer == FP_NAN);  // an enumerator, and a #define of itself
  const tramp::CScope& io = scope_of("stdio.h");
  CHECK(constant(io, "EOF").integer == EOF);
  CHECK(constant(io, "BUFSIZ").integer == BUFSIZ);
  CHECK(constant(io, "NULL").type == tramp::Type::pointer());
  const tramp::CScope& c = scope_of("curl/curl.h");
  CHECK(constant(c, "CURLOPT_URL").integer == CURLOPT_URL);  // an enumerator: 10000 + 2
  CHECK(constant(c, "CURL_GLOBAL_ALL").integer == CURL_GLOBAL_ALL);
  CHECK(constant(c, "LIBCURL_VERSION").string == LIBCURL_VERSION);
  const tramp::CScope& e = scope_of("openssl/evp.h");
  CHECK(constant(e, "EVP_MAX_MD_SIZE").integer == EVP_MAX_MD_SIZE);
  CHECK(constant(e, "EVP_MAX_MD_SIZE").type == tramp::Type::i32());
  CHECK(constant(e, "OPENSSL_VERSION_TEXT").string == OPENSSL_VERSION_TEXT);
  const tramp::CScope& x = scope_of("expat.h");
  CHECK(constant(x, "XML_STATUS_OK").integer == XML_STATUS_OK);
  const tramp::CScope& p = scope_of("png.h");
  CHECK(constant(p, "PNG_LIBPNG_VER_STRING").string == PNG_LIBPNG_VER_STRING);
  CHECK(constant(p, "PNG_COLOR_TYPE_RGBA").integer == PNG_COLOR_TYPE_RGBA);
  const tramp::CScope& sg = scope_of("signal.h");
  CHECK(constant(sg, "SIGINT").integer == SIGINT);
  CHECK(constant(sg, "SIG_IGN").type == tramp::Type::pointer());  // ((__sighandler_t) 1)
  CHECK(constant(sg, "SIG_IGN").integer == 1);
}

TEST_CASE("zlib from zlib.h alone: compress2 and uncompress round trip, crc32", "[headers][calls]") {
  Caller z{library("libz.so.1"), scope_of("zlib.h"), {}};
  const std::string text = "tramp reads zlib.h and calls zlib: tramp reads zlib.h and calls zlib.";
  // uLong crc32(uLong crc, const Bytef *buf, uInt len)
  const auto crc = z.call<unsigned long>("crc32", {"0", "\"abc\"", "3"});
  CHECK(crc == 0x352441c2);
  const auto bound = z.call<unsigned long>("compressBound", {std::to_string(text.size())});
  std::vector<unsigned char> packed(bound);
  unsigned long packed_len = bound;
  // int compress2(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen, int level)
  const int rc = z.call<int>("compress2", {hex(packed.data()), hex(&packed_len), hex(text.data()), std::to_string(text.size()),
                                           std::to_string(constant(z.scope, "Z_BEST_COMPRESSION").integer)});
  CHECK(rc == constant(z.scope, "Z_OK").integer);
  CHECK(packed_len < text.size());
  std::string back(text.size(), '\0');
  unsigned long back_len = back.size();
  const int rc2 = z.call<int>("uncompress", {hex(back.data()), hex(&back_len), hex(packed.data()), std::to_string(packed_len)});
  CHECK(rc2 == 0);
  CHECK(back_len == text.size());
  CHECK(back == text);
}

TEST_CASE("sqlite3 from sqlite3.h alone: open, exec with a callback, close", "[headers][calls]") {
  Caller q{library("libsqlite3.so.0"), scope_of("sqlite3.h"), {}};
  void* db = nullptr;
  CHECK(q.call<int>("sqlite3_open", {"\":memory:\"", hex(&db)}) == 0);
  REQUIRE(db != nullptr);
  // int sqlite3_exec(sqlite3*, const char *sql, int (*callback)(void*,int,char**,char**), void *, char **errmsg)
  const tramp::CFunction* exec = q.scope.function("sqlite3_exec");
  REQUIRE(exec != nullptr);
  REQUIRE(exec->callbacks.size() == 5);
  REQUIRE(exec->callbacks[2] != nullptr);
  CHECK(exec->callbacks[2]->str() == "i32(ptr, i32, ptr, ptr)");
  std::vector<std::string> rows;
  tramp::Callback row = tramp::Engine::global().callback(*exec->callbacks[2], [&](void* ret, void* const* args) {
    const int n = *static_cast<int*>(args[1]);
    char** values = *static_cast<char***>(args[2]);
    std::string r;
    for (int i = 0; i < n; ++i) r += std::string(i ? "," : "") + (values[i] ? values[i] : "NULL");
    rows.push_back(r);
    *static_cast<int*>(ret) = 0;
  });
  char* err = nullptr;
  const int rc = q.call<int>("sqlite3_exec",
                             {hex(db),
                              "\"create table t(a, b); insert into t values (1, 'one'), (2, 'two'); "
                              "select a, b from t order by a;\"",
                              hex(row.code()), "null", hex(&err)});
  CHECK(rc == constant(q.scope, "SQLITE_OK").integer);
  CHECK(err == nullptr);
  CHECK(rows == std::vector<std::string>{"1,one", "2,two"});
  CHECK(q.call<int>("sqlite3_close", {hex(db)}) == 0);
}

TEST_CASE("libpng and curl from their headers alone: version strings", "[headers][calls]") {
  Caller p{library("libpng16.so.16"), scope_of("png.h"), {}};
  CHECK(p.scope.function("png_get_libpng_ver")->returns_c_string);
  const char* ver = p.call<const char*>("png_get_libpng_ver", {"null"});
  REQUIRE(ver != nullptr);
  CHECK(std::string(ver) == constant(p.scope, "PNG_LIBPNG_VER_STRING").string);
  Caller c{library("libcurl.so.4"), scope_of("curl/curl.h"), {}};
  const char* cv = c.call<const char*>("curl_version", {});
  REQUIRE(cv != nullptr);
  CHECK(std::string(cv).rfind("libcurl/" + constant(c.scope, "LIBCURL_VERSION").string, 0) == 0);
}

TEST_CASE("OpenSSL from openssl/evp.h alone: a SHA-256 digest", "[headers][calls]") {
  Caller e{library("libcrypto.so.3"), scope_of("openssl/evp.h"), {}};
  void* ctx = e.call<void*>("EVP_MD_CTX_new", {});
  REQUIRE(ctx != nullptr);
  void* md = e.call<void*>("EVP_sha256", {});
  REQUIRE(md != nullptr);
  CHECK(e.call<int>("EVP_DigestInit_ex", {hex(ctx), hex(md), "null"}) == 1);
  CHECK(e.call<int>("EVP_DigestUpdate", {hex(ctx), "\"abc\"", "3"}) == 1);
  unsigned char digest[64] = {};
  unsigned int len = 0;
  CHECK(e.call<int>("EVP_DigestFinal_ex", {hex(ctx), hex(digest), hex(&len)}) == 1);
  e.call<void>("EVP_MD_CTX_free", {hex(ctx)});
  REQUIRE(len == 32);
  std::string h;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", digest[i]);
    h += b;
  }
  CHECK(h == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2, "abc"
}

TEST_CASE("expat from expat.h alone: a document parsed with element callbacks", "[headers][calls]") {
  Caller x{library("libexpat.so.1"), scope_of("expat.h"), {}};
  const tramp::Signature* start_sig = x.scope.function_type("XML_StartElementHandler");
  const tramp::Signature* end_sig = x.scope.function_type("XML_EndElementHandler");
  REQUIRE(start_sig != nullptr);
  REQUIRE(end_sig != nullptr);
  CHECK(start_sig->str() == "void(ptr, ptr, ptr)");
  CHECK(end_sig->str() == "void(ptr, ptr)");
  std::vector<std::string> events;
  tramp::Callback on_start = tramp::Engine::global().callback(*start_sig, [&](void*, void* const* args) {
    const char* name = *static_cast<const char**>(args[1]);
    const char** atts = *static_cast<const char***>(args[2]);
    std::string e = std::string("<") + name;
    for (int i = 0; atts[i]; i += 2) e += std::string(" ") + atts[i] + "=" + atts[i + 1];
    events.push_back(e);
  });
  tramp::Callback on_end = tramp::Engine::global().callback(*end_sig, [&](void*, void* const* args) {
    events.push_back(std::string("/") + *static_cast<const char**>(args[1]));
  });
  void* parser = x.call<void*>("XML_ParserCreate", {"null"});
  REQUIRE(parser != nullptr);
  x.call<void>("XML_SetElementHandler", {hex(parser), hex(on_start.code()), hex(on_end.code())});
  const std::string doc = "<doc kind=\"test\"><item n=\"1\"/><item n=\"2\">text</item></doc>";
  const int status = x.call<int>("XML_Parse", {hex(parser), hex(doc.c_str()), std::to_string(doc.size()), "1"});
  CHECK(status == constant(x.scope, "XML_STATUS_OK").integer);
  x.call<void>("XML_ParserFree", {hex(parser)});
  CHECK(events == std::vector<std::string>{"<doc kind=test", "<item n=1", "/item", "<item n=2", "/item", "/doc"});
}
