// The system C preprocessor as a child process: posix_spawnp with an argument vector (no
// shell, so no quoting of header names, paths or defines can inject a command), the source
// in a private temporary directory, stdout and stderr into files there (no pipe to drain,
// so no deadlock on a large output).
#include "core/preprocessor.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tramp/error.hpp"

extern char** environ;

namespace tramp::detail {

namespace {

// A mkdtemp directory removed with the files this module puts in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/tramp-cpp-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data()))
      throw Error(ErrorCode::Library, "cannot make a temporary directory for the preprocessor: " + std::string(std::strerror(errno)));
    path_ = buf.data();
  }
  ~TempDir() {
    for (const char* f : {"in.c", "out.i", "err.txt"}) unlink(file(f).c_str());
    rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

std::string run_preprocessor(const std::vector<std::string>& command, const std::vector<std::string>& arguments,
                             const std::string& input) {
  if (command.empty() || command[0].empty()) throw Error(ErrorCode::Library, "no C preprocessor command given");
  TempDir dir;
  {
    std::ofstream in(dir.file("in.c"), std::ios::binary);
    in << input;
    if (!in) throw Error(ErrorCode::Library, "cannot write the preprocessor's input in " + dir.file("in.c"));
  }
  std::vector<std::string> args = command;
  args.insert(args.end(), arguments.begin(), arguments.end());
  args.push_back(dir.file("in.c"));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  const std::string out = dir.file("out.i"), err = dir.file("err.txt");
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    if (rc == ENOENT)
      throw Error(ErrorCode::Library, "no C preprocessor: '" + command[0] +
                                          "' was not found (install a C compiler, or name one in CHeaderOptions::preprocessor)");
    throw Error(ErrorCode::Library, "cannot run the C preprocessor '" + command[0] + "': " + std::strerror(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(ErrorCode::Library, "waiting for the C preprocessor: " + std::string(std::strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string message = read_file(err);
    if (message.size() > 2000) message = message.substr(0, 2000) + "...";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                              : "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    throw Error(ErrorCode::Library, "the C preprocessor failed (" + joined(args) + ": " + how + ")" +
                                        (message.empty() ? "" : ":\n" + message));
  }
  return read_file(out);
}

}  // namespace tramp::detail
