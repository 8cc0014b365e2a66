#include "base/io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "base/error.h"
#include "base/rng.h"

namespace hc {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw Error(fmt::format("{} '{}': {}", what, path, std::strerror(errno)));
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) fail("cannot open", path);
  if (::fsync(fd) != 0 && !directory) {
    ::close(fd);
    fail("cannot sync", path);
  }
  ::close(fd);
}

}  // namespace

void crash_point(const char* name) {
  static const std::string spec = [] {
    const char* e = std::getenv("HC_CRASH_POINT");
    return std::string(e ? e : "");
  }();
  if (spec.empty()) return;
  static std::atomic<int64_t> calls{0};
  const auto colon = spec.rfind(':');
  if (spec.compare(0, colon, name) != 0) return;
  if (++calls == std::atoll(spec.c_str() + colon + 1)) ::kill(::getpid(), SIGKILL);
}

void atomic_write(const std::string& path, std::string_view bytes) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("cannot create", tmp);
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        ::close(fd);
        fail("cannot write", tmp);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      ::close(fd);
      fail("cannot sync", tmp);
    }
    ::close(fd);
  }
  crash_point("atomic_write");  // the new content is on disk but not yet in place
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename onto", path);
  const auto dir = std::filesystem::path(path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), true);
}

Region::Region(const std::string& kind, const std::string& name)
    : begin("<!-- " + kind + ":begin " + name + " -->"),
      end("<!-- " + kind + ":end " + name + " -->") {}

// Offsets of the begin and end markers, the end searched after the begin.
static std::optional<std::pair<size_t, size_t>> locate(const Region& r, const std::string& text) {
  const size_t b = text.find(r.begin);
  const size_t e = b == std::string::npos ? b : text.find(r.end, b);
  if (e == std::string::npos) return std::nullopt;
  return std::pair{b, e};
}

std::optional<std::string> Region::in(const std::string& text) const {
  const auto at = locate(*this, text);
  if (!at) return std::nullopt;
  return text.substr(at->first + begin.size(), at->second - at->first - begin.size());
}

std::string Region::replaced(const std::string& text, const std::string& inner) const {
  const auto at = locate(*this, text);
  if (!at) throw Error("internal: a region's markers are missing: " + begin);
  return text.substr(0, at->first + begin.size()) + inner + text.substr(at->second);
}

std::string Region::wrap(const std::string& inner) const { return begin + inner + end; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::string read_input_file(const std::string& path, const char* what, size_t limit) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw ConfigError(fmt::format("{}: cannot open {}: {}", path, what, std::strerror(errno)));
  // Checked before opening: a pipe would block and a device never ends.
  if (!S_ISREG(st.st_mode))
    throw ConfigError(fmt::format("{}: is {}, not a {}", path, kind_of(st.st_mode), what));
  if (static_cast<uint64_t>(st.st_size) > limit)
    throw ConfigError(
        fmt::format("{}: is {} bytes; a {} is at most {} bytes", path, st.st_size, what, limit));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw ConfigError(fmt::format("{}: cannot open {}: {}", path, what, std::strerror(errno)));
  std::string text(limit + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        throw ConfigError(fmt::format("{}: cannot read {}: {}", path, what, std::strerror(err)));
      }
      break;
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > limit)  // it grew after stat
    throw ConfigError(fmt::format("{}: a {} is at most {} bytes", path, what, limit));
  text.resize(got);
  return text;
}

void check_writable(const std::string& dir) {
  // An unnamed file, which nothing can leave behind; a named one where the file system has none.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    const std::string probe =
        (std::filesystem::path(dir) / fmt::format(".write-test.tmp.{}", ::getpid())).string();
    fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) ::unlink(probe.c_str());
  }
  if (fd < 0) fail("cannot write into", dir);
  ::close(fd);
}

uint64_t checksum(std::string_view bytes) {
  uint64_t h = 0x243f6a8885a308d3ULL ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = mix64(h ^ w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return mix64(h ^ tail ^ 0xff);
}

int64_t count_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return 0;
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

void truncate_lines(const std::string& path, int64_t lines) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  for (int64_t i = 0; i < lines && std::getline(in, line); ++i) kept += line + "\n";
  in.close();
  atomic_write(path, kept);
}

nlohmann::json read_json(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error&) {
    throw Error(fmt::format("'{}' does not exist or cannot be read", path));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("'{}' is not valid JSON (damaged or truncated?): byte {}: {}", path,
                            e.byte, e.what()));
  }
}

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("'{}' does not exist or cannot be read", path));
  std::vector<nlohmann::json> out;
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(
          fmt::format("'{}':{}: not a JSON record (damaged or truncated?): {}", path, n, e.what()));
    }
  }
  return out;
}

DirectoryLock::DirectoryLock(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / ".lock").string();
  // O_NOFOLLOW: a symbolic link planted as .lock would have the pid written into its target.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd_ < 0 && errno == ELOOP)
    throw Error(fmt::format(
        "lock file '{}' is a symbolic link: refusing to follow it (remove it; it is recreated)",
        path));
  if (fd_ < 0) fail("cannot create lock file", path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    const bool regular = S_ISREG(st.st_mode);
    ::close(fd_);
    fd_ = -1;
    throw Error(fmt::format("lock file '{}' is {}: refusing to use it (remove it; it is recreated)",
                            path, regular ? "a hard link to another file" : kind_of(st.st_mode)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {0};
    [[maybe_unused]] const ssize_t got = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(
          fmt::format("run directory '{}' is in use by another process (pid {}): wait for "
                      "it to end or choose another directory",
                      dir, std::string(pid).substr(0, std::string(pid).find('\n'))));
    errno = err;
    fail("cannot lock", path);
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // The pid is only for the message a second process shows; the lock holds without it.
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace hc
