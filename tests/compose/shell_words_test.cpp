// Shell word splitting as compose-go's go-shellwords does it for command strings.
#include <catch2/catch.hpp>

#include "shell_words.h"

using stack::compose::split_shell_words;
using Words = std::vector<std::string>;

namespace {

Words split_ok(const std::string& line) {
  std::string error;
  auto words = split_shell_words(line, &error);
  INFO("line: " << line << " error: " << error);
  REQUIRE(words.has_value());
  return *words;
}

std::string split_error(const std::string& line) {
  std::string error;
  auto words = split_shell_words(line, &error);
  INFO("line: " << line);
  REQUIRE_FALSE(words.has_value());
  return error;
}

}  // namespace

TEST_CASE("shell_words: blanks separate words", "[compose][shell_words]") {
  CHECK(split_ok("bundle exec thin -p 3000") == Words{"bundle", "exec", "thin", "-p", "3000"});
  CHECK(split_ok("  a\t\tb \r\n c  ") == Words{"a", "b", "c"});
  CHECK(split_ok("").empty());
  CHECK(split_ok("   \t").empty());
}

TEST_CASE("shell_words: single quotes are literal", "[compose][shell_words]") {
  CHECK(split_ok("echo 'a  b' 'c\\d'") == Words{"echo", "a  b", "c\\d"});
  CHECK(split_ok("'say \"hi\"'") == Words{"say \"hi\""});
  CHECK(split_ok("echo '$HOME'") == Words{"echo", "$HOME"});
}

TEST_CASE("shell_words: double quotes keep blanks and take backslash escapes", "[compose][shell_words]") {
  CHECK(split_ok("sh -c \"echo  hello; exit 1\"") == Words{"sh", "-c", "echo  hello; exit 1"});
  CHECK(split_ok("\"a \\\"b\\\" c\"") == Words{"a \"b\" c"});
  CHECK(split_ok("\"it's\"") == Words{"it's"});
  // go-shellwords drops the backslash before any character, not only before " \ $ `.
  CHECK(split_ok("\"a\\nb\"") == Words{"anb"});
}

TEST_CASE("shell_words: empty quotes make an empty word", "[compose][shell_words]") {
  CHECK(split_ok("a \"\" ''") == Words{"a", "", ""});
  CHECK(split_ok("x\"\"y") == Words{"xy"});
}

TEST_CASE("shell_words: adjacent quoted and plain parts join", "[compose][shell_words]") {
  CHECK(split_ok("--name='a b'\"c d\"e") == Words{"--name=a bc de"});
}

TEST_CASE("shell_words: backslash escapes outside quotes", "[compose][shell_words]") {
  CHECK(split_ok("a\\ b c") == Words{"a b", "c"});
  CHECK(split_ok("\\'x\\'") == Words{"'x'"});
  CHECK(split_ok("a\\;b") == Words{"a;b"});
}

TEST_CASE("shell_words: no variable expansion", "[compose][shell_words]") {
  CHECK(split_ok("echo $HOME ${USER:-x}") == Words{"echo", "$HOME", "${USER:-x}"});
}

TEST_CASE("shell_words: backquotes and $() are kept verbatim", "[compose][shell_words]") {
  CHECK(split_ok("echo `date +%s` x") == Words{"echo", "`date +%s`", "x"});
  CHECK(split_ok("echo $(date +%s)") == Words{"echo", "$(date +%s)"});
}

TEST_CASE("shell_words: an unquoted operator ends the command line", "[compose][shell_words]") {
  CHECK(split_ok("echo hi && echo bye") == Words{"echo", "hi"});
  CHECK(split_ok("echo hi;rm x") == Words{"echo", "hi"});
  CHECK(split_ok("cat < in") == Words{"cat"});
  CHECK(split_ok("run 2>/dev/null") == Words{"run"});
  CHECK(split_ok("echo a|b") == Words{"echo", "a"});
  CHECK(split_ok("echo 'a|b' \"c;d\"") == Words{"echo", "a|b", "c;d"});
}

TEST_CASE("shell_words: unterminated quotes and stray parentheses are errors", "[compose][shell_words]") {
  CHECK(split_error("echo 'hi") == "unterminated single quote");
  CHECK(split_error("echo \"hi") == "unterminated double quote");
  CHECK(split_error("echo `date") == "unterminated backquote");
  CHECK(split_error("echo $(date") == "unterminated \"$(\"");
  CHECK(split_error("echo hi\\") == "trailing backslash");
  CHECK(split_error("echo (a)") == "unexpected \"(\"");
  CHECK(split_error("echo a)") == "unexpected \")\"");
  CHECK_FALSE(split_shell_words("'").has_value());
}
