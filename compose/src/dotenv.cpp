#include "dotenv.h"

#include <unordered_map>

namespace stack::compose {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Blanks inside a line; a line break is never one of them.
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// compose-go accepts letters, digits and _ . - [ ] in names; bytes of multi-byte UTF-8
// sequences are let through as letters.
bool is_key_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '[' || c == ']' || u >= 0x80;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view strip_bom(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  return text;
}

// Collects entries in file order; a key defined again keeps its first position and takes the
// later value.
class EntryList {
 public:
  void set(std::string key, std::string value) {
    auto [it, inserted] = index_.try_emplace(key, entries_.size());
    if (inserted) entries_.emplace_back(std::move(key), std::move(value));
    else entries_[it->second].second = std::move(value);
  }
  const std::string* find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  DotenvEntries take() { return std::move(entries_); }

 private:
  DotenvEntries entries_;
  std::unordered_map<std::string, size_t> index_;
};

// Double-quoted values: the shell escapes Compose supports. `\$` becomes `$$` so that the
// substitution that follows leaves a literal dollar; unknown escapes stay as written.
std::string expand_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char d = s[i + 1];
    static constexpr std::string_view kFrom = "abfnrtv\"\\";
    static constexpr std::string_view kTo = "\a\b\f\n\r\t\v\"\\";
    if (auto k = kFrom.find(d); k != std::string_view::npos) {
      out.push_back(kTo[k]);
      ++i;
    } else if (d == '$') {
      out += "$$";
      ++i;
    } else if (d == '0') {
      // XSI echo style: \0 and exactly three octal digits.
      size_t n = 0;
      while (n < 3 && i + 2 + n < s.size() && s[i + 2 + n] >= '0' && s[i + 2 + n] <= '9') ++n;
      std::string_view digits = s.substr(i + 2, n);
      int v = 0;
      bool octal = n == 3;
      for (char c : digits) {
        if (c > '7') octal = false;
        v = v * 8 + (c - '0');
      }
      if (octal && v <= 255) out.push_back(static_cast<char>(v));
      else out += "\\" + std::string(digits);
      i += 1 + n;
    } else {
      out.push_back('\\');
    }
  }
  return out;
}

class DotenvParser {
 public:
  DotenvParser(std::string_view text, const Lookup& lookup) : text_(strip_bom(text)), lookup_(lookup) {}

  std::optional<DotenvEntries> run(DotenvError* error) {
    while (skip_to_statement()) {
      if (!parse_statement()) {
        if (error) *error = std::move(error_);
        return std::nullopt;
      }
    }
    return entries_.take();
  }

