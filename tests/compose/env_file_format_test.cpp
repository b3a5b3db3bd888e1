// The env file format (.env, --env-file, env_file:) as compose-go's dotenv parser reads it,
// and the `format: raw` variant (docker run --env-file).
#include "compose/compose_test_util.h"
#include "dotenv.h"

namespace stack::compose {
namespace {

using Entries = DotenvEntries;
using testing::Env;

Lookup lookup_from(const Env& env) {
  return [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

Entries parse(std::string_view text, const Env& env = {}) {
  DotenvError err;
  auto r = parse_dotenv(text, lookup_from(env), &err);
  INFO("text: " << text << "\nline " << err.line << ": " << err.message);
  REQUIRE(r.has_value());
  return *r;
}

// The value of the only entry of a one-statement file.
std::string value_of(std::string_view text, const Env& env = {}) {
  Entries e = parse(text, env);
  INFO("text: " << text);
  REQUIRE(e.size() == 1);
  return e.front().second;
}

std::string key_of(std::string_view text) {
  Entries e = parse(text);
  INFO("text: " << text);
  REQUIRE(e.size() == 1);
  return e.front().first;
}

// "line: message" of a file that must fail.
std::string error_of(std::string_view text, const Env& env = {}) {
  DotenvError err;
  auto r = parse_dotenv(text, lookup_from(env), &err);
  INFO("text: " << text);
  REQUIRE_FALSE(r.has_value());
  return std::to_string(err.line) + ": " + err.message;
}

Entries parse_raw(std::string_view text) {
  DotenvError err;
  auto r = parse_dotenv_raw(text, &err);
  INFO("line " << err.line << ": " << err.message);
  REQUIRE(r.has_value());
  return *r;
}

std::string raw_error_of(std::string_view text) {
  DotenvError err;
  auto r = parse_dotenv_raw(text, &err);
  REQUIRE_FALSE(r.has_value());
  return std::to_string(err.line) + ": " + err.message;
}

TEST_CASE("env_file format: KEY=VALUE lines in file order", "[compose][env_file]") {
  CHECK(parse("ONE=1\nTWO='2'\nTHREE = \"3\"") == Entries{{"ONE", "1"}, {"TWO", "2"}, {"THREE", "3"}});
  CHECK(parse("") == Entries{});
  // A key defined twice keeps its first place and takes the last value.
  CHECK(parse("A=1\nB=2\nA=3\n") == Entries{{"A", "3"}, {"B", "2"}});
  CHECK(parse("FOO=foobar=") == Entries{{"FOO", "foobar="}});
  CHECK(parse("FOO.BAR=x\nVAR-WITH-DASHES=y\narr[0]=z") ==
        Entries{{"FOO.BAR", "x"}, {"VAR-WITH-DASHES", "y"}, {"arr[0]", "z"}});
  CHECK(parse("OPTION_A=postgres://localhost:5432/database?sslmode=disable") ==
        Entries{{"OPTION_A", "postgres://localhost:5432/database?sslmode=disable"}});
}

TEST_CASE("env_file format: blanks, comments and line endings", "[compose][env_file]") {
  CHECK(parse("\n\n# comment\n\t # indented comment\nA=1\n   \n\r\n#B=2\n") == Entries{{"A", "1"}});
  CHECK(parse("A=1\r\nB=2\r\n") == Entries{{"A", "1"}, {"B", "2"}});
  CHECK(parse("\xEF\xBB\xBFOPTION_A=1\n") == Entries{{"OPTION_A", "1"}});
  CHECK(parse("# only a comment") == Entries{});
}

TEST_CASE("env_file format: whitespace around key and =", "[compose][env_file]") {
  CHECK(value_of("FOO =bar") == "bar");
  CHECK(value_of("FOO= bar") == "bar");
  CHECK(value_of(" KEY =value") == "value");
  CHECK(value_of("\tKEY=value") == "value");
  CHECK(key_of("   KEY  =  value") == "KEY");
}

TEST_CASE("env_file format: export prefix", "[compose][env_file]") {
  CHECK(parse("export OPTION_A=2") == Entries{{"OPTION_A", "2"}});
  CHECK(parse("export\tOPTION_A=2") == Entries{{"OPTION_A", "2"}});
  CHECK(parse("  export OPTION_A=2") == Entries{{"OPTION_A", "2"}});
  CHECK(parse("export OPTION_A=\"export A\"") == Entries{{"OPTION_A", "export A"}});
  CHECK(key_of("export exportFoo=2") == "exportFoo");
  CHECK(key_of("exportFOO=2") == "exportFOO");
  CHECK(key_of("export_FOO =2") == "export_FOO");
  CHECK(key_of("export.FOO= 2") == "export.FOO");
}

TEST_CASE("env_file format: unquoted values", "[compose][env_file]") {
  CHECK(value_of("FOO=bar ") == "bar");
  CHECK(value_of("FOO=bar # this is foo") == "bar");
  CHECK(value_of("FOO=bar #this is foo") == "bar");
  CHECK(value_of("FOO=bar #") == "bar");
  CHECK(value_of("FOO=123#not-an-inline-comment") == "123#not-an-inline-comment");
  CHECK(value_of("FOO=some value with spaces  \t") == "some value with spaces");
  // No escapes outside double quotes.
  CHECK(value_of("FOO=a\\tb") == "a\\tb");
  CHECK(value_of("FOO=it's \"fine\"") == "it's \"fine\"");
  CHECK(value_of("OPTION_A=1:B") == "1:B");
  // compose-go drops the blanks after = first, so a value that starts with # is a value.
  CHECK(value_of("FOO= #notacomment") == "#notacomment");
}

TEST_CASE("env_file format: empty values", "[compose][env_file]") {
  CHECK(parse("KEY=") == Entries{{"KEY", ""}});
  CHECK(parse("KEY=\nNEXT=1") == Entries{{"KEY", ""}, {"NEXT", "1"}});
  CHECK(parse("KEY=\"\"") == Entries{{"KEY", ""}});
  CHECK(parse("KEY=''") == Entries{{"KEY", ""}});
  CHECK(parse("KEY=   ") == Entries{{"KEY", ""}});
}

TEST_CASE("env_file format: YAML-style key: value", "[compose][env_file]") {
  CHECK(parse("OPTION_A: 1") == Entries{{"OPTION_A", "1"}});
  CHECK(parse("OPTION_A: Foo=bar") == Entries{{"OPTION_A", "Foo=bar"}});
}

TEST_CASE("env_file format: single-quoted values are literal", "[compose][env_file]") {
  CHECK(value_of("BAR='quote $FOO'", {{"FOO", "x"}}) == "quote $FOO");
  CHECK(value_of("BAR='${FOO:?boom}'") == "${FOO:?boom}");
  CHECK(value_of("OPTION_B='\\n'") == "\\n");
  CHECK(value_of("FOO='ba#r' # comment") == "ba#r");
  CHECK(value_of("VAR='Let\\'s go!'") == "Let's go!");
  CHECK(value_of("VAR='a\\\\b'") == "a\\\\b");
  CHECK(value_of("FOO='\"d\"'") == "\"d\"");
  CHECK(parse("J='first line\nsecond line'\nZ=last") == Entries{{"J", "first line\nsecond line"}, {"Z", "last"}});
}

TEST_CASE("env_file format: double-quoted values and escapes", "[compose][env_file]") {
  CHECK(value_of("FOO=\"bar\"") == "bar");
  CHECK(value_of("FOO=\"escaped\\\"bar\"") == "escaped\"bar");
  CHECK(value_of("FOO=\"\\\"quoted\\\"\"") == "\"quoted\"");
  CHECK(value_of("FOO=\"'d'\"") == "'d'");
  CHECK(value_of("FOO=\"bar\\nbaz\"") == "bar\nbaz");
  CHECK(value_of("FOO=\"a\\tb\"") == "a\tb");
  CHECK(value_of("KEY=\"Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z\"") == "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ");
  CHECK(value_of("FOO=\"bar\\\\\\n\\ b\\az\"") == "bar\\\n\\ b\az");
  CHECK(value_of("FOO=\"bar\\nbaz\\\\\"") == "bar\nbaz\\");
  CHECK(value_of("VAR=\"{\\\"hello\\\": \\\"json\\\"}\"") == "{\"hello\": \"json\"}");
  // Escapes Compose does not know stay as written.
  CHECK(value_of("KEY=\"\\x07\"") == "\\x07");
  CHECK(value_of("KEY=\"\\u12e4\"") == "\\u12e4");
  CHECK(value_of("FOO=\"bar#baz\" # comment") == "bar#baz");
  CHECK(value_of("FOO=\"bar#baz\"#") == "bar#baz");
  CHECK(value_of("FOO=\"VAL # not a comment\"") == "VAL # not a comment");
  CHECK(parse("J=\"first line\nsecond line\"\nZ=\"last value\"") ==
        Entries{{"J", "first line\nsecond line"}, {"Z", "last value"}});
}

TEST_CASE("env_file format: substitution", "[compose][env_file]") {
  CHECK(parse("FOO=test\nBAR=$FOO") == Entries{{"FOO", "test"}, {"BAR", "test"}});
  CHECK(parse("FOO=test\nBAR=${FOO}bar") == Entries{{"FOO", "test"}, {"BAR", "testbar"}});
  CHECK(parse("BAR=$FOO") == Entries{{"BAR", ""}});
  CHECK(parse("FOO=test\nBAR=\"quote $FOO\"") == Entries{{"FOO", "test"}, {"BAR", "quote test"}});
  CHECK(value_of("FOO=\"foo\\$BAR\"", {{"BAR", "x"}}) == "foo$BAR");
  CHECK(value_of("FOO=\"foo\\${BAR}\"", {{"BAR", "x"}}) == "foo${BAR}");
  CHECK(parse("FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"") == Entries{{"FOO", "test"}, {"BAR", "foo${FOO} test"}});
  CHECK(value_of("A=$$literal") == "$literal");
  CHECK(value_of("TEST=$ME", {{"ME", "YES"}}) == "YES");
  CHECK(value_of("A=${UNSET:-default} ${SET:+alt}", {{"SET", "1"}}) == "default alt");
  CHECK(value_of("A=\"${UNSET:-${ALSO:-nested}}\"") == "nested");
  CHECK(value_of("A=${EMPTY-x}", {{"EMPTY", ""}}) == "");
  // A later line sees earlier ones, but the caller's environment comes first (compose-go's
  // ExpandVariables asks the lookup before the file).
  CHECK(parse("A=1\nB=${A}_${A}\nC=$B", {{"A", "5"}}) == Entries{{"A", "1"}, {"B", "5_5"}, {"C", "5_5"}});
  CHECK(parse("A=1\nB=${A}_${A}") == Entries{{"A", "1"}, {"B", "1_1"}});
  // Lines are not seen before they are defined.
  CHECK(parse("B=${A:-early}\nA=1") == Entries{{"B", "early"}, {"A", "1"}});
  // Null lookup: only the file's own variables.
  DotenvError err;
  auto r = parse_dotenv("A=x\nB=${A}${HOME}", nullptr, &err);
  REQUIRE(r);
  CHECK(*r == Entries{{"A", "x"}, {"B", "x"}});
}

TEST_CASE("env_file format: KEY alone takes its value from the environment", "[compose][env_file]") {
  CHECK(parse("A=1\nVAR_FROM_ENV\nB=2", {{"VAR_FROM_ENV", "v"}}) ==
        Entries{{"A", "1"}, {"VAR_FROM_ENV", "v"}, {"B", "2"}});
  CHECK(parse("A=1\nNOT_FOUND\nB=2") == Entries{{"A", "1"}, {"B", "2"}});
  CHECK(parse("SET_EMPTY", {{"SET_EMPTY", ""}}) == Entries{{"SET_EMPTY", ""}});
  CHECK(parse("export EXPORTED  \n", {{"EXPORTED", "e"}}) == Entries{{"EXPORTED", "e"}});
  // Only the environment counts, not earlier lines of the file.
  CHECK(parse("A=1\nA") == Entries{{"A", "1"}});
  DotenvError err;
  auto r = parse_dotenv("ALONE\nB=2", nullptr, &err);
  REQUIRE(r);
  CHECK(*r == Entries{{"B", "2"}});
}

TEST_CASE("env_file format: syntax errors name the line", "[compose][env_file]") {
  CHECK(error_of("lol$wut") == "1: unexpected character \"$\" in variable name \"lol$wut\"");
  CHECK(error_of("A=1\n\n# c\nMY KEY=2\n") == "4: variable name \"MY KEY\" cannot contain spaces");
  CHECK(error_of("A=1\nB=\"abc\nC=2\n") == "2: unterminated quoted value \"abc");
  CHECK(error_of("A='value\\'") == "1: unterminated quoted value 'value\\'");
  CHECK(error_of("A=\"value'") == "1: unterminated quoted value \"value'");
  CHECK(error_of("A=\"") == "1: unterminated quoted value \"");
  CHECK(error_of("A=1\n=value") == "2: missing variable name in \"=value\"");
  CHECK(error_of("A=\"x\" y") == "1: unexpected character \"y\" after quoted value");
  CHECK(error_of("A=1\nB # comment") == "2: unexpected character \"#\" in variable name \"B # comment\"");
  // Substitution errors point at the statement's first line.
  CHECK(error_of("A=1\nB=\"multi\nline ${REQ:?needed}\"") == "2: required variable REQ is missing a value: needed");
  CHECK(error_of("\n\nA=${BROKEN") ==
        "3: invalid interpolation format for \"${BROKEN\": you may need to escape any $ with another $");
}

TEST_CASE("env_file format: raw format keeps values byte for byte", "[compose][env_file]") {
  CHECK(parse_raw("A=$B \"quoted\" # not a comment  \n") == Entries{{"A", "$B \"quoted\" # not a comment  "}});
  CHECK(parse_raw("  B='x'\n\n# comment\n  # indented comment\nC=\nD=a=b\r\n") ==
        Entries{{"B", "'x'"}, {"C", ""}, {"D", "a=b"}});
  CHECK(parse_raw("\xEF\xBB\xBFK=v") == Entries{{"K", "v"}});
  CHECK(parse_raw("K=1\nK=2") == Entries{{"K", "2"}});
  // A name alone would come from the environment, which raw files are not given.
  CHECK(parse_raw("ALONE\nK=v") == Entries{{"K", "v"}});
  CHECK(parse_raw("K=\\n${X}") == Entries{{"K", "\\n${X}"}});
}

TEST_CASE("env_file format: raw format errors", "[compose][env_file]") {
  CHECK(raw_error_of("A=1\nBAD KEY=2") == "2: variable name \"BAD KEY\" cannot contain spaces");
  CHECK(raw_error_of("A=1\nKEY =2") == "2: variable name \"KEY \" cannot contain spaces");
  CHECK(raw_error_of("\n\n=x") == "3: missing variable name in \"=x\"");
}

}  // namespace
}  // namespace stack::compose
