// The manual pages, doc/vswitchd.8 and doc/vswitchctl.8, kept honest: groff finds nothing to
// warn about in them, and what the programs themselves say they take (vswitchd --help, the
// port types vswitchd knows, the commands of `vswitchctl help`, vswitchctl --help's options)
// each appears in its page as a word of its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "../support/process.hpp"

namespace vswitch::test {
namespace {

const std::string kGroff = "/usr/bin/groff";

std::string page(const std::string& name) {
  return std::string(VSWITCH_SOURCE_DIR) + "/doc/" + name;
}

// The page as plain text, unhyphenated and on long lines, so that a phrase is found whole.
std::string rendered(const std::string& name) {
  const RunResult r =
      run_program({kGroff, "-man", "-Tascii", "-P-cbou", "-rHY=0", "-rLL=300n", page(name)});
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

// Runs of white space as one space.
std::string collapsed(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

// `phrase` in `text` with no letter, digit or hyphen right before or after it, so that
// --control is not found inside --control-mode.
bool has_word(const std::string& text, const std::string& phrase) {
  auto part_of_word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  };
  for (size_t at = text.find(phrase); at != std::string::npos; at = text.find(phrase, at + 1)) {
    const bool before = at > 0 && part_of_word(text[at - 1]);
    const size_t end = at + phrase.size();
    const bool after = end < text.size() && part_of_word(text[end]);
    if (!before && !after) return true;
  }
  return false;
}

std::set<std::string> matches(const std::string& text, const std::regex& re, int group) {
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
    out.insert((*it)[group].str());
  return out;
}

TEST(ManPages, GroffFindsNothingToWarnAbout) {
  ASSERT_EQ(access(kGroff.c_str(), X_OK), 0) << "groff is in scripts/deps.sh test (groff-base)";
  for (const char* name : {"vswitchd.8", "vswitchctl.8"}) {
    const RunResult r = run_program({kGroff, "-man", "-Tutf8", "-ww", "-z", page(name)});
    EXPECT_EQ(r.status, 0) << name;
    EXPECT_EQ(r.err, "") << name;
  }
}

TEST(ManPages, EveryOptionOfVswitchdIsInItsPage) {
  const RunResult help = run_program({vswitchd_path(), "--help"});
  ASSERT_EQ(help.status, 0);
  // Option lines: "  -s [ --sock ] DIR" or "  --config FILE".
  const std::set<std::string> longs =
      matches(help.out, std::regex(R"((?:^|\n)  (?:-\w \[ )?(--[a-z][a-z-]*))"), 1);
  const std::set<std::string> shorts = matches(help.out, std::regex(R"(\n  (-\w) \[ --)"), 1);
  ASSERT_GE(longs.size(), 25u) << help.out;
  ASSERT_GE(shorts.size(), 8u) << help.out;
  ASSERT_TRUE(longs.count("--user")) << help.out;
  const std::string text = collapsed(rendered("vswitchd.8"));
  for (const std::string& option : longs)
    EXPECT_TRUE(has_word(text, option)) << option << " is not in vswitchd.8";
  for (const std::string& option : shorts)
    EXPECT_TRUE(has_word(text, option)) << option << " is not in vswitchd.8";
}

TEST(ManPages, EveryPortTypeHasItsEntryInVswitchdsPage) {
  const RunResult r = run_program({vswitchd_path(), "--port", "no-such-type"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(\(known: ([^)]*)\))"))) << r.err;
  std::set<std::string> types;
  std::istringstream list(m[1].str());
  for (std::string t; std::getline(list, t, ',');)
    types.insert(t.substr(t.find_first_not_of(' ')));
  ASSERT_GE(types.size(), 10u) << m[1];
  // An entry of the section "Port types" is a .TP tag: the type first on its line, alone or
  // followed by the start of what it takes when it fits in the indent.
  std::set<std::string> tags;
  bool in_section = false;
  for (const std::string& line : lines_of(rendered("vswitchd.8"))) {
    const size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    if (first < 7) in_section = line.substr(first) == "Port types";  // a heading
    if (in_section) tags.insert(line.substr(first, line.find(' ', first) - first));
  }
  for (const std::string& type : types)
    EXPECT_TRUE(tags.count(type)) << "port type " << type << " has no entry in vswitchd.8";
}

// `vswitchctl help`'s commands: each line indented by two spaces starts with one or more, as
// "port list [SEGMENT] | port show NAME" or "nat hostfwd add|del PORT RULE", the words before
// the first argument; its description follows after a run of spaces.
std::set<std::string> commands_of(const std::string& help) {
  std::set<std::string> out;
  const std::regex word(R"([a-z][a-z|-]*|--[a-z][a-z-]*)");
  for (const std::string& line : lines_of(help)) {
    if (line.size() < 3 || line.rfind("  ", 0) != 0 || !std::islower(line[2])) continue;
    std::string syntax = line.substr(2, line.find("  ", 2) - 2);
    for (size_t from = 0; from <= syntax.size();) {
      size_t bar = syntax.find(" | ", from);
      if (bar == std::string::npos) bar = syntax.size();
      std::vector<std::string> phrases = {""};
      std::istringstream words(syntax.substr(from, bar - from));
      for (std::string w; words >> w && std::regex_match(w, word);) {
        std::vector<std::string> next;
        std::istringstream alternatives(w);  // add|del: one command each
        for (std::string alt; std::getline(alternatives, alt, '|');) {
          for (const std::string& p : phrases)
            next.push_back(p.empty() ? alt : p + " " + alt);
        }
        phrases = next;
      }
      for (const std::string& p : phrases) {
        if (!p.empty()) out.insert(p);
      }
      from = bar + 3;
    }
  }
  return out;
}

TEST(ManPages, EveryCommandAndOptionOfVswitchctlIsInItsPage) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("sw")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  const RunResult help = run_program({vswitchctl_path(), "--socket", vs.socket(), "help"});
  ASSERT_EQ(help.status, 0) << help.err;
  const std::set<std::string> commands = commands_of(help.out);
  ASSERT_GE(commands.size(), 30u) << help.out;
  ASSERT_TRUE(commands.count("nat hostfwd del") && commands.count("trace --synthetic") &&
              commands.count("version"))
      << ::testing::PrintToString(commands);
  const RunResult usage = run_program({vswitchctl_path(), "--help"});
  ASSERT_EQ(usage.status, 0);
  const std::set<std::string> options =
      matches(usage.out, std::regex(R"((?:^|[\s\[|])(--?[a-z][a-z-]*))"), 1);
  ASSERT_TRUE(options.count("--socket") && options.count("-w")) << usage.out;

  const std::string text = collapsed(rendered("vswitchctl.8"));
  for (const std::string& command : commands)
    EXPECT_TRUE(has_word(text, command)) << "command '" << command << "' is not in vswitchctl.8";
  for (const std::string& option : options)
    EXPECT_TRUE(has_word(text, option)) << option << " is not in vswitchctl.8";
}

}  // namespace
}  // namespace vswitch::test
