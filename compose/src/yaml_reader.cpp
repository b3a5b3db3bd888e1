// yaml-cpp's event parser → Node trees. The event API is used instead of YAML::LoadAll because
// LoadAll loops forever on a stray flow indicator at document level ("," yields an endless
// stream of null documents without consuming input); here a document that starts where the
// previous one started is an error. Building our own tree from events also gives each node its
// position and lets alias expansion be budgeted.
#include "yaml_reader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace stack::compose {
namespace {

// Limits that keep hostile input (alias bombs, deep nesting, endless streams) bounded.
constexpr size_t kMaxNodes = 2'000'000;
constexpr size_t kMaxDepth = 512;
constexpr size_t kMaxDocuments = 1000;

struct Frame {
  Node node;  // a sequence or a mapping under construction
  YAML::anchor_t anchor = 0;
  size_t size = 1;                            // nodes in this subtree
  std::vector<std::pair<Node, Node>> pairs;   // mappings: key/value pairs in order
  std::optional<Node> key;                    // mappings: a key waiting for its value
};

class Builder final : public YAML::EventHandler {
 public:
  Builder(std::shared_ptr<const std::string> file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  bool failed() const { return failed_; }
  std::vector<Node>& documents() { return docs_; }
  Mark mark_of(const YAML::Mark& m) const {
    Mark out;
    out.file = file_;
    if (m.line >= 0) {
      out.line = m.line + 1;
      out.column = m.column + 1;
    }
    return out;
  }
  void fail(const Mark& at, std::string message) {
    if (!failed_) diags_.error(at, "", std::move(message));
    failed_ = true;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (failed_) return;
    if (docs_.size() >= kMaxDocuments) return fail(mark_of(mark), "too many YAML documents in one file");
    if (last_doc_pos_ == mark.pos) return fail(mark_of(mark), "invalid YAML: unexpected content at document level");
    last_doc_pos_ = mark.pos;
    anchors_.clear();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (failed_) return;
    complete(Node::null(mark_of(mark)), anchor, 1);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (failed_) return;
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) return fail(mark_of(mark), "alias to an anchor whose node is not complete (recursive alias)");
    Node copy = it->second.first;
    complete(std::move(copy), 0, it->second.second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (failed_) return;
    // An escaped NUL ("\0", "\u0000") cannot survive as text anywhere stack passes it on.
    if (value.find('\0') != std::string::npos) return fail(mark_of(mark), "NUL characters are not allowed");
    Node n = Node::scalar(value, mark_of(mark));
    // "?" marks a plain scalar; "!" a quoted or block one; !!str forces a string.
    n.quoted = (tag == "!" || tag == "tag:yaml.org,2002:str");
    if (tag == "!reset" || tag == "!override") {
      n.tag = tag;
      if (value.empty()) n.kind = NodeKind::kNull;
    }
    complete(std::move(n), anchor, 1);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Node::sequence(mark_of(mark)), tag, anchor, mark);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Node::mapping(mark_of(mark)), tag, anchor, mark);
  }
  void OnMapEnd() override {
    if (failed_ || stack_.empty()) return;
    build_mapping(stack_.back());
    close();
  }

