#include "shell_words.h"

namespace stack::compose {
namespace {

bool is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

bool all_digits(const std::string& s) {
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  return !s.empty();
}

struct Splitter {
  std::vector<std::string> words;
  std::string buf;
  bool have = false;  // a word is open, possibly empty ("")
  bool escaped = false, single = false, dbl = false, back = false, dollar = false;
  std::string error;

  bool in_any_quote() const { return single || dbl || back || dollar; }

  void flush() {
    if (have) words.push_back(buf);
    buf.clear();
    have = false;
  }

  void append(char ch) {
    buf.push_back(ch);
    have = true;
  }

  // Handles one character; returns false when the line ends here (an operator or an error).
  bool step(char ch) {
    if (escaped) {
      escaped = false;
      // Inside `…` and $(…) the text is kept verbatim for a shell that never runs.
      if (back || dollar) buf.push_back('\\');
      append(ch);
      return true;
    }
    if (ch == '\\') {
      if (single) buf.push_back(ch);
      else escaped = true;
      return true;
    }
    if (is_blank(ch)) {
      if (in_any_quote()) buf.push_back(ch);
      else flush();
      return true;
    }
    return step_special(ch);
  }

  bool step_special(char ch) {
    switch (ch) {
      case '`':
        if (!single && !dbl && !dollar) back = !back;
        break;
      case ')':
        if (!single && !dbl && !back) {
          if (!dollar) return fail("unexpected \")\"");
          dollar = false;
        }
        break;
      case '(':
        if (!single && !dbl && !back) {
          if (dollar || buf.empty() || buf.back() != '$') return fail("unexpected \"(\"");
          dollar = true;
        }
        break;
      case '"':
        if (!single && !dollar && !back) {
          if (dbl) have = true;
          dbl = !dbl;
          return true;
        }
        break;
      case '\'':
        if (!dbl && !dollar && !back) {
          if (single) have = true;
          single = !single;
          return true;
        }
        break;
      case ';': case '&': case '|': case '<': case '>':
        if (!in_any_quote()) {
          // go-shellwords stops at the first operator; "2>" loses its file descriptor too.
          if (ch == '>' && all_digits(buf)) have = false;
          return false;
        }
        break;
      default: break;
    }
    append(ch);
    return true;
  }

  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }
};

}  // namespace

std::optional<std::vector<std::string>> split_shell_words(std::string_view line, std::string* error) {
  Splitter s;
  for (char ch : line)
    if (!s.step(ch)) break;
  if (s.error.empty()) {
    if (s.escaped) s.error = "trailing backslash";
    else if (s.single) s.error = "unterminated single quote";
    else if (s.dbl) s.error = "unterminated double quote";
    else if (s.back) s.error = "unterminated backquote";
    else if (s.dollar) s.error = "unterminated \"$(\"";
  }
  if (!s.error.empty()) {
    if (error) *error = s.error;
    return std::nullopt;
  }
  s.flush();
  return std::move(s.words);
}

}  // namespace stack::compose
