#include "trainer/metrics_files.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/io.h"

namespace hc::trainer {
namespace fs = std::filesystem;
namespace {

// The text of the first `n` complete (newline-terminated) lines, and how many there were.
std::string first_lines(const std::string& text, int64_t n, int64_t& found) {
  size_t end = 0;
  found = 0;
  while (found < n) {
    const size_t nl = text.find('\n', end);
    if (nl == std::string::npos) break;
    end = nl + 1;
    ++found;
  }
  return text.substr(0, end);
}

int64_t complete_lines(const std::string& text) {
  return static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
}

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  // Two writes, so that a crash test can stop the process with half a record on disk.
  const size_t half = text.size() / 2;
  out.write(text.data(), static_cast<std::streamsize>(half));
  out.flush();
  crash_point("metrics_append");
  out.write(text.data() + half, static_cast<std::streamsize>(text.size() - half));
  out.flush();
  if (!out) throw Error(fmt::format("cannot write '{}'", path));
}

std::string csv_value(double v) { return std::isfinite(v) ? fmt::format("{}", v) : ""; }

std::vector<std::string> columns_of(const std::string& header) {
  std::vector<std::string> columns;
  for (size_t at = 0, comma; at <= header.size(); at = comma + 1) {
    comma = header.find(',', at);
    if (comma == std::string::npos) comma = header.size();
    columns.push_back(header.substr(at, comma - at));
  }
  return columns;
}

// A record's CSV line, its values in the order of `columns` (the first is the step), as write()
// wrote it.
std::string csv_row(int64_t step, const std::vector<std::string>& columns,
                    const nlohmann::json& record) {
  std::string out = std::to_string(step);
  for (size_t c = 1; c < columns.size(); ++c) {
    const auto& v = record.contains(columns[c]) ? record[columns[c]] : nlohmann::json();
    out += "," + (v.is_number() ? csv_value(v.get<double>()) : std::string());
  }
  return out + "\n";
}

}  // namespace

std::string MetricsFiles::path(int file) const { return (fs::path(dir_) / kNames[file]).string(); }

void MetricsFiles::write(const std::string& kind, int64_t step, const Metrics& m) {
  nlohmann::json j = {{"kind", kind}, {"step", step}};
  for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  append(path(0), j.dump() + "\n");
  ++lines_[0];
  const int which = kind == "train" ? 1 : 2;
  std::string csv;
  if (lines_[which] == 0) {
    headers_[which] = "step";
    for (const auto& [k, v] : m) headers_[which] += "," + k;
    csv = headers_[which] + "\n";
    ++lines_[which];
  }
  csv += std::to_string(step);
  for (const auto& [k, v] : m) csv += "," + csv_value(v);
  append(path(which), csv + "\n");
  ++lines_[which];
}

MetricsState MetricsFiles::state() const {
  MetricsState s;
  for (int f = 0; f < 3; ++f) {
    int64_t found = 0;
    const std::string text = fs::exists(path(f)) ? read_file(path(f)) : std::string();
    s.files[f] = {lines_[f], checksum(first_lines(text, lines_[f], found)), headers_[f]};
  }
  return s;
}

