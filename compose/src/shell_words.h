// Shell word splitting for the string forms of command, entrypoint and hook commands, with the
// semantics of mattn/go-shellwords v1.0.12 as compose-go calls it (no variable expansion, no
// command substitution), so that a string splits into exactly the argv Compose would run.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stack::compose {

// Splits `line` into words: blanks (space, tab, CR, LF) separate words; '…' is literal; "…"
// keeps blanks and lets a backslash escape any character; outside quotes a backslash escapes
// the next character. `…` and $(…) are kept verbatim, blanks included. As in go-shellwords, an
// unquoted ; & | < or > ends the command line: the rest is ignored, and digits right before >
// ("2>") are dropped with it. "" and blank lines give no words.
//
// Returns std::nullopt for an unterminated quote, backquote or $(, a trailing backslash, or a
// stray ( or ); `error` (when given) then says which, e.g. "unterminated single quote".
std::optional<std::vector<std::string>> split_shell_words(std::string_view line, std::string* error = nullptr);

}  // namespace stack::compose
