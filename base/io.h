// Files that survive a crash: written whole to a temporary file, synced, then renamed over the
// target, so a reader sees the old or the new content, never a mix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hc {

void atomic_write(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);
// 64-bit checksum of bytes (fast multiply-xorshift mixing; not cryptographic).
uint64_t checksum(std::string_view bytes);
// Keeps the first `lines` lines of a text file (drops what a killed run wrote after its last
// checkpoint).
void truncate_lines(const std::string& path, int64_t lines);
int64_t count_lines(const std::string& path);

}  // namespace hc