std::vector<std::string> MetricsFiles::restore(const MetricsState& state, bool apply) {
  std::vector<std::string> repairs;
  // metrics.jsonl: the records up to the checkpoint must all be there, unchanged.
  const MetricsFileState& want = state.files[0];
  const std::string text = fs::exists(path(0)) ? read_file(path(0)) : std::string();
  int64_t found = 0;
  const std::string kept = first_lines(text, want.lines, found);
  if (found < want.lines)
    throw Error(fmt::format(
        "'{}' holds {} complete records, but the checkpoint was written after {}: records were "
        "lost and cannot be recovered; restore the file or start the run again",
        path(0), found, want.lines));
  if (state.has_checksums && want.lines > 0 && checksum(kept) != want.checksum)
    throw Error(fmt::format(
        "'{}' differs from what the checkpoint recorded in its first {} records (checksum "
        "mismatch): it was changed after it was written; restore the file or start the run again",
        path(0), want.lines));
  if (kept.size() != text.size()) {
    if (apply) atomic_write(path(0), kept);
    repairs.push_back(fmt::format("{}: dropped {} bytes written after the checkpoint{}", kNames[0],
                                  text.size() - kept.size(),
                                  text.back() != '\n' ? " (a torn last line among them)" : ""));
  }
  if (apply) lines_[0] = want.lines;

  // The CSVs: keep them if they hold what was recorded, else rebuild them from the records.
  for (int f = 1; f < 3; ++f) {
    const MetricsFileState& csv = state.files[f];
    const std::string have = fs::exists(path(f)) ? read_file(path(f)) : std::string();
    int64_t n = 0;
    const std::string prefix = first_lines(have, csv.lines, n);
    const bool intact = n == csv.lines && (csv.lines == 0 || !state.has_checksums ||
                                           checksum(prefix) == csv.checksum);
    if (apply) {
      headers_[f] = csv.header;
      lines_[f] = csv.lines;
    }
    if (intact) {
      if (apply && prefix.size() != have.size()) atomic_write(path(f), prefix);
      continue;
    }
    if (!state.has_checksums || (csv.header.empty() && csv.lines > 0))
      throw Error(
          fmt::format("'{}' is damaged and this checkpoint's format does not record its "
                      "columns; restore the file or start the run again",
                      path(f)));
    // Rebuild: every record of this kind in metrics.jsonl, in the recorded column order.
    const std::string kind = f == 1 ? "train" : "eval";
    const std::vector<std::string> columns = columns_of(csv.header);
    std::string out = csv.lines > 0 ? csv.header + "\n" : "";
    size_t start = 0;
    for (int64_t line = 0; line < want.lines; ++line) {
      const size_t nl = kept.find('\n', start);
      const nlohmann::json j = nlohmann::json::parse(kept.substr(start, nl - start));
      start = nl + 1;
      if (j["kind"] != kind) continue;
      out += csv_row(j["step"].get<int64_t>(), columns, j);
    }
    if (complete_lines(out) != csv.lines)
      throw Error(
          fmt::format("'{}' cannot be rebuilt: '{}' holds {} {} records, the checkpoint "
                      "recorded {} lines",
                      path(f), path(0), complete_lines(out) - (csv.lines > 0), kind, csv.lines));
    if (apply) atomic_write(path(f), out);
    repairs.push_back(
        fmt::format("{}: rebuilt from {} ({} lines)", kNames[f], kNames[0], csv.lines));
  }
  return repairs;
}

std::string MetricsFiles::check_final(const MetricsState& state, const std::string& kind,
                                      int64_t step, const nlohmann::json& values) const {
  nlohmann::json record = {{"kind", kind}, {"step", step}};
  for (const auto& [k, v] : values.items()) record[k] = v;
  const int which = kind == "train" ? 1 : 2;
  for (int f = 0; f < 3; ++f) {
    const MetricsFileState& at = state.files[f];
    const std::string text = fs::exists(path(f)) ? read_file(path(f)) : std::string();
    int64_t found = 0;
    const std::string kept = first_lines(text, at.lines, found);
    if (found < at.lines || (state.has_checksums && at.lines > 0 && checksum(kept) != at.checksum))
      return fmt::format("'{}' differs from what the last checkpoint recorded", path(f));
    std::string tail;
    if (f == 0) {
      tail = record.dump() + "\n";
    } else if (f == which) {
      // The header comes with the first record of a kind; a finished run has had its first
      // evaluation (at step 0) before its last checkpoint.
      if (at.header.empty()) return fmt::format("'{}' has no recorded columns", path(f));
      tail = csv_row(step, columns_of(at.header), record);
    }
    if (text.compare(kept.size(), std::string::npos, tail) != 0)
      return fmt::format(
          "'{}' does not end with the run's final {} record (step {}) that summary.json holds",
          path(f), kind, step);
  }
  return "";
}

}  // namespace hc::trainer
