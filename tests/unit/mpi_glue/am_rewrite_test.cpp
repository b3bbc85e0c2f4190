// rewrite_am: `-am ft-enable-cr` becomes -x/--mca options in place; everything else is left alone.
#include "launch/am_rewrite.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace crcore::mpi {
namespace {

using ::testing::ElementsAre;
using Args = std::vector<std::string>;

struct Fixture {
  std::map<std::string, McaParams> files;
  std::map<std::string, std::string> env;
  std::vector<std::string> loaded;
  AmRewriteContext ctx() {
    AmRewriteContext c;
    c.default_param_file = "/prefix/share/crcore/amca-param-sets/ft-enable-cr";
    c.load = [this](const std::string& path) {
      loaded.push_back(path);
      auto it = files.find(path);
      if (it == files.end()) {
        throw std::runtime_error("cannot read the parameter file " + path);
      }
      return it->second;
    };
    c.env = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    return c;
  }
};

Fixture standard() {
  Fixture f;
  f.files["/prefix/share/crcore/amca-param-sets/ft-enable-cr"] = {
      {"mca_base_env_list",
       "LD_PRELOAD=/prefix/lib/libcrmpi.so;GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536;"
       "CRCORE_MPI=1"}};
  return f;
}

TEST(AmRewrite, PassesOtherInvocationsThroughUnchanged) {
  Fixture f = standard();
  Args args{"--oversubscribe", "-np", "2", "-am", "example.conf", "./app", "-am", "ft-enable-cr"};
  AmRewrite r = rewrite_am(args, f.ctx());
  EXPECT_FALSE(r.ft_enabled);
  EXPECT_EQ(r.args, args);
  EXPECT_TRUE(f.loaded.empty());
}

TEST(AmRewrite, ReplacesTheSetByTheEnvironmentOfTheRanks) {
  Fixture f = standard();
  AmRewrite r = rewrite_am({"-am", "ft-enable-cr", "-np", "4", "./app", "x"}, f.ctx());
  EXPECT_TRUE(r.ft_enabled);
  EXPECT_EQ(r.param_file, "/prefix/share/crcore/amca-param-sets/ft-enable-cr");
  EXPECT_THAT(r.args, ElementsAre("-x", "LD_PRELOAD=/prefix/lib/libcrmpi.so", "-x",
                                  "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536", "-x", "CRCORE_MPI=1", "-np",
                                  "4", "./app", "x"));
  EXPECT_THAT(r.preloads, ElementsAre("/prefix/lib/libcrmpi.so"));
}

TEST(AmRewrite, MergesWithTheLaunchEnvironment) {
  Fixture f = standard();
  f.env["LD_PRELOAD"] = "/usr/lib/libother.so";
  f.env["GLIBC_TUNABLES"] = "glibc.malloc.check=0";
  AmRewrite r = rewrite_am({"--am", "ft-enable-cr", "./app"}, f.ctx());
  EXPECT_THAT(r.args, ElementsAre("-x", "LD_PRELOAD=/prefix/lib/libcrmpi.so:/usr/lib/libother.so", "-x",
                                  "GLIBC_TUNABLES=glibc.malloc.check=0:glibc.rtld.optional_static_tls=65536", "-x",
                                  "CRCORE_MPI=1", "./app"));
}

TEST(AmRewrite, DoesNotRepeatWhatTheEnvironmentAlreadyHas) {
  Fixture f = standard();
  f.env["LD_PRELOAD"] = "/prefix/lib/libcrmpi.so";
  AmRewrite r = rewrite_am({"-am", "ft-enable-cr", "./app"}, f.ctx());
  EXPECT_EQ(r.args[1], "LD_PRELOAD=/prefix/lib/libcrmpi.so");
}

TEST(AmRewrite, KeepsTheOtherSetsOfAList) {
  Fixture f = standard();
  AmRewrite r = rewrite_am({"-am", "a.conf:ft-enable-cr:b.conf", "./app"}, f.ctx());
  ASSERT_GE(r.args.size(), 2u);
  EXPECT_EQ(r.args[0], "-am");
  EXPECT_EQ(r.args[1], "a.conf:b.conf");
  EXPECT_EQ(r.args.back(), "./app");
  EXPECT_TRUE(r.ft_enabled);
}

TEST(AmRewrite, TakesTheSetByPath) {
  Fixture f;
  f.files["/etc/sets/ft-enable-cr"] = {{"mca_base_env_list", "CRCORE_MPI=1;FORWARDED"}, {"btl", "self,vader"}};
  AmRewrite r = rewrite_am({"-am", "/etc/sets/ft-enable-cr", "./app"}, f.ctx());
  EXPECT_EQ(r.param_file, "/etc/sets/ft-enable-cr");
  EXPECT_THAT(r.args, ElementsAre("-x", "CRCORE_MPI=1", "-x", "FORWARDED", "--mca", "btl", "self,vader", "./app"));
}

TEST(AmRewrite, SkipsTheValuesOfMpirunOptions) {
  Fixture f = standard();
  // "-am" here is the value of -x and of --mca, never the option.
  Args args{"-x", "-am", "--mca", "-am", "ft-enable-cr", "./app"};
  AmRewrite r = rewrite_am(args, f.ctx());
  EXPECT_FALSE(r.ft_enabled);
  EXPECT_EQ(r.args, args);
}

TEST(AmRewrite, LooksAtEachContextOfAnMpmdLine) {
  Fixture f = standard();
  AmRewrite r = rewrite_am({"-np", "1", "./a", "-am", "x", ":", "-am", "ft-enable-cr", "-np", "1", "./b"}, f.ctx());
  EXPECT_TRUE(r.ft_enabled);
  EXPECT_THAT(r.args, ElementsAre("-np", "1", "./a", "-am", "x", ":", "-x", "LD_PRELOAD=/prefix/lib/libcrmpi.so", "-x",
                                  "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536", "-x", "CRCORE_MPI=1", "-np",
                                  "1", "./b"));
}

TEST(AmRewrite, RefusesAnAmWithoutValueAndAnUnreadableFile) {
  Fixture f = standard();
  EXPECT_THROW(rewrite_am({"-am"}, f.ctx()), std::runtime_error);
  Fixture empty;
  EXPECT_THROW(rewrite_am({"-am", "ft-enable-cr", "./app"}, empty.ctx()), std::runtime_error);
}

TEST(AmRewrite, RecognisesTheSetName) {
  EXPECT_TRUE(is_ft_set("ft-enable-cr"));
  EXPECT_TRUE(is_ft_set("/a/b/ft-enable-cr"));
  EXPECT_TRUE(is_ft_set("ft-enable-cr.conf"));
  EXPECT_FALSE(is_ft_set("ft-enable-cr-other"));
  EXPECT_FALSE(is_ft_set("example.conf"));
}

TEST(ParamFile, ParsesNameValueLinesAndRefusesOthers) {
  McaParams p = parse_param_file("# comment\n\n  a = 1 \nb=x=y\n", "f");
  EXPECT_THAT(
      p, ElementsAre(std::pair<std::string, std::string>("a", "1"), std::pair<std::string, std::string>("b", "x=y")));
  EXPECT_THROW(parse_param_file("just words\n", "f"), std::runtime_error);
  EXPECT_THROW(parse_param_file("= value\n", "f"), std::runtime_error);
}

}  // namespace
}  // namespace crcore::mpi
