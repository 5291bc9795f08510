#include "cli/command_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace talon::cli {
namespace {

std::set<std::string> topLevelCommands(CLI::App& app) {
  std::set<std::string> names;
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) names.insert(sub->get_name());
  return names;
}

std::set<std::string> declaredCommands(std::string_view commands) {
  std::set<std::string> names;
  std::size_t start = 0;
  while (start < commands.size()) {
    std::size_t space = std::min(commands.find(' ', start), commands.size());
    names.emplace(commands.substr(start, space - start));
    start = space + 1;
  }
  return names;
}

TEST(CommandGroupsTest, EachGroupDeclaresExactlyTheTopLevelCommandsItAdds) {
  ASSERT_FALSE(commandGroups().empty());
  for (const auto& group : commandGroups()) {
    CLI::App app;
    int exitCode = 0;
    group.add(app, exitCode);
    EXPECT_EQ(topLevelCommands(app), declaredCommands(group.commands)) << "group \"" << group.commands << "\"";
  }
}

TEST(CommandGroupsTest, ACommandBuildsOnlyTheGroupsThatAddIt) {
  CLI::App gateway;
  int exitCode = 0;
  EXPECT_EQ(addCommandGroups(gateway, exitCode, "gateway"), 1u);
  EXPECT_EQ(topLevelCommands(gateway), std::set<std::string>{"gateway"});

  // `channels` is shared: the channels group adds list|status|probe, the message group adds deliveries.
  CLI::App channels;
  EXPECT_EQ(addCommandGroups(channels, exitCode, "channels"), 2u);
  ASSERT_EQ(topLevelCommands(channels), (std::set<std::string>{"channels", "message"}));
  auto* group = channels.get_subcommand("channels");
  EXPECT_NO_THROW(group->get_subcommand("list"));
  EXPECT_NO_THROW(group->get_subcommand("deliveries"));

  CLI::App version;
  EXPECT_EQ(addCommandGroups(version, exitCode, "version"), 0u);
  EXPECT_EQ(addCommandGroups(version, exitCode, "--version"), 0u);
}

TEST(CommandGroupsTest, HelpAndUnknownCommandsBuildTheWholeTree) {
  std::set<std::string> all;
  for (const auto& group : commandGroups()) all.merge(declaredCommands(group.commands));
  for (std::string_view first : {"", "--help", "-h", "gatewya"}) {
    CLI::App app;
    int exitCode = 0;
    EXPECT_EQ(addCommandGroups(app, exitCode, first), commandGroups().size()) << first;
    EXPECT_EQ(topLevelCommands(app), all) << first;
  }
}

}  // namespace
}  // namespace talon::cli
