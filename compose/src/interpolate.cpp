#include "interpolate.h"

#include <vector>

namespace stack::compose {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// One pass over a template. Words after an operator (${A:-word}) are templates themselves and
// are parsed by the same recursive descent, so nesting costs no re-scanning: the whole text is
// read once, left to right.
class Interpolator {
 public:
  Interpolator(std::string_view text, const Lookup& lookup, std::vector<std::string>* unset)
      : text_(text), lookup_(lookup), unset_(unset) {}

  std::optional<std::string> run(std::string* error) {
    std::string out;
    out.reserve(text_.size());
    if (parse_text(false, out)) return out;
    if (error) *error = std::move(error_);
    return std::nullopt;
  }

 private:
  // Appends the substituted text from pos_ on. In a word, stops before the `}` that closes the
  // enclosing ${...}; plain braces inside a word nest (`${A:-{"k":1}}`), as in Compose.
  bool parse_text(bool in_word, std::string& out) {
    int depth = 0;
    while (pos_ < text_.size()) {
      size_t special = text_.find_first_of(in_word ? "${}" : "$", pos_);
      if (special == std::string_view::npos) special = text_.size();
      out.append(text_.substr(pos_, special - pos_));
      pos_ = special;
      if (pos_ == text_.size()) break;
      char c = text_[pos_];
      if (c == '$') {
        if (!parse_dollar(out)) return false;
        continue;
      }
      if (c == '}' && depth == 0) return true;
      depth += c == '{' ? 1 : -1;
      out.push_back(c);
      ++pos_;
    }
    if (in_word) return invalid();
    return true;
  }

  // pos_ is at a `$`.
  bool parse_dollar(std::string& out) {
    char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    if (next == '$') {
      out.push_back('$');
      pos_ += 2;
      return true;
    }
    if (next == '{') return parse_braced(out);
    if (!is_name_start(next)) {
      // Not an expression ("$1", "a $ b", "^x$"): Compose keeps the dollar as written.
      out.push_back('$');
      ++pos_;
      return true;
    }
    ++pos_;
    std::string name = read_name();
    substitute(name, out);
    return true;
  }

  // A plain $NAME / ${NAME}: an unset variable becomes the empty string, and is reported.
  void substitute(const std::string& name, std::string& out) {
    if (auto v = lookup_(name)) out += *v;
    else if (unset_) unset_->push_back(name);
  }

  // pos_ is at the `$` of `${`.
  bool parse_braced(std::string& out) {
    pos_ += 2;
    std::string name = read_name();
    if (name.empty() || pos_ >= text_.size()) return invalid();
    if (text_[pos_] == '}') {
      ++pos_;
      substitute(name, out);
      return true;
    }
    std::string op = read_operator();
    if (op.empty()) return invalid();
    // The word is evaluated whether or not it is used, as Compose does: an error inside it
    // (${A:-${B:?unset}}) is reported even when A is set.
    std::string word;
    if (!parse_text(true, word)) return false;
    ++pos_;  // the closing brace
    return apply(name, op, word, out);
  }

  std::string read_name() {
    size_t start = pos_;
    if (pos_ < text_.size() && is_name_start(text_[pos_])) {
      while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  // One of :- - :? ? :+ + ; empty when something else follows the name.
  std::string read_operator() {
    size_t start = pos_;
    if (text_[pos_] == ':') ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '?' || text_[pos_] == '+')) {
      ++pos_;
      return std::string(text_.substr(start, pos_ - start));
    }
    pos_ = start;
    return {};
  }

  bool apply(const std::string& name, const std::string& op, const std::string& word, std::string& out) {
    std::optional<std::string> value = lookup_(name);
    bool colon = op.size() == 2;
    bool present = value.has_value() && (!colon || !value->empty());
    switch (op.back()) {
      case '-':
        out += present ? *value : word;
        return true;
      case '+':
        if (present) out += word;
        return true;
      default:  // '?'
        if (present) {
          out += *value;
          return true;
        }
        error_ = "required variable " + name + " is missing a value";
        if (!word.empty()) error_ += ": " + word;
        return false;
    }
  }

  bool invalid() {
    error_ = "invalid interpolation format for \"" + std::string(text_) +
             "\": you may need to escape any $ with another $";
    return false;
  }

  std::string_view text_;
  const Lookup& lookup_;
  std::vector<std::string>* unset_;
  size_t pos_ = 0;
  std::string error_;
};

// A path built only when an error needs it: walking a large document allocates nothing for
// the scalars that have no `$`.
struct PathSegment {
  const PathSegment* parent = nullptr;
  const std::string* key = nullptr;  // mapping key, or null for a sequence index
  size_t index = 0;
};

std::string render_path(const std::string& root, const PathSegment* seg) {
  std::vector<const PathSegment*> chain;
  for (; seg != nullptr; seg = seg->parent) chain.push_back(seg);
  std::string out = root;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out = (*it)->key ? path_join(out, *(*it)->key) : path_index(out, (*it)->index);
  }
  return out;
}

class TreeInterpolator {
 public:
  TreeInterpolator(const Lookup& lookup, std::vector<std::string>* unset, Diagnostics& diags,
                   const std::string& root)
      : lookup_(lookup), unset_(unset), diags_(diags), root_(root) {}

  void walk(Node& n, const PathSegment* seg) {
    switch (n.kind) {
      case NodeKind::kScalar:
        substitute(n, seg);
        break;
      case NodeKind::kSequence:
        for (size_t i = 0; i < n.items.size(); ++i) {
          PathSegment child{seg, nullptr, i};
          walk(n.items[i], &child);
        }
        break;
      case NodeKind::kMapping:
        for (auto& e : n.entries) {
          PathSegment child{seg, &e.key, 0};
          walk(e.value, &child);
        }
        break;
      case NodeKind::kNull:
        break;
    }
  }

 private:
  void substitute(Node& n, const PathSegment* seg) {
    if (n.value.find('$') == std::string::npos) return;
    std::string error;
    auto result = interpolate_string(n.value, lookup_, &error, unset_);
    if (!result) {
      diags_.error(n, render_path(root_, seg), std::move(error));
      return;
    }
    if (*result == n.value) return;
    n.value = std::move(*result);
    n.quoted = true;
  }

  const Lookup& lookup_;
  std::vector<std::string>* unset_;
  Diagnostics& diags_;
  const std::string& root_;
};

}  // namespace

std::optional<std::string> interpolate_string(std::string_view text, const Lookup& lookup, std::string* error,
                                              std::vector<std::string>* unset) {
  if (text.find('$') == std::string_view::npos) return std::string(text);
  static const Lookup kNoVariables = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return Interpolator(text, lookup ? lookup : kNoVariables, unset).run(error);
}

void interpolate_tree(Node& root, const Lookup& lookup, Diagnostics& diags, const std::string& path,
                      std::vector<std::string>* unset) {
  TreeInterpolator(lookup, unset, diags, path).walk(root, nullptr);
}

}  // namespace stack::compose
