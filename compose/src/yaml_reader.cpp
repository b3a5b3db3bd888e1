#include "yaml_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace stack::compose {
namespace {

// Limits that keep hostile input (alias bombs, deep nesting) from exhausting memory or stack.
constexpr size_t kMaxNodes = 2'000'000;
constexpr int kMaxDepth = 512;

struct Converter {
  std::shared_ptr<const std::string> file;
  Diagnostics& diags;
  size_t nodes = 0;
  bool failed = false;

  Mark mark_of(const YAML::Mark& m) const {
    Mark out;
    out.file = file;
    if (m.line >= 0) {
      out.line = m.line + 1;
      out.column = m.column + 1;
    }
    return out;
  }

  bool budget(const YAML::Node& n, int depth) {
    if (failed) return false;
    if (++nodes > kMaxNodes) {
      diags.error(mark_of(n.Mark()), "", "document too large (more than 2000000 nodes after expanding aliases)");
      failed = true;
      return false;
    }
    if (depth > kMaxDepth) {
      diags.error(mark_of(n.Mark()), "", "document nested too deeply");
      failed = true;
      return false;
    }
    return true;
  }

  Node convert(const YAML::Node& n, int depth) {
    Node out;
    out.mark = mark_of(n.Mark());
    if (!budget(n, depth)) return out;
    const std::string& tag = n.Tag();
    if (tag == "!reset" || tag == "!override") out.tag = tag;
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.kind = NodeKind::kNull;
        break;
      case YAML::NodeType::Scalar:
        out.kind = NodeKind::kScalar;
        out.value = n.Scalar();
        // "?" marks a plain scalar; "!" a quoted or block one; !!str forces a string.
        out.quoted = (tag == "!" || tag == "tag:yaml.org,2002:str");
        if (!out.quoted && (tag == "!reset" || tag == "!override") && out.value.empty()) out.kind = NodeKind::kNull;
        break;
      case YAML::NodeType::Sequence:
        out.kind = NodeKind::kSequence;
        for (const auto& item : n) out.items.push_back(convert(item, depth + 1));
        break;
      case YAML::NodeType::Map:
        out.kind = NodeKind::kMapping;
        convert_map(n, out, depth);
        break;
    }
    return out;
  }

  void convert_map(const YAML::Node& n, Node& out, int depth) {
    std::vector<Node> merges;  // merge-key sources, in order of precedence
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node& k = it->first;
      Mark km = mark_of(k.Mark());
      if (!k.IsScalar()) {
        diags.error(km, "", "mapping keys must be strings");
        continue;
      }
      std::string key = k.Scalar();
      if (key == "<<" && k.Tag() == "?") {
        Node src = convert(it->second, depth + 1);
        if (src.is_mapping()) {
          merges.push_back(std::move(src));
        } else if (src.is_sequence()) {
          for (auto& s : src.items) {
            if (s.is_mapping()) merges.push_back(std::move(s));
            else diags.error(s.mark, "", "merge key (<<) sequence items must be mappings");
          }
        } else {
          diags.error(km, "", "merge key (<<) value must be a mapping or a sequence of mappings");
        }
        continue;
      }
      if (const MapEntry* dup = out.find_entry(key)) {
        diags.error(km, "", "mapping key \"" + key + "\" already defined at line " + std::to_string(dup->key_mark.line));
        continue;
      }
      out.entries.push_back(MapEntry{key, km, convert(it->second, depth + 1)});
    }
    // Explicit keys win over merged ones; an earlier merge source wins over a later one.
    for (auto& src : merges) {
      for (auto& e : src.entries) {
        if (!out.find_entry(e.key)) out.entries.push_back(std::move(e));
      }
    }
  }
};

// The first byte offset that is not valid UTF-8, or npos. YAML streams must be Unicode; the
// canonical output is JSON, which cannot carry arbitrary bytes.
size_t invalid_utf8_offset(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return i;
    if (len == 2 && c < 0xc2) return i;  // overlong
    i += len;
  }
  return std::string::npos;
}

}  // namespace

std::vector<Node> read_yaml(const std::string& text, const std::string& display_name, Diagnostics& diags) {
  auto file = std::make_shared<const std::string>(display_name);
  if (size_t bad = invalid_utf8_offset(text); bad != std::string::npos) {
    Mark m;
    m.file = file;
    m.line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(bad), '\n'));
    size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    m.column = static_cast<int>(bad - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
    diags.error(m, "", "invalid UTF-8 in the file");
    return {};
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    Mark m;
    m.file = file;
    if (e.mark.line >= 0) {
      m.line = e.mark.line + 1;
      m.column = e.mark.column + 1;
    }
    diags.error(m, "", "invalid YAML: " + e.msg);
    return {};
  } catch (const std::exception& e) {
    Mark m;
    m.file = file;
    diags.error(m, "", std::string("invalid YAML: ") + e.what());
    return {};
  }
  std::vector<Node> out;
  Converter conv{file, diags};
  try {
    for (const auto& d : docs) {
      out.push_back(conv.convert(d, 0));
      if (conv.failed) return {};
    }
  } catch (const YAML::Exception& e) {
    Mark m;
    m.file = file;
    diags.error(m, "", "invalid YAML: " + e.msg);
    return {};
  }
  if (out.empty()) {
    Mark m;
    m.file = file;
    out.push_back(Node::null(m));
  }
  return out;
}

}  // namespace stack::compose
