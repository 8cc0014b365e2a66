// Reading configuration structs from YAML with validation.
//
// A config struct lists its fields once, in a `fields(V&)` template; that single list drives
// parsing, validation, unknown-key errors and printing:
//
//   struct MazeConfig {
//     int grid_size = 11;
//     template <class V> void fields(V& v) {
//       v("grid_size", grid_size, "side of the square grid (cells)", odd() && in_range(5, 31));
//     }
//   };
//
// Keys with a fixed set of values are enums, parsed at load time: specialise EnumNames with the
// name of every value once, and the reader, writer and documentation use it.
//
// Errors read "<file>:<line>: <key path>: expected <what>, got <value>".
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/error.h"

namespace hc {

// The names of an enum's values, in order:
//   template <> struct EnumNames<Support> {
//     static constexpr std::pair<Support, const char*> values[] = {{Support::kRandom, "random"}};
//   };
template <class E>
struct EnumNames;

template <class T>
concept NamedEnum = std::is_enum_v<T> && requires { EnumNames<T>::values; };

template <NamedEnum E>
const char* name_of(E e) {
  for (const auto& [v, n] : EnumNames<E>::values)
    if (v == e) return n;
  return "?";
}

// Parses a name; returns false if it names no value.
template <NamedEnum E>
bool parse_name(std::string_view s, E& out) {
  for (const auto& [v, n] : EnumNames<E>::values)
    if (s == n) {
      out = v;
      return true;
    }
  return false;
}

// The value of a name, or an Error naming the choices.
template <NamedEnum E>
E enum_value(std::string_view s);

// "a, b, c": every name, for messages.
template <NamedEnum E>
std::string names_of() {
  std::string s;
  for (const auto& [v, n] : EnumNames<E>::values) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

template <NamedEnum E>
E enum_value(std::string_view s) {
  E e{};
  if (!parse_name(s, e))
    throw Error(fmt::format("'{}' is not one of {}", s, names_of<E>()));
  return e;
}

// A predicate on a field's value plus the words that describe what it accepts.
template <class T>
struct Check {
  std::function<bool(const T&)> ok;
  std::string expected;  // e.g. "an odd integer in [5, 31]"
};

template <class T>
Check<T> operator&&(Check<T> a, Check<T> b) {
  return {[a, b](const T& x) { return a.ok(x) && b.ok(x); }, a.expected + ", " + b.expected};
}

// Closed interval [lo, hi].
template <class T>
Check<T> in_range(T lo, T hi) {
  return {[=](const T& x) { return x >= lo && x <= hi; }, fmt::format("a value in [{}, {}]", lo, hi)};
}
// Open interval (lo, hi).
inline Check<double> in_open_range(double lo, double hi) {
  return {[=](const double& x) { return x > lo && x < hi; },
          fmt::format("a value in ({}, {})", lo, hi)};
}
template <class T>
Check<T> at_least(T lo) {
  return {[=](const T& x) { return x >= lo; }, fmt::format("a value >= {}", lo)};
}
inline Check<double> positive() {
  return {[](const double& x) { return x > 0; }, "a value > 0"};
}
inline Check<int> odd() {
  return {[](const int& x) { return x % 2 == 1; }, "an odd integer"};
}
Check<std::string> one_of(std::vector<std::string> choices);
// A subset of an enum's values.
template <NamedEnum E>
Check<E> one_of(std::vector<E> choices) {
  std::string words = "one of";
  for (size_t i = 0; i < choices.size(); ++i) words += (i ? ", " : " ") + std::string(name_of(choices[i]));
  return {[choices](const E& x) { return std::find(choices.begin(), choices.end(), x) != choices.end(); },
          words};
}

// Where a config came from, for error messages.
struct ConfigSource {
  std::string file;  // file name or "<command line>" / "<defaults>"
};

// Reads fields of one YAML mapping. Visiting a field consumes its key; finish() reports
// any key that no field consumed.
class ConfigReader {
 public:
  // `path` is the dotted key path of this mapping ("" for the document root).
  ConfigReader(const YAML::Node& node, std::string file, std::string path);

  template <class T, class C = Check<T>>
  void operator()(const char* key, T& value, const char* doc, const C& check = C{}) {
    (void)doc;
    const YAML::Node child = lookup(key);
    if (!child) return;  // keep the default
    if constexpr (requires { value.fields(*this); }) {
      ConfigReader sub(child, file_, join(key));
      sub.require_map();
      value.fields(sub);
      sub.finish();
    } else if constexpr (NamedEnum<T>) {
      const std::string expected = check.ok ? check.expected : "one of " + names_of<T>();
      if (!child.IsScalar() || !parse_name(child.Scalar(), value)) fail(child, key, expected);
      if (check.ok && !check.ok(value)) fail(child, key, expected);
    } else {
      value = convert<T>(child, key);
      if (check.ok && !check.ok(value)) fail(child, key, check.expected);
    }
  }

  // Reports unknown keys (with a suggestion for near misses).
  void finish() const;
  void require_map() const;

  // Throws a ConfigError naming this file, the node's line and the key path.
  [[noreturn]] void fail(const YAML::Node& at, std::string_view key,
                         std::string_view expected) const;
  // Error about a relation between fields, reported at this mapping.
  [[noreturn]] void fail_here(std::string_view message) const;
  // Error about a field's value found invalid after reading (e.g. against another field);
  // names the key and, when the key is in the file, its line.
  [[noreturn]] void fail_value(std::string_view key, std::string_view expected,
                               std::string_view got) const;
  // Marks a key as known without reading it (e.g. the `name` of a family section).
  void allow(const char* key) { seen_.insert(key); }

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string join(std::string_view key) const;

 private:
  YAML::Node lookup(const char* key);
  template <class T>
  T convert(const YAML::Node& node, std::string_view key) const;

  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string> seen_;
};

// A value as a YAML node. Floating-point values are written in their shortest form that reads
// back to the same bits (0.9, not 0.90000000000000002).
std::string shortest(double x);
template <class T>
YAML::Node to_node(const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    return YAML::Node(shortest(value));
  } else if constexpr (NamedEnum<T>) {
    return YAML::Node(std::string(name_of(value)));
  } else if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& x : value) n.push_back(to_node(x));
    return n;
  } else {
    return YAML::Node(value);
  }
}

