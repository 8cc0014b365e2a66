#include "base/io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename onto", path);
  const auto dir = std::filesystem::path(path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), true);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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

}  // namespace hc
