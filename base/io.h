// Files that survive a crash: written whole to a temporary file, synced, then renamed over the
// target, so a reader sees the old or the new content, never a mix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hc {

void atomic_write(const std::string& path, std::string_view bytes);

// Fault injection for the crash tests: with HC_CRASH_POINT=<name>:<n> in the environment, the
// n-th call of crash_point(<name>) kills the process with SIGKILL, as a power cut or kill -9
// would at that moment. Without the variable it does nothing (one cached lookup).
void crash_point(const char* name);
std::string read_file(const std::string& path);
// The text of a file a user names as input (a config, a plan): a regular file of at most
// `limit` bytes. Anything else -- missing, a directory, a device such as /dev/zero, too large --
// is a ConfigError naming the path and what it is, before a byte is read.
std::string read_input_file(const std::string& path, const char* what, size_t limit = 1 << 20);
// Throws an Error naming `dir` if a file cannot be created in it (read-only, missing, not a
// directory): checked before work whose result is written there.
void check_writable(const std::string& dir);
// 64-bit checksum of bytes (fast multiply-xorshift mixing; not cryptographic).
uint64_t checksum(std::string_view bytes);
// Keeps the first `lines` lines of a text file (drops what a killed run wrote after its last
// checkpoint).
void truncate_lines(const std::string& path, int64_t lines);
int64_t count_lines(const std::string& path);

// Generated parts of Markdown files: the text between the lines `<!-- KIND:begin NAME -->` and
// `<!-- KIND:end NAME -->`, so a tool can rewrite its part and leave the rest as it is.
struct Region {
  std::string begin, end;  // the two marker lines
  Region(const std::string& kind, const std::string& name);
  // The text between the markers, or nothing if the text lacks them (or has them out of order).
  std::optional<std::string> in(const std::string& text) const;
  // `text` with the part between the markers replaced (the markers kept); `text` must have them.
  std::string replaced(const std::string& text, const std::string& inner) const;
  // The markers around `inner`.
  std::string wrap(const std::string& inner) const;
};

// A JSON document from a file, or an Error naming the file and what is wrong with it.
nlohmann::json read_json(const std::string& path);
// Every line of a JSON-lines file, or an Error naming the file and the line.
std::vector<nlohmann::json> read_json_lines(const std::string& path);

// An exclusive lock on a directory, held while this object lives: an OS file lock (flock) on
// DIR/.lock, released by the kernel when the process ends however it ends, so a killed process
// leaves nothing stale. A second holder gets an Error naming the directory and the process.
// A .lock that is not a plain file of its own (a symbolic link, a hard link to another file, a
// device) is refused, never followed: the lock writes its holder's pid into the file.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace hc
