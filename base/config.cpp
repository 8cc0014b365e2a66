#include "base/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "base/io.h"

namespace hc {
namespace {

std::string describe_node(const YAML::Node& node) {
  if (!node || node.IsNull()) return "null";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  return "a mapping";
}

// ":<line>" of a node read from a file; "" for one built in code (e.g. from Python's keyword
// arguments), which has no line.
std::string line_of(const YAML::Mark& mark) {
  return mark.is_null() ? "" : fmt::format(":{}", mark.line + 1);
}

// Levenshtein distance, for "did you mean" suggestions on misspelt keys.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <class T>
constexpr const char* plural_words() {
  if constexpr (std::is_same_v<T, bool>)
    return "booleans";
  else if constexpr (std::is_integral_v<T>)
    return "integers";
  else if constexpr (std::is_floating_point_v<T>)
    return "numbers";
  else
    return "strings";
}

template <class T>
constexpr const char* type_words() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else
    return "a string";
}

// A key given twice in one mapping: yaml-cpp keeps both and lookups find the first, so the later
// value would be ignored without a word. Each mapping is visited once (aliases share theirs, and
// may even contain themselves), found by its position in the text.
void refuse_duplicate_keys(const YAML::Node& node, const std::string& source,
                           const std::string& path, std::set<int>& visited) {
  if (!node.IsMap() && !node.IsSequence()) return;
  if (!visited.insert(node.Mark().pos).second) return;
  if (node.IsSequence()) {
    for (const auto& child : node) refuse_duplicate_keys(child, source, path, visited);
    return;
  }
  std::map<std::string, int> first_line;
  for (const auto& kv : node) {
    if (kv.first.IsScalar()) {
      const std::string key = kv.first.Scalar();
      const int line = kv.first.Mark().line + 1;
      const std::string full = path.empty() ? key : path + "." + key;
      const auto [at, fresh] = first_line.emplace(key, line);
      if (!fresh)
        throw ConfigError(
            fmt::format("{}:{}: duplicate key '{}' (first given at line {}): give each key once",
                        source, line, full, at->second));
      refuse_duplicate_keys(kv.second, source, full, visited);
    }
  }
}

}  // namespace

std::string shortest(double x) { return fmt::format("{}", x); }

Check<std::string> one_of(std::vector<std::string> choices) {
  std::string words = "one of";
  for (size_t i = 0; i < choices.size(); ++i) words += (i ? ", " : " ") + choices[i];
  return {[choices](const std::string& x) {
            return std::find(choices.begin(), choices.end(), x) != choices.end();
          },
          words};
}

ConfigReader::ConfigReader(const YAML::Node& node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {}

std::string ConfigReader::join(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ConfigReader::require_map() const {
  if (node_ && !node_.IsMap() && !node_.IsNull()) {
    const auto mark = node_.Mark();
    throw ConfigError(fmt::format("{}:{}: {}: expected a mapping of keys to values, got {}", file_,
                                  mark.line + 1, path_.empty() ? "<document>" : path_,
                                  describe_node(node_)));
  }
}

YAML::Node ConfigReader::lookup(const char* key) {
  seen_.insert(key);
  if (!node_ || !node_.IsMap()) return YAML::Node();
  return node_[key];
}

void ConfigReader::fail(const YAML::Node& at, std::string_view key,
                        std::string_view expected) const {
  const auto mark = at.Mark();
  const std::string line = mark.is_null() ? "" : fmt::format("{}:", mark.line + 1);
  throw ConfigError(fmt::format("{}:{} {}: expected {}, got {}", file_, line, join(key), expected,
                                describe_node(at)));
}

void ConfigReader::fail_here(std::string_view message) const {
  const auto mark = node_ ? node_.Mark() : YAML::Mark::null_mark();
  const std::string line = mark.is_null() ? "" : fmt::format("{}:", mark.line + 1);
  throw ConfigError(
      fmt::format("{}:{} {}: {}", file_, line, path_.empty() ? "<document>" : path_, message));
}

void ConfigReader::fail_value(std::string_view key, std::string_view expected,
                              std::string_view got) const {
  std::string line;
  if (node_ && node_.IsMap()) {
    const YAML::Node child = node_[std::string(key)];
    if (child && !child.Mark().is_null()) line = fmt::format("{}:", child.Mark().line + 1);
  }
  throw ConfigError(
      fmt::format("{}:{} {}: expected {}, got {}", file_, line, join(key), expected, got));
}

void ConfigReader::finish() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar())
      throw ConfigError(fmt::format("{}:{}: {}: keys must be plain names, got {}", file_,
                                    kv.first.Mark().line + 1, path_.empty() ? "<document>" : path_,
                                    describe_node(kv.first)));
    const std::string key = kv.first.Scalar();
    if (seen_.count(key)) continue;
    std::string known, suggestion;
    size_t best = 3;  // suggest only near misses
    for (const auto& k : seen_) {
      known += (known.empty() ? "" : ", ") + k;
      const size_t d = edit_distance(key, k);
      if (d < best) best = d, suggestion = k;
    }
    throw ConfigError(fmt::format(
        "{}{}: unknown key '{}'{} (known keys: {})", file_, line_of(kv.first.Mark()), join(key),
        suggestion.empty() ? "" : ", did you mean '" + suggestion + "'?", known));
  }
}