 private:
  void open(Node n, const std::string& tag, YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (failed_) return;
    if (stack_.size() >= kMaxDepth) return fail(mark_of(mark), "document nested too deeply");
    if (tag == "!reset" || tag == "!override") n.tag = tag;
    Frame f;
    f.node = std::move(n);
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void close() {
    if (failed_ || stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    complete(std::move(f.node), f.anchor, f.size);
  }

  // A finished node: remember its anchor, count it, and hand it to its parent (or the document).
  void complete(Node n, YAML::anchor_t anchor, size_t size) {
    nodes_ += size;
    if (nodes_ > kMaxNodes) return fail(n.mark, "document too large (more than 2000000 nodes after expanding aliases)");
    if (anchor != 0) anchors_[anchor] = {n, size};
    if (stack_.empty()) {
      docs_.push_back(std::move(n));
      return;
    }
    Frame& parent = stack_.back();
    parent.size += size;
    if (parent.node.is_sequence()) {
      parent.node.items.push_back(std::move(n));
    } else if (!parent.key) {
      parent.key = std::move(n);
    } else {
      parent.pairs.emplace_back(std::move(*parent.key), std::move(n));
      parent.key.reset();
    }
  }

  // Turns key/value pairs into entries: scalar keys only, no duplicates, merge keys applied
  // (explicit keys win over merged ones; an earlier merge source wins over a later one).
  void build_mapping(Frame& f) {
    std::vector<Node> merges;
    for (auto& [k, v] : f.pairs) {
      if (!k.is_scalar()) {
        diags_.error(k.mark, "", "mapping keys must be strings");
        continue;
      }
      if (k.value == "<<" && !k.quoted) {
        collect_merge_sources(k, std::move(v), merges);
        continue;
      }
      if (const MapEntry* dup = f.node.find_entry(k.value)) {
        diags_.error(k.mark, "", "mapping key \"" + k.value + "\" already defined at line " +
                                     std::to_string(dup->key_mark.line));
        continue;
      }
      f.node.entries.push_back(MapEntry{k.value, k.mark, std::move(v)});
    }
    for (auto& src : merges)
      for (auto& e : src.entries)
        if (!f.node.find_entry(e.key)) f.node.entries.push_back(std::move(e));
  }

  void collect_merge_sources(const Node& key, Node v, std::vector<Node>& merges) {
    if (v.is_mapping()) {
      merges.push_back(std::move(v));
    } else if (v.is_sequence()) {
      for (auto& s : v.items) {
        if (s.is_mapping()) merges.push_back(std::move(s));
        else diags_.error(s.mark, "", "merge key (<<) sequence items must be mappings");
      }
    } else {
      diags_.error(key.mark, "", "merge key (<<) value must be a mapping or a sequence of mappings");
    }
  }

  std::shared_ptr<const std::string> file_;
  Diagnostics& diags_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<Node, size_t>> anchors_;
  std::vector<Node> docs_;
  size_t nodes_ = 0;
  long last_doc_pos_ = -1;
  bool failed_ = false;
};

// The first byte offset that is not valid UTF-8, or npos. YAML streams must be Unicode; the
// canonical output is JSON, which cannot carry arbitrary bytes.
size_t invalid_utf8_offset(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >> 4) == 0xe ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return i;
    auto c1 = static_cast<unsigned char>(s[i + (len > 1 ? 1 : 0)]);
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF (RFC 3629 §4).
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
      return i;
    i += len;
  }
  return std::string::npos;
}

Mark offset_mark(const std::shared_ptr<const std::string>& file, const std::string& text, size_t offset) {
  Mark m;
  m.file = file;
  m.line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
  size_t line_start = offset == 0 ? std::string::npos : text.rfind('\n', offset - 1);
  m.column = static_cast<int>(offset - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
  return m;
}

}  // namespace

std::vector<Node> read_yaml(const std::string& text, const std::string& display_name, Diagnostics& diags) {
  auto file = std::make_shared<const std::string>(display_name);
  if (size_t bad = invalid_utf8_offset(text); bad != std::string::npos) {
    diags.error(offset_mark(file, text, bad), "", "invalid UTF-8 in the file");
    return {};
  }
  // As go-yaml: raw control characters other than tab, line feed and carriage return are
  // not allowed in a YAML stream.
  for (size_t i = 0; i < text.size(); ++i) {
    auto ch = static_cast<unsigned char>(text[i]);
    if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f) {
      diags.error(offset_mark(file, text, i), "", "control characters are not allowed");
      return {};
    }
  }
  Builder builder(file, diags);
  size_t before = diags.size();
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (!builder.failed() && parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::Exception& e) {
    diags.error(builder.mark_of(e.mark), "", "invalid YAML: " + e.msg);
    return {};
  } catch (const std::exception& e) {
    diags.error(Mark{file, 0, 0}, "", std::string("invalid YAML: ") + e.what());
    return {};
  }
  if (builder.failed() || diags.size() != before) return {};
  std::vector<Node> docs = std::move(builder.documents());
  if (docs.empty()) docs.push_back(Node::null(Mark{file, 0, 0}));
  return docs;
}

}  // namespace stack::compose