// Writes fields to a YAML node (for resolved configs in run directories and `hypercomp envs`).
class ConfigWriter {
 public:
  explicit ConfigWriter(YAML::Node& out) : out_(out) {}
  template <class T, class C = Check<T>>
  void operator()(const char* key, const T& value, const char* doc, const C& = C{}) {
    if constexpr (requires { const_cast<T&>(value).fields(*this); }) {
      YAML::Node sub(YAML::NodeType::Map);
      ConfigWriter w(sub);
      const_cast<T&>(value).fields(w);
      out_[key] = sub;
    } else {
      out_[key] = to_node(value);
    }
  }

 private:
  YAML::Node& out_;
};

// Collects (key, doc) pairs, for documentation listings.
class ConfigDocs {
 public:
  struct Entry {
    std::string key, doc, expected, value;
  };
  template <class T, class C = Check<T>>
  void operator()(const char* key, const T& value, const char* doc, const C& check = C{}) {
    if constexpr (requires { const_cast<T&>(value).fields(*this); }) {
      std::string saved = prefix_;
      prefix_ += std::string(key) + ".";
      const_cast<T&>(value).fields(*this);
      prefix_ = saved;
    } else {
      YAML::Emitter e;
      e << YAML::Flow << to_node(value);
      std::string expected = check.expected;
      if constexpr (NamedEnum<T>)
        if (expected.empty()) expected = "one of " + names_of<T>();
      entries.push_back({prefix_ + key, doc, expected, e.c_str()});
    }
  }
  std::vector<Entry> entries;

 private:
  std::string prefix_;
};

// Loads a YAML file; a missing or malformed file raises ConfigError naming it and the line.
YAML::Node load_yaml_file(const std::string& path);
// Parses YAML text (e.g. a command-line value) with `source` named in errors.
YAML::Node load_yaml_string(const std::string& text, const std::string& source);

// Applies "a.b.c=value" to a document: the value is parsed as YAML. Unknown keys are caught
// later by the reader, so a typo in an override is reported like a typo in the file.
void apply_override(YAML::Node& root, const std::string& assignment);

// Reads a whole config struct from `node` (a mapping) and reports unknown keys.
template <class T>
T read_config(const YAML::Node& node, const std::string& file, const std::string& path,
              T value = T{}) {
  ConfigReader reader(node, file, path);
  reader.require_map();
  value.fields(reader);
  reader.finish();
  return value;
}

template <class T>
YAML::Node write_config(const T& value) {
  YAML::Node out(YAML::NodeType::Map);
  ConfigWriter w(out);
  const_cast<T&>(value).fields(w);
  return out;
}

// Emits a node as block-style YAML text.
std::string to_yaml(const YAML::Node& node);

}  // namespace hc