template <class T>
T ConfigReader::convert(const YAML::Node& node, std::string_view key) const {
  if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>) {
    using E = typename T::value_type;
    if (!node.IsSequence()) fail(node, key, std::string("a list of ") + plural_words<E>());
    T out;
    for (size_t i = 0; i < node.size(); ++i) out.push_back(convert<E>(node[i], key));
    return out;
  } else {
    if (!node.IsScalar()) fail(node, key, type_words<T>());
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, key, type_words<T>());
    }
  }
}

template int ConfigReader::convert<int>(const YAML::Node&, std::string_view) const;
template int64_t ConfigReader::convert<int64_t>(const YAML::Node&, std::string_view) const;
template uint64_t ConfigReader::convert<uint64_t>(const YAML::Node&, std::string_view) const;
template double ConfigReader::convert<double>(const YAML::Node&, std::string_view) const;
template float ConfigReader::convert<float>(const YAML::Node&, std::string_view) const;
template bool ConfigReader::convert<bool>(const YAML::Node&, std::string_view) const;
template std::string ConfigReader::convert<std::string>(const YAML::Node&, std::string_view) const;
template std::vector<int> ConfigReader::convert<std::vector<int>>(const YAML::Node&,
                                                                  std::string_view) const;
template std::vector<double> ConfigReader::convert<std::vector<double>>(const YAML::Node&,
                                                                        std::string_view) const;
template std::vector<std::string> ConfigReader::convert<std::vector<std::string>>(
    const YAML::Node&, std::string_view) const;

YAML::Node load_yaml_file(const std::string& path) {
  return load_yaml_string(read_input_file(path, "config file"), path);
}

YAML::Node load_yaml_string(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}:{}: malformed YAML: {}", source, e.mark.line + 1,
                                  e.mark.column + 1, e.msg));
  }
  std::set<int> visited;
  refuse_duplicate_keys(root, source, "", visited);
  return root;
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format(
        "<command line>: override '{}': expected the form section.key=value", assignment));
  const std::string path = assignment.substr(0, eq);
  const YAML::Node value = load_yaml_string(assignment.substr(eq + 1), "<command line> " + path);
  if (!root || !root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  // yaml-cpp nodes are handles: walk down by reassigning a handle, not by reference.
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty())
      throw ConfigError(
          fmt::format("<command line>: override '{}': empty key in '{}'", assignment, path));
    parts.push_back(part);
  }
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next || next.IsNull()) {
      next = YAML::Node(YAML::NodeType::Map);
      chain.back()[parts[i]] = next;
    } else if (!next.IsMap()) {
      throw ConfigError(fmt::format("<command line>: override '{}': '{}' is not a section",
                                    assignment, parts[i]));
    }
    chain.push_back(chain.back()[parts[i]]);
  }
  chain.back()[parts.back()] = value;
}

std::string to_yaml(const YAML::Node& node) {
  YAML::Emitter e;
  e << node;
  return std::string(e.c_str()) + "\n";
}

}  // namespace hc