 private:
  // Skips blank lines, blanks and comment lines; false at the end of the text.
  bool skip_to_statement() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '#') {
        skip_line();
      } else if (c == '\n' || is_blank(c)) {
        ++pos_;
      } else {
        return true;
      }
    }
    return false;
  }

  void skip_line() {
    size_t nl = text_.find('\n', pos_);
    pos_ = nl == std::string_view::npos ? text_.size() : nl;
  }

  // The 1-based line of `pos`; positions asked for only grow, so counting is linear overall.
  int line_at(size_t pos) {
    for (; counted_ < pos && counted_ < text_.size(); ++counted_) {
      if (text_[counted_] == '\n') ++line_;
    }
    return line_;
  }

  bool fail(size_t at, std::string message) {
    error_.line = line_at(at);
    error_.message = std::move(message);
    return false;
  }

  std::string_view rest_of_line(size_t from) const {
    size_t nl = text_.find('\n', from);
    std::string_view line = text_.substr(from, nl == std::string_view::npos ? std::string_view::npos : nl - from);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }

  bool parse_statement() {
    size_t start = pos_;
    std::string_view export_kw = "export";
    if (text_.substr(pos_, export_kw.size()) == export_kw && pos_ + export_kw.size() < text_.size() &&
        (text_[pos_ + export_kw.size()] == ' ' || text_[pos_ + export_kw.size()] == '\t')) {
      pos_ += export_kw.size();
      while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    }
    size_t key_start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '=' && text_[pos_] != ':' && text_[pos_] != '\n') {
      char c = text_[pos_];
      if (!is_blank(c) && !is_key_char(c)) {
        return fail(start, "unexpected character " + quoted(std::string(1, c)) + " in variable name " +
                               quoted(rest_of_line(start)));
      }
      ++pos_;
    }
    std::string_view key = text_.substr(key_start, pos_ - key_start);
    while (!key.empty() && is_blank(key.back())) key.remove_suffix(1);
    if (key.empty()) return fail(start, "missing variable name in " + quoted(rest_of_line(start)));
    for (char c : key) {
      if (is_blank(c)) return fail(start, "variable name " + quoted(key) + " cannot contain spaces");
    }
    if (pos_ == text_.size() || text_[pos_] == '\n') {
      // KEY alone: the value comes from the environment, and the key is left out when unset.
      if (lookup_) {
        if (auto v = lookup_(std::string(key))) entries_.set(std::string(key), std::move(*v));
      }
      return true;
    }
    ++pos_;  // '=' or the YAML-style ':'
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    std::string value;
    if (!parse_value(start, value)) return false;
    entries_.set(std::string(key), std::move(value));
    return true;
  }

  bool parse_value(size_t statement, std::string& value) {
    char first = pos_ < text_.size() ? text_[pos_] : '\0';
    if (first == '"' || first == '\'') return parse_quoted(statement, first, value);
    std::string_view raw = rest_of_line(pos_);
    skip_line();
    // A comment after an unquoted value needs a blank before it: a#b is a value.
    if (size_t hash = raw.find(" #"); hash != std::string_view::npos) raw = raw.substr(0, hash);
    while (!raw.empty() && is_blank(raw.back())) raw.remove_suffix(1);
    return expand(statement, raw, value);
  }

  bool parse_quoted(size_t statement, char quote, std::string& value) {
    size_t open = pos_;
    std::string body;
    bool escaped = false;
    for (++pos_; pos_ < text_.size(); ++pos_) {
      char c = text_[pos_];
      if (escaped) {
        escaped = false;
        if (c != quote) body.push_back('\\');
        body.push_back(c);
      } else if (c == '\\') {
        escaped = true;
      } else if (c == quote) {
        break;
      } else {
        body.push_back(c);
      }
    }
    if (pos_ == text_.size()) return fail(open, "unterminated quoted value " + std::string(rest_of_line(open)));
    ++pos_;
    if (!finish_line_after_quote()) return false;
    if (quote == '\'') {
      value = std::move(body);
      return true;
    }
    return expand(statement, expand_escapes(body), value);
  }

  // After a closing quote only blanks and a comment may follow on the line.
  bool finish_line_after_quote() {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    if (pos_ == text_.size() || text_[pos_] == '\n') return true;
    if (text_[pos_] == '#') {
      skip_line();
      return true;
    }
    return fail(pos_, "unexpected character " + quoted(std::string(1, text_[pos_])) + " after quoted value");
  }

  // Substitution as in Compose: the caller's environment wins over earlier lines of the file.
  bool expand(size_t statement, std::string_view tmpl, std::string& out) {
    Lookup lookup = [this](const std::string& name) -> std::optional<std::string> {
      if (lookup_) {
        if (auto v = lookup_(name)) return v;
      }
      if (const std::string* v = entries_.find(name)) return *v;
      return std::nullopt;
    };
    std::string error;
    auto result = interpolate_string(tmpl, lookup, &error);
    if (!result) return fail(statement, std::move(error));
    out = std::move(*result);
    return true;
  }

  std::string_view text_;
  const Lookup& lookup_;
  size_t pos_ = 0;
  size_t counted_ = 0;
  int line_ = 1;
  EntryList entries_;
  DotenvError error_;
};

}  // namespace

std::optional<DotenvEntries> parse_dotenv(std::string_view text, const Lookup& lookup, DotenvError* error) {
  return DotenvParser(text, lookup).run(error);
}

// docker run --env-file syntax: leading blanks dropped, the rest of the line after the first
// `=` kept byte for byte.
std::optional<DotenvEntries> parse_dotenv_raw(std::string_view text, DotenvError* error) {
  text = strip_bom(text);
  EntryList entries;
  int line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (is_blank(line.front()) || line.front() == '\n')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    std::string_view key = line.substr(0, eq);
    if (key.empty() || key.find_first_of(" \t") != std::string_view::npos) {
      if (error) {
        error->line = line_no;
        error->message = key.empty() ? "missing variable name in " + quoted(line)
                                     : "variable name " + quoted(key) + " cannot contain spaces";
      }
      return std::nullopt;
    }
    // KEY alone would take its value from the environment, which this format has no access to.
    if (eq == std::string_view::npos) continue;
    entries.set(std::string(key), std::string(line.substr(eq + 1)));
  }
  return entries.take();
}

}  // namespace stack::compose
